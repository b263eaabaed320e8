/**
 * Delivery acceptance run: N records across C clients through LoggerProvider + BatchLogRecordProcessor while the
 * emulator fails ~30% of requests at random (5xx and resets) and is down for a while mid-run. Checks: every
 * record delivered, duplicates only from 'reset after' requests, no unhandled rejection, and the process exits
 * soon after shutdown() resolves (measured by soak/run.ts from outside).
 *
 *   node --import tsx soak/faulty-run.ts [records=20000] [clients=1000] [downMillis=10000]
 * Prints one JSON line of results; exit code 0 when every check passed.
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { startEmulator } from '../src/emulator/index.js';
import { GravityLogRecordExporter } from '../src/index.js';

let unhandled = 0;
process.on('unhandledRejection', () => unhandled++);

export interface FaultyRunResult {
  readonly records: number;
  readonly delivered: number;
  readonly uniqueDelivered: number;
  readonly duplicates: number;
  readonly duplicatesNotFromResetAfter: number;
  readonly requests: number;
  readonly faultedRequests: number;
  readonly unhandledRejections: number;
  readonly elapsedMillis: number;
  readonly shutdownResolvedAtMillis: number;
  readonly stats: unknown;
  readonly ok: boolean;
}

export async function faultyRun(records: number, clients: number, downMillis: number): Promise<FaultyRunResult> {
  const emulator = await startEmulator();
  emulator.setRandomFaults({
    rate: 0.3,
    seed: 42,
    faults: [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503 },
      { kind: 'reset', when: 'before' },
      { kind: 'reset', when: 'after' },
    ],
  });
  const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 'soak', retry: { initialBackoffMillis: 100, maxBackoffMillis: 2_000 } });
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter, maxQueueSize: records + 1, maxExportBatchSize: 512, scheduledDelayMillis: 200 })],
  });
  const logger = provider.getLogger('soak');
  const startMillis = Date.now();
  const perTick = Math.ceil(records / 20); // emitted over ~2 s, with the outage in the middle
  let emitted = 0;
  let downDone: Promise<void> | undefined;
  while (emitted < records) {
    for (let i = 0; i < perTick && emitted < records; i++, emitted++) {
      logger.emit({ eventName: 'soak', attributes: { 'ge.client_id': `client-${emitted % clients}`, seq: emitted } });
    }
    if (downDone === undefined && emitted >= records / 2) {
      downDone = (async () => {
        await emulator.setDown(true);
        await new Promise((resolve) => setTimeout(resolve, downMillis));
        await emulator.setDown(false);
      })();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await downDone;
  // Not provider.forceFlush(): LoggerProvider bounds it to 30 s, less than the processor needs to export a
  // queue this long one batch at a time. Wait for the emulator instead (bounded), then shut down.
  const deadline = Date.now() + 300_000;
  while (new Set(emulator.events().map((e) => e.properties['seq'])).size < records && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await provider.shutdown();
  const shutdownResolvedAtMillis = Date.now();
  const events = emulator.events();
  const resetAfter = new Set(emulator.requests.filter((r) => r.fault?.kind === 'reset' && r.fault.when === 'after').map((r) => r.seq));
  const copies = new Map<number, number>();
  for (const event of events) {
    if (resetAfter.has(event.requestSeq)) continue;
    const seq = Number(event.properties['seq']);
    copies.set(seq, (copies.get(seq) ?? 0) + 1);
  }
  const unique = new Set(events.map((e) => Number(e.properties['seq']))).size;
  const duplicatesNotFromResetAfter = [...copies.values()].filter((n) => n > 1).reduce((a, n) => a + n - 1, 0);
  const result: FaultyRunResult = {
    records,
    delivered: events.length,
    uniqueDelivered: unique,
    duplicates: events.length - unique,
    duplicatesNotFromResetAfter,
    requests: emulator.requests.length,
    faultedRequests: emulator.requests.filter((r) => r.fault !== undefined).length,
    unhandledRejections: unhandled,
    elapsedMillis: shutdownResolvedAtMillis - startMillis,
    shutdownResolvedAtMillis,
    stats: exporter.getStats(),
    ok: unique === records && duplicatesNotFromResetAfter === 0 && unhandled === 0,
  };
  await emulator.close();
  return result;
}

if (process.argv[1]?.endsWith('faulty-run.ts')) {
  const [records = '20000', clients = '1000', downMillis = '10000'] = process.argv.slice(2);
  void faultyRun(Number(records), Number(clients), Number(downMillis)).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.ok ? 0 : 1;
  });
}
