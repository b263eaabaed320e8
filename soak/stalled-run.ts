/**
 * Acceptance run (issue 4): an endpoint that accepts connections and never answers, RATE records/s for SECONDS
 * seconds, no spool. Records are handed to `exporter.export()` directly every 100 ms without waiting for the
 * callbacks (worse than a batch processor, which waits and drops beyond its own queue), so the exporter's own
 * bounds are what keeps memory flat. Prints one JSON line: RSS growth, counters, and whether drops were reported.
 *
 *   node --expose-gc --import tsx soak/stalled-run.ts [ratePerSecond=2000] [seconds=60] [maxBufferedRecords] [exportDeadlineMillis]
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { startEmulator } from '../src/emulator/index.js';
import { GravityLogRecordExporter } from '../src/index.js';
import { createTrackRecord } from '../test/helpers/record-builders.js';

export async function stalledRun(
  ratePerSecond: number,
  seconds: number,
  maxBufferedRecords?: number,
  exportDeadlineMillis?: number,
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
  const emulator = await startEmulator();
  emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'hang' }] });
  const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 'soak', ...(maxBufferedRecords ? { maxBufferedRecords } : {}),
    ...(exportDeadlineMillis ? { exportDeadlineMillis } : {}),
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  let callbacks = 0;
  const perTick = Math.round(ratePerSecond / 10);
  const startMillis = Date.now();
  let tick = 0;
  while (Date.now() - startMillis < seconds * 1000) {
    const records = Array.from({ length: perTick }, (_, i) => createTrackRecord(`client-${(tick * perTick + i) % 1000}`, { seq: tick * perTick + i, text: 'x'.repeat(100) }));
    exporter.export(records, () => callbacks++);
    tick++;
    // Sampled after a collection once a second: what stays, not garbage V8 has not collected yet.
    if (tick % 10 === 0) {
      gc?.();
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startMillis + tick * 100 - Date.now())));
  }
  const stats = exporter.getStats();
  await exporter.shutdown();
  gc?.();
  const rssEnd = process.memoryUsage().rss;
  await emulator.close();
  const growthMb = (rssPeak - rssStart) / 1024 / 1024;
  return {
    emitted: tick * perTick,
    callbacks,
    rssStartMb: Math.round(rssStart / 1024 / 1024),
    rssPeakMb: Math.round(rssPeak / 1024 / 1024),
    rssEndMb: Math.round(rssEnd / 1024 / 1024),
    rssPeakGrowthMb: Math.round(growthMb),
    statsBeforeShutdown: stats,
    statsAfterShutdown: exporter.getStats(),
    warnings,
    dropWarnings,
    ok: growthMb < 100 && stats.failed + stats.dropped > 0,
  };
}

if (process.argv[1]?.endsWith('stalled-run.ts')) {
  const [rate = '2000', seconds = '60', cap = '0', deadline = '0'] = process.argv.slice(2);
  void stalledRun(Number(rate), Number(seconds), Number(cap), Number(deadline)).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result['ok'] === true ? 0 : 1;
  });
}
