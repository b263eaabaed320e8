/**
 * Child process for the spool crash test through the real OTel pipeline: LoggerProvider + the Gravity processor
 * helper + an exporter with spoolDir argv[3], emitting argv[4] records over argv[5] clients to argv[2] (down).
 * Prints `flushed <spooled>` once forceFlush resolved, then idles until it is SIGKILLed.
 */
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../../src/index.js';

const [url, spoolDir, countText, clientsText] = process.argv.slice(2);
const count = Number(countText);
const clients = Number(clientsText);
const exporter = new GravityLogRecordExporter({ url, accessToken: 'child-token', spoolDir });
const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter)] });
const logger = provider.getLogger('spool-child');
for (let i = 0; i < count; i++) {
  logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': `c${i % clients}`, seq: i } });
}
await provider.forceFlush();
process.stdout.write(`flushed ${exporter.getStats().spooled}\n`);
setInterval(() => undefined, 60_000); // stay alive: the parent kills us
