/**
 * A service in its own process for the console's browser tests: the real OTel LoggerProvider and batch
 * processor with GravityLogRecordExporter (GE_SERVER_URL / GE_ACCESS_TOKEN from env, a short retry schedule).
 * Reads one JSON command per stdin line, `{"id":1,"emit":[{eventName?, attributes, body?}]}`, emits the records,
 * flushes, and answers `{"id":1,"stats":{...}}` on stdout. Prints `{"ready":true}` first; exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import type { LogAttributes, LogBody } from './otel-line.js';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { GravityLogRecordExporter } from '../../src/index.js';

interface Command {
  id: number;
  emit: Array<{ eventName?: string; attributes: LogAttributes; body?: LogBody }>;
}

const exporter = new GravityLogRecordExporter({
  retry: { initialBackoffMillis: 150, maxBackoffMillis: 300 },
  clientInitWaitMillis: 30_000,
});
const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 50 })] });
const logger = provider.getLogger('console-test-service');

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => {
    const command = JSON.parse(line) as Command;
    for (const record of command.emit) logger.emit(record);
    await provider.forceFlush();
    process.stdout.write(`${JSON.stringify({ id: command.id, stats: exporter.getStats() })}\n`);
  });
});
lines.on('close', () => {
  void queue.then(() => provider.shutdown());
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
