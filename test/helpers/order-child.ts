/**
 * Child process for the order-through-an-outage tests (and `npm run soak`): emits records `from`..`to - 1` of
 * the user-operation workload (test/helpers/user-op-workload.ts) at `ratePerSecond` through a LoggerProvider,
 * the processor helper and an exporter with `spoolDir`. Prints `emitted <n>` as it goes and `flushed <to>` once
 * forceFlush resolved (everything delivered or spooled); then, on `shutdown` on stdin, shuts the provider down
 * and prints `stats <json>`; else it idles until killed.
 *
 *   node --import tsx test/helpers/order-child.ts <url> <spoolDir> <from> <to> <clients> <ratePerSecond> <t0>
 */
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../../src/index.js';
import { workloadRecord } from './user-op-workload.js';

const [url, spoolDir, fromText, toText, clientsText, rateText, t0Text] = process.argv.slice(2);
const from = Number(fromText);
const to = Number(toText);
const clients = Number(clientsText);
const ratePerSecond = Number(rateText);
const t0 = Number(t0Text);
const exporter = new GravityLogRecordExporter({ url, accessToken: 'order-child', spoolDir, retry: { initialBackoffMillis: 100, maxBackoffMillis: 1_000 } });
const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, { scheduledDelayMillis: 100 })] });
const logger = provider.getLogger('order-child');

const TICK_MILLIS = 50;
const perTick = Math.max(1, Math.round((ratePerSecond * TICK_MILLIS) / 1000));
const started = Date.now();
for (let i = from, tick = 0; i < to; tick++) {
  for (const end = Math.min(to, i + perTick); i < end; i++) logger.emit(workloadRecord(i, clients, t0));
  process.stdout.write(`emitted ${i}\n`);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (tick + 1) * TICK_MILLIS - Date.now())));
}
await provider.forceFlush();
process.stdout.write(`flushed ${to}\n`);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text: string) => {
  if (!text.includes('shutdown')) return;
  void provider.shutdown().then(() => {
    process.stdout.write(`stats ${JSON.stringify(exporter.getStats())}\n`);
    process.exit(0);
  });
});
setInterval(() => undefined, 60_000);
