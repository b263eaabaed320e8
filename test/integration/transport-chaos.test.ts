/**
 * Chaos around the request timeout: an exporter must never take its host process down, whatever the network
 * does, and must account for every record. A seeded chaos server on 127.0.0.1 (test/helpers/chaos-server.ts)
 * lands answers within ±150 ms of the client's `timeoutMillis`, trickles bodies across it, resets connections
 * before the headers, mid-body and after the body, half-closes sockets, and mixes in 413s, 5xx, refusals,
 * code 2000 and garbage. The emitting application is a child process (test/helpers/transport-chaos-child.ts)
 * running the real OTel pipeline with --unhandled-rejections=strict, which fails on any uncaught exception,
 * unhandled rejection or unhandled 'error' event.
 *
 * Per timeout, each round must end with: the child alive; `received = sent - replayed + failed + dropped +
 * rejected + spooled` (replays are counted in `sent` too); nothing left buffered; no more records counted sent
 * than the server stored; a spool left with exactly what a calm second exporter then replays. After the
 * last shutdown nothing may keep the child alive. CHAOS_SEED overrides the seed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BEHAVIOURS, DEFAULT_MIX, startChaosServer } from '../helpers/chaos-server.js';
import type { Behaviour, BehaviourMix, ChaosServer } from '../helpers/chaos-server.js';
import type { ChaosChildConfig, ChaosRoundReport } from '../helpers/transport-chaos-child.js';

const CHILD = fileURLToPath(new URL('../helpers/transport-chaos-child.ts', import.meta.url));
const SEED = process.env['CHAOS_SEED'] === undefined ? 0x5eed18 : Number(process.env['CHAOS_SEED']);

/** Spool rounds: only answers that leave records replayable (a refusal would be acked away as failed). */
const SPOOL_MIX: BehaviourMix = { ...DEFAULT_MIX, refused: 0, 'too-large': 0 };
/** Parking rounds: code 2000 often, so shutdown finds records waiting and aborts their last attempts. */
const PARK_MIX: BehaviourMix = { ...DEFAULT_MIX, uninitialised: 6 };
/** The default 10 s timeout: each first attempt lands at 10 s ± 150 ms, its retry is answered at once. */
const AT_THE_TIMEOUT: BehaviourMix = { late: 1, trickle: 1, 'reset-mid-body': 1, 'reset-after-body': 1, 'half-close-mid-body': 1 };

interface ChaosCase extends Omit<ChaosChildConfig, 'url' | 'seed'> {
  readonly mix?: BehaviourMix;
  readonly retryMix?: BehaviourMix;
}

/** A child still running after this long is killed (a hang); a busy machine may take a third of it. */
const CHILD_LIMIT_MILLIS = 80_000;

const CASES: readonly ChaosCase[] = [
  { timeoutMillis: 150, exportDeadlineMillis: 1_200, rounds: 16, parallel: 8, recordsPerRound: 24, clients: 4, spoolEvery: 4, parkEvery: 5 },
  { timeoutMillis: 300, exportDeadlineMillis: 1_800, rounds: 12, parallel: 6, recordsPerRound: 24, clients: 4, spoolEvery: 4, parkEvery: 3 },
  { timeoutMillis: 1_000, exportDeadlineMillis: 3_000, rounds: 6, parallel: 6, recordsPerRound: 18, clients: 3, spoolEvery: 3, parkEvery: 2 },
  // Four rounds at once, started 110 ms apart, each with three requests landing at 10 s ± 150 ms.
  { timeoutMillis: 10_000, exportDeadlineMillis: 12_500, rounds: 4, parallel: 4, recordsPerRound: 3, clients: 3, staggerMillis: 110, oneBurst: true, mix: AT_THE_TIMEOUT, retryMix: { ok: 1 } },
];

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly rounds: ChaosRoundReport[];
  readonly resources: string[] | undefined;
  /** From the `done` line to the exit. */
  readonly exitedAfterMillis: number | undefined;
}

function runChild(config: ChaosChildConfig, limitMillis: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', '--import', 'tsx', CHILD, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let doneAt: number | undefined;
    const rounds: ChaosRoundReport[] = [];
    let resources: string[] | undefined;
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      stdout += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('round ')) rounds.push(JSON.parse(line.slice(6)) as ChaosRoundReport);
        if (line.startsWith('done ')) {
          doneAt = Date.now();
          resources = (JSON.parse(line.slice(5)) as { resources: string[] }).resources;
        }
      }
    });
    child.stderr.on('data', (text: string) => (stderr += text));
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMillis);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, rounds, resources, exitedAfterMillis: doneAt === undefined ? undefined : Date.now() - doneAt });
    });
  });
}

function describeRound(report: ChaosRoundReport): string {
  const { stats } = report;
  return (
    `round ${report.round} (${report.kind}): emitted ${report.emitted}, received ${stats.received}, sent ${stats.sent} ` +
    `(replayed ${stats.replayed}), failed ${stats.failed}, dropped ${stats.dropped}, rejected ${stats.rejected}, ` +
    `spooled ${stats.spooled}, ignored ${stats.ignored}, buffered ${stats.buffered}`
  );
}

/** Behaviours seen across the cases, checked once all ran. */
const seen: Partial<Record<Behaviour, number>> = {};

describe(`transport chaos around the request timeout (seed ${SEED})`, { concurrency: true }, () => {
  for (const chaos of CASES) {
    const { mix, retryMix, ...childConfig } = chaos;
    it(`timeoutMillis ${chaos.timeoutMillis}: ${chaos.rounds} rounds of ${chaos.recordsPerRound} records; the process survives and accounts for every record`, async () => {
      let server: ChaosServer | undefined;
      try {
        server = await startChaosServer({
          seed: SEED + chaos.timeoutMillis,
          timeoutMillis: chaos.timeoutMillis,
          ...(mix !== undefined && { mix }),
          ...(retryMix !== undefined && { retryMix }),
          namedMixes: { spool: SPOOL_MIX, park: PARK_MIX },
        });
        const run = await runChild({ ...childConfig, url: server.url, seed: SEED + chaos.timeoutMillis }, CHILD_LIMIT_MILLIS);
        for (const [behaviour, count] of Object.entries(server.tally)) seen[behaviour as Behaviour] = (seen[behaviour as Behaviour] ?? 0) + count;
        const context = `seed ${SEED}, timeoutMillis ${chaos.timeoutMillis}, exit ${run.code ?? run.signal}\nstderr:\n${run.stderr.slice(-4_000)}`;

        assert.doesNotMatch(run.stderr, /^FAIL /m, `the emitting process crashed (${context})`);
        assert.equal(run.code, 0, `the emitting process exited ${run.code ?? run.signal} (${context})`);
        assert.equal(run.rounds.length, chaos.rounds, `rounds reported (${context})`);
        assert.deepEqual(run.resources, [], `still keeping the process alive after every shutdown (${context})`);
        assert.ok(run.exitedAfterMillis !== undefined && run.exitedAfterMillis < 5_000, `exited ${run.exitedAfterMillis} ms after its last shutdown`);

        const storedPerRound = new Map<number, number>();
        for (const id of server.stored) {
          const round = Number(id.split('.')[1]);
          storedPerRound.set(round, (storedPerRound.get(round) ?? 0) + 1);
        }
        for (const report of run.rounds) {
          const { stats } = report;
          const where = `${describeRound(report)} (${context})`;
          assert.equal(stats.received, report.emitted, `every emitted record reached the exporter: ${where}`);
          assert.equal(stats.ignored, 0, where);
          assert.equal(stats.rejected, report.invalid, `the invalid records, and only they, are rejected: ${where}`);
          assert.equal(
            stats.received,
            stats.sent - stats.replayed + stats.failed + stats.dropped + stats.rejected + stats.spooled,
            `received = sent - replayed + failed + dropped + rejected + spooled: ${where}`,
          );
          assert.equal(stats.buffered, 0, `nothing held after shutdown: ${where}`);
          assert.equal(stats.waitingForClientInit, 0, where);
          assert.ok(stats.sent <= (storedPerRound.get(report.round) ?? 0), `no more sent than the server stored (${storedPerRound.get(report.round) ?? 0}): ${where}`);
          if (report.kind === 'spool') {
            // Everything left in the spool is replayed. A spool read is acknowledged only once all its records
            // are settled, so records the first exporter replayed from a read it did not finish may be sent
            // again (at least once, never more than what it replayed).
            const drained = report.drainedFromSpool ?? -1;
            assert.ok(drained >= stats.spooled - stats.replayed, `what was left in the spool is replayed: ${where}`);
            assert.ok(drained <= stats.spooled, `replayed again at most what the first exporter replayed: ${where}`);
          }
        }
        const requests = run.rounds.reduce((n, r) => n + r.stats.requests, 0);
        const retried = run.rounds.reduce((n, r) => n + r.stats.retried, 0);
        assert.ok(requests > run.rounds.length, `requests made: ${requests}`);
        if (chaos.timeoutMillis < 10_000) assert.ok(retried > 0, 'some requests were retried');
        assert.equal(server.unreadable, 0, 'every request carried a collect payload');
      } finally {
        await server?.close();
      }
    });
  }
});

describe('transport chaos coverage', () => {
  it('met every behaviour of the chaos server somewhere', () => {
    const missing = BEHAVIOURS.filter((behaviour) => (seen[behaviour] ?? 0) === 0);
    assert.deepEqual(missing, [], `behaviours never drawn with seed ${SEED}: ${JSON.stringify(seen)}`);
  });
});
