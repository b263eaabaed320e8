/**
 * Acceptance run: shutdown within its budget behind an endpoint that never answers. Records are emitted at
 * RATE records/s for SECONDS seconds through LoggerProvider + createGravityLogRecordProcessor (its defaults,
 * the exporter's default shutdownTimeoutMillis unless given), optionally with a spool; then
 * `provider.shutdown()` is timed. The endpoint is soak/hang-server.ts in its own process. Checks: shutdown
 * resolves within the budget, and every record emitted is accounted for: sent, spooled, failed, dropped by the
 * exporter or by the processor (getStats()).
 *
 *   node --import tsx soak/shutdown-run.ts [ratePerSecond=2000] [seconds=60] [spool|nospool] [shutdownTimeoutMillis]
 * Prints one JSON line; exit code 0 when every check passed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { DEFAULTS } from '../src/config/resolve-config.js';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../src/index.js';
import { startHangServer } from './stalled-run.js';

const CLIENTS = 1_000;

export async function shutdownRun(ratePerSecond: number, seconds: number, withSpool: boolean, shutdownTimeoutMillis?: number): Promise<Record<string, unknown>> {
  const server = await startHangServer();
  const spoolDir = withSpool ? mkdtempSync(join(tmpdir(), 'ge-shutdown-run-')) : undefined;
  try {
    const exporter = new GravityLogRecordExporter({
      url: server.url,
      accessToken: 'soak',
      ...(spoolDir === undefined ? {} : { spoolDir }),
      ...(shutdownTimeoutMillis === undefined ? {} : { shutdownTimeoutMillis }),
    });
    const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter)] });
    const logger = provider.getLogger('soak');
    const perTick = Math.round(ratePerSecond / 10);
    const startMillis = Date.now();
    let emitted = 0;
    for (let tick = 0; Date.now() - startMillis < seconds * 1000; tick++) {
      for (let i = 0; i < perTick; i++, emitted++) {
        logger.emit({ eventName: 'purchase', attributes: { 'ge.client_id': `client-${emitted % CLIENTS}`, seq: emitted, text: 'x'.repeat(100) } });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startMillis + (tick + 1) * 100 - Date.now())));
    }
    const before = exporter.getStats();
    const shutdownStarted = Date.now();
    await provider.shutdown();
    const shutdownMillis = Date.now() - shutdownStarted;
    const stats = exporter.getStats();
    const budgetMillis = shutdownTimeoutMillis ?? DEFAULTS.shutdownTimeoutMillis;
    const accountedFor = stats.sent + stats.spooled + stats.failed + stats.dropped + stats.droppedByProcessor + stats.rejected + stats.ignored;
    return {
      driver: withSpool ? 'processor+spool' : 'processor',
      ratePerSecond,
      seconds,
      emitted,
      budgetMillis,
      shutdownMillis,
      statsBeforeShutdown: before,
      stats,
      accountedFor,
      ok: shutdownMillis <= budgetMillis && accountedFor === emitted && stats.buffered === 0,
    };
  } finally {
    await server.stop();
    if (spoolDir !== undefined) rmSync(spoolDir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('shutdown-run.ts')) {
  const [rate = '2000', seconds = '60', spool = 'nospool', budget] = process.argv.slice(2);
  void shutdownRun(Number(rate), Number(seconds), spool === 'spool', budget === undefined ? undefined : Number(budget)).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result['ok'] === true ? 0 : 1;
  });
}
