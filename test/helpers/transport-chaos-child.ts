/**
 * Child process of the transport chaos test: the emitting application. Runs seeded rounds through the real
 * OTel pipeline (LoggerProvider + the Gravity processor helper + GravityLogRecordExporter) against the chaos
 * server whose URL it is given, and prints one `round {...}` line per round with the exporter's counters,
 * then `done {...}` with the resources still keeping the process alive after every shutdown.
 *
 * It must survive everything the server does: any uncaught exception, unhandled rejection (run it with
 * --unhandled-rejections=strict) or unhandled 'error' event prints `FAIL ...` and exits 70. After `done` it
 * must exit on its own: nothing of the exporter may keep it alive.
 *
 * argv[2]: a JSON ChaosChildConfig.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../../src/index.js';
import type { GravityExporterStats } from '../../src/index.js';
import { hash32, seededRandom } from './chaos-server.js';

function fail(kind: string, error: unknown): never {
  process.stderr.write(`FAIL ${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
}
process.on('uncaughtException', (error, origin) => fail(origin, error));
process.on('unhandledRejection', (reason) => fail('unhandledRejection', reason));

export interface ChaosChildConfig {
  readonly url: string;
  readonly seed: number;
  readonly timeoutMillis: number;
  readonly exportDeadlineMillis: number;
  readonly rounds: number;
  /** Emit and export each round's records at once, not in two parts (a long timeout would hold the second). */
  readonly oneBurst?: boolean;
  /** Number of the first round (to replay one round of a failed run). @default 0 */
  readonly firstRound?: number;
  /** Rounds run at once (each with its own provider and exporter). */
  readonly parallel: number;
  readonly recordsPerRound: number;
  readonly clients: number;
  /** Every n-th round writes undeliverable records to a spool, replayed under chaos, then drained calmly. */
  readonly spoolEvery?: number;
  /** Every n-th round (not a spool round) waits for client initialisation: shutdown then aborts requests. */
  readonly parkEvery?: number;
  /**
   * The rounds of a wave start this many milliseconds apart, so that their requests start at different phases
   * of the timers (undici's own timeouts tick every half second). @default 0
   */
  readonly staggerMillis?: number;
}

/** What a round reports to the parent. */
export interface ChaosRoundReport {
  readonly round: number;
  readonly kind: 'plain' | 'spool' | 'park';
  readonly emitted: number;
  /** Records emitted invalid on purpose (an unknown `ge.user_op`): they must be counted as rejected. */
  readonly invalid: number;
  readonly stats: GravityExporterStats;
  /** Spool rounds: records a calm second exporter replayed from what the first left in the spool. */
  readonly drainedFromSpool?: number;
  readonly millis: number;
}

const config = JSON.parse(process.argv[2] ?? '') as ChaosChildConfig;
const TOKEN = 'chaos-token';

const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis));

function withQuery(url: string, query: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

async function runRound(round: number, spoolRoot: string): Promise<ChaosRoundReport> {
  await sleep((round % config.parallel) * (config.staggerMillis ?? 0));
  const started = Date.now();
  const random = seededRandom(hash32(`${config.seed}:round:${round}`));
  const choose = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)]!;
  const kind: ChaosRoundReport['kind'] =
    config.spoolEvery !== undefined && round % config.spoolEvery === config.spoolEvery - 1
      ? 'spool'
      : config.parkEvery !== undefined && round % config.parkEvery === config.parkEvery - 1
        ? 'park'
        : 'plain';
  const spoolDir = kind === 'spool' ? path.join(spoolRoot, `round-${round}`) : undefined;
  const exporter = new GravityLogRecordExporter({
    url: withQuery(config.url, `round=${round}&mix=${kind}`),
    accessToken: TOKEN,
    timeoutMillis: config.timeoutMillis,
    exportDeadlineMillis: config.exportDeadlineMillis,
    maxBatchSize: choose([1, 2, 3, 5]),
    maxConcurrentRequests: choose([2, 4, 16]),
    compression: choose(['gzip', 'none', 'auto'] as const),
    clientInitWaitMillis: kind === 'park' ? 60_000 : 0,
    retry: { initialBackoffMillis: 20, maxBackoffMillis: 200 },
    ...(spoolDir !== undefined && { spoolDir }),
  });
  const provider = new LoggerProvider({
    processors: [
      createGravityLogRecordProcessor(exporter, {
        scheduledDelayMillis: choose([10, 30, 60]),
        // The processor exports one batch at a time: a few batches per round keep a round within seconds.
        maxExportBatchSize: config.oneBurst === true ? config.recordsPerRound : choose([Math.ceil(config.recordsPerRound / 2), config.recordsPerRound]),
        exportTimeoutMillis: config.exportDeadlineMillis + 10_000,
      }),
    ],
  });
  const logger = provider.getLogger('chaos');
  let invalid = 0;
  const emit = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const attributes: Record<string, string | number> = {
        'ge.client_id': `client-${i % config.clients}`,
        'ge.event_name': 'chaos',
        chaos_id: `${config.seed}.${round}.${i}`,
        seq: i,
      };
      if (i % 11 === 10) {
        attributes['ge.user_op'] = 'not-an-operation';
        invalid++;
      }
      logger.emit({ attributes });
    }
  };
  // Two bursts, the second while the first may be in flight.
  const half = config.oneBurst === true ? config.recordsPerRound : Math.floor(config.recordsPerRound / 2);
  emit(0, half);
  await sleep(Math.floor(random() * Math.min(config.timeoutMillis, 1_000)));
  emit(half, config.recordsPerRound);
  if (random() < 0.5) await provider.forceFlush();
  await provider.shutdown();
  const stats = exporter.getStats();

  let drainedFromSpool: number | undefined;
  if (spoolDir !== undefined) {
    // A second exporter on the same directory, against a calm endpoint, replays what the first left there.
    const left = stats.spooled - stats.replayed;
    const drainer = new GravityLogRecordExporter({ url: withQuery(config.url, `round=${round}&mix=calm`), accessToken: TOKEN, spoolDir, timeoutMillis: 5_000 });
    const until = Date.now() + 10_000;
    while (drainer.getStats().replayed < left && Date.now() < until) await sleep(20);
    await drainer.shutdown();
    drainedFromSpool = drainer.getStats().replayed;
  }
  return { round, kind, emitted: config.recordsPerRound, invalid, stats, ...(drainedFromSpool !== undefined && { drainedFromSpool }), millis: Date.now() - started };
}

const spoolRoot = mkdtempSync(path.join(tmpdir(), 'gravity-chaos-'));
try {
  const first = config.firstRound ?? 0;
  let next = first;
  const worker = async (): Promise<void> => {
    for (let round = next++; round < first + config.rounds; round = next++) {
      const report = await runRound(round, spoolRoot);
      process.stdout.write(`round ${JSON.stringify(report)}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(config.parallel, config.rounds) }, worker));
} finally {
  rmSync(spoolRoot, { recursive: true, force: true });
}
// Sockets closed by the shutdowns above finish closing on the next turns of the loop.
await sleep(50);
const resources = process.getActiveResourcesInfo().filter((resource) => resource !== 'PipeWrap' && resource !== 'TTYWrap');
process.stdout.write(`done ${JSON.stringify({ resources })}\n`);
