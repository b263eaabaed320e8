/**
 * Child process of the visible-by-default tests: the README Quickstart's shape (a LoggerProvider with the
 * processor helper, settings from GE_SERVER_URL / GE_ACCESS_TOKEN and the other GE_* env vars), records
 * emitted, then `provider.shutdown()`. Arguments: `--diag` registers OTel's DiagConsoleLogger at level ALL
 * first; `--records=<JSON array of {eventName?, attributes}>` replaces the two default records; `--rounds=<n>`
 * emits them n times, with a forceFlush after each round. Prints one JSON line on stdout at the end: when
 * the first record was emitted, how long shutdown took, and the exporter's counters.
 */
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import type { AnyValueMap } from './otel-line.js';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../../src/index.js';

function argument(name: string): string | undefined {
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const DEFAULT_RECORDS = [
  { eventName: 'purchase', attributes: { 'ge.client_id': 'user-42', amount: 30 } },
  { attributes: { 'ge.client_id': 'user-42', 'ge.user_op': 'increment', coins: 30 } },
];
const records = JSON.parse(argument('records') ?? JSON.stringify(DEFAULT_RECORDS)) as Array<{ eventName?: string; attributes: AnyValueMap }>;
const rounds = Number(argument('rounds') ?? '1');

if (process.argv.includes('--diag')) diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ALL);
const exporter = new GravityLogRecordExporter();
const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter)] });
const logger = provider.getLogger('quickstart');
const emittedAtMillis = Date.now();
for (let round = 1; round <= rounds; round++) {
  for (const record of records) logger.emit(record);
  if (round < rounds) await provider.forceFlush();
}
const startedMillis = Date.now();
await provider.shutdown();
process.stdout.write(`${JSON.stringify({ emittedAtMillis, shutdownMillis: Date.now() - startedMillis, stats: exporter.getStats() })}\n`);
