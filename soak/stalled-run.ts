/**
 * Delivery acceptance run: an endpoint that accepts connections and never answers, RATE records/s for SECONDS
 * seconds, no spool. The endpoint is soak/hang-server.ts in a separate process, so only the exporter's own
 * memory is measured. Two drivers:
 * - `export` (default): records are handed to `exporter.export()` directly every 100 ms without waiting for
 *   the callbacks (worse than a batch processor, which waits and drops beyond its own queue), so the
 *   exporter's own bounds are what keeps memory flat.
 * - `processor[=maxQueueSize]`: `logger.emit()` through a `LoggerProvider` and `createGravityLogRecordProcessor`
 *   (its queue counts too).
 * Memory is sampled after a collection once a second. Prints one JSON line: growth of RSS and of the heap
 * (V8's plus external), the most records `buffered` at a sample, counters, and whether drops were reported.
 *
 *   node --expose-gc --import tsx soak/stalled-run.ts [ratePerSecond=2000] [seconds=60] [maxBufferedRecords] [exportDeadlineMillis] [export|processor[=maxQueueSize]]
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../src/index.js';
import type { GravityExporterStats } from '../src/index.js';
import { createTrackRecord } from '../test/helpers/record-builders.js';

const CLIENTS = 1_000;

/** Starts soak/hang-server.ts in its own process; resolves with its URL and a function that stops it. */
export async function startHangServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL('./hang-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

export async function stalledRun(
  ratePerSecond: number,
  seconds: number,
  maxBufferedRecords?: number,
  exportDeadlineMillis?: number,
  driver = 'export',
): Promise<Record<string, unknown>> {
  let warnings = 0;
  let dropWarnings = 0;
  diag.setLogger(
    {
      error: () => undefined,
      warn: (...args: unknown[]) => {
        warnings++;
        if (args.join(' ').includes('dropped')) dropWarnings++;
      },
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  const server = await startHangServer();
  const exporter = new GravityLogRecordExporter({
    url: server.url,
    accessToken: 'soak',
    ...(maxBufferedRecords ? { maxBufferedRecords } : {}),
    ...(exportDeadlineMillis ? { exportDeadlineMillis } : {}),
  });
  const [mode = 'export', queueSize] = driver.split('=');
  const provider =
    mode === 'processor'
      ? new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, queueSize ? { maxQueueSize: Number(queueSize) } : {})] })
      : undefined;
  const logger = provider?.getLogger('soak');
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const { rss: rssStart, heapUsed, external } = process.memoryUsage();
  let rssPeak = rssStart;
  const heapStart = heapUsed + external;
  let heapPeak = heapStart;
  let bufferedPeak = 0;
  let callbacks = 0;
  const perTick = Math.round(ratePerSecond / 10);
  const startMillis = Date.now();
  let tick = 0;
  while (Date.now() - startMillis < seconds * 1000) {
    // Sampled after a collection once a second (before that second's last export, once the previous
    // exports' work has run): what stays, not garbage V8 has not collected yet.
    if (tick % 10 === 9) {
      gc?.();
      const usage = process.memoryUsage();
      rssPeak = Math.max(rssPeak, usage.rss);
      heapPeak = Math.max(heapPeak, usage.heapUsed + usage.external);
      bufferedPeak = Math.max(bufferedPeak, exporter.getStats().buffered);
    }
    const first = tick * perTick;
    if (logger !== undefined) {
      for (let i = 0; i < perTick; i++) {
        logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': `client-${(first + i) % CLIENTS}`, seq: first + i, text: 'x'.repeat(100) } });
      }
    } else {
      const records = Array.from({ length: perTick }, (_, i) => createTrackRecord(`client-${(first + i) % CLIENTS}`, { seq: first + i, text: 'x'.repeat(100) }));
      exporter.export(records, () => callbacks++);
    }
    tick++;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startMillis + tick * 100 - Date.now())));
  }
  const stats: GravityExporterStats = exporter.getStats();
  // The exporter first: it abandons what it holds, so the processor's last exports then fail fast.
  await exporter.shutdown();
  await provider?.shutdown();
  gc?.();
  const rssEnd = process.memoryUsage().rss;
  await server.stop();
  const growthMb = (rssPeak - rssStart) / 1024 / 1024;
  const cap = maxBufferedRecords || 20_000;
  return {
    driver,
    emitted: tick * perTick,
    callbacks,
    rssStartMb: Math.round(rssStart / 1024 / 1024),
    rssPeakMb: Math.round(rssPeak / 1024 / 1024),
    rssEndMb: Math.round(rssEnd / 1024 / 1024),
    rssPeakGrowthMb: Math.round(growthMb),
    heapPeakGrowthMb: Math.round((heapPeak - heapStart) / 1024 / 1024),
    bufferedPeak,
    statsBeforeShutdown: stats,
    statsAfterShutdown: exporter.getStats(),
    warnings,
    dropWarnings,
    ok: growthMb < 100 && stats.failed + stats.dropped > 0 && bufferedPeak <= cap,
  };
}

if (process.argv[1]?.endsWith('stalled-run.ts')) {
  const [rate = '2000', seconds = '60', cap = '0', deadline = '0', driver = 'export'] = process.argv.slice(2);
  void stalledRun(Number(rate), Number(seconds), Number(cap), Number(deadline), driver).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result['ok'] === true ? 0 : 1;
  });
}
