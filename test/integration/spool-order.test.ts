/**
 * Per-client order through the spool: a client's records arrive in emit order when some of them went through
 * the spool (an outage), when replays fail part-way, across a SIGKILL and a restart, and when two processes
 * share the spool. User-property operations depend on it (`set` then `unset`, `set_once`, `increment` after
 * `delete`). The full-size run (20,000 records over 1,000 clients, a 10 s outage) is `npm run soak`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { createGravityLogRecordProcessor, GravityLogRecordExporter } from '../../src/index.js';
import { orderRun } from '../../soak/order-run.js';
import { arrivalsByClient, workloadRecord, workloadTimeOrigin } from '../helpers/user-op-workload.js';
import { useTestCleanups } from '../helpers/test-cleanups.js';

const CHILD = fileURLToPath(new URL('../helpers/order-child.ts', import.meta.url));
const FAST = { accessToken: 't', retry: { initialBackoffMillis: 20, maxBackoffMillis: 200 } };

const { cleanups, tempDir, emulatorFor } = useTestCleanups('ge-spool-order-');

async function waitUntil(condition: () => boolean, timeoutMillis: number, what: string): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > timeoutMillis) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Record numbers of `range` in each client's arrivals, in arrival order. */
function arrivalsWithin(arrivals: ReadonlyMap<string, readonly number[]>, from: number, to: number): Map<string, number[]> {
  const within = new Map<string, number[]>();
  for (const [client, seqs] of arrivals) within.set(client, seqs.filter((seq) => seq >= from && seq < to));
  return within;
}

function expectedFor(client: number, clients: number, from: number, to: number): number[] {
  const seqs: number[] = [];
  for (let i = from; i < to; i++) if (i % clients === client) seqs.push(i);
  return seqs;
}

describe('per-client order through the spool', () => {
  it('replays each client\'s spooled records in emit order while a third of the replayed requests fail', { timeout: 60_000 }, async () => {
    const emulator = await emulatorFor();
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: tempDir(), maxBatchSize: 5 });
    cleanups.push(() => exporter.shutdown());
    const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, { scheduledDelayMillis: 20 })] });
    cleanups.push(() => provider.shutdown());
    const logger = provider.getLogger('order');
    const t0 = workloadTimeOrigin();
    const clients = 20;
    const total = 600;
    await emulator.setDown(true);
    for (let i = 0; i < total; i++) {
      logger.emit(workloadRecord(i, clients, t0));
      if (i % 50 === 49) await provider.forceFlush();
    }
    await provider.forceFlush();
    assert.equal(exporter.getStats().spooled, total);

    // Back, but failing a third of the requests: replays fail part-way through a client's records, again and again.
    emulator.setRandomFaults({ rate: 0.33, seed: 11, faults: [{ kind: 'status', status: 503 }] });
    await emulator.setDown(false);
    await waitUntil(() => emulator.events().length >= total, 40_000, 'every record');

    const arrivals = arrivalsByClient(emulator.events(), t0);
    for (let c = 0; c < clients; c++) assert.deepEqual(arrivals.get(`c${c}`), expectedFor(c, clients, 0, total), `client c${c}`);
    assert.ok(emulator.requests.filter((r) => r.fault !== undefined).length > 10, 'replays did fail part-way');
  });

  it('keeps every client\'s order through an outage, a SIGKILL and a restart while new records keep coming', { timeout: 120_000 }, async () => {
    const result = await orderRun(2_000, 100, 4_000, 2_000);
    assert.deepEqual(
      { uniqueDelivered: result.uniqueDelivered, duplicates: result.duplicates, clientsOutOfOrder: result.clientsOutOfOrder, profilesDiffering: result.profilesDiffering },
      { uniqueDelivered: 2_000, duplicates: 0, clientsOutOfOrder: 0, profilesDiffering: 0 },
    );
  });

  it('keeps each process\'s order per client when two processes share the spool, the other one spooling while it lives', { timeout: 120_000 }, async () => {
    const emulator = await emulatorFor();
    const dir = tempDir();
    const t0 = workloadTimeOrigin();
    const clients = 50;
    // This process owns the spool (it opens it first) and emits records 0..999; the child emits 1000..1999.
    const exporter = new GravityLogRecordExporter({ ...FAST, url: emulator.url, spoolDir: dir });
    cleanups.push(() => exporter.shutdown());
    const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, { scheduledDelayMillis: 20 })] });
    cleanups.push(() => provider.shutdown());
    await waitUntil(() => readLockPid(dir) === process.pid, 10_000, 'this process to own the spool');
    await emulator.setDown(true);

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, emulator.url, dir, '1000', '2000', String(clients), '1000', String(t0)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let childOut = '';
    child.stdout.on('data', (chunk: Buffer) => (childOut += chunk.toString()));
    const logger = provider.getLogger('owner');
    for (let i = 0; i < 1_000; i++) {
      logger.emit(workloadRecord(i, clients, t0));
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 50));
      // The endpoint comes back half-way: both processes are spooling by then, and go on emitting.
      if (i === 500) await emulator.setDown(false);
    }
    await provider.forceFlush();
    await waitUntil(() => childOut.includes('flushed'), 60_000, 'the child to flush');
    await waitUntil(() => emulator.events().length >= 2_000, 60_000, 'every record of both processes');

    const arrivals = arrivalsByClient(emulator.events(), t0);
    assert.equal(emulator.events().length, 2_000, 'each record once');
    for (const [from, to] of [[0, 1_000], [1_000, 2_000]] as const) {
      const within = arrivalsWithin(arrivals, from, to);
      for (let c = 0; c < clients; c++) assert.deepEqual(within.get(`c${c}`), expectedFor(c, clients, from, to), `client c${c}, records ${from}..${to - 1}`);
    }
    child.stdin.write('shutdown\n');
    await new Promise((resolve) => child.once('exit', resolve));
  });
});

function readLockPid(dir: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

describe('a client whose replays keep failing (a poison round)', () => {
  it('backs off that client and delivers the others meanwhile, then delivers it in order once it goes through', { timeout: 60_000 }, async () => {
    const emulator = await emulatorFor();
    const exporter = new GravityLogRecordExporter({ accessToken: 't', retry: { initialBackoffMillis: 100, maxBackoffMillis: 1_000 }, url: emulator.url, spoolDir: tempDir() });
    cleanups.push(() => exporter.shutdown());
    const t0 = workloadTimeOrigin();
    // Spooled during an outage: 1,200 records of one client first (a whole read of the spool), then 300 of 30 others.
    await emulator.setDown(true);
    const provider = new LoggerProvider({ processors: [createGravityLogRecordProcessor(exporter, { scheduledDelayMillis: 20 })] });
    cleanups.push(() => provider.shutdown());
    const logger = provider.getLogger('poison');
    for (let i = 0; i < 1_200; i++) logger.emit({ ...workloadRecord(i, 1, t0), attributes: { 'ge.client_id': 'poison', 'ge.user_op': 'increment' }, body: { n: 1 } });
    await provider.forceFlush();
    for (let i = 0; i < 300; i++) logger.emit({ timestamp: t0 + 10_000 + i, eventName: 'tick', attributes: { 'ge.client_id': `other-${i % 30}`, seq: i } });
    await provider.forceFlush();
    assert.equal(exporter.getStats().spooled, 1_500);

    // The service fails every request of that client; the others are fine.
    emulator.setClientFault('poison', { kind: 'status', status: 503 });
    await emulator.setDown(false);
    await waitUntil(() => emulator.events().length >= 300, 20_000, 'the other clients\' records');
    const poisonAttempts = (): number => emulator.requests.filter((r) => r.fault !== undefined).length;
    const before = poisonAttempts();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const during = poisonAttempts() - before;
    assert.ok(during >= 1 && during <= 25, `the failing client was tried ${during} times in 2 s`);

    emulator.setClientFault('poison', null);
    await waitUntil(() => emulator.events().length >= 1_500, 20_000, 'the failing client\'s records once it goes through');
    const poison = emulator.events().filter((e) => e.client_id === 'poison').map((e) => e.time - t0);
    assert.deepEqual(poison, Array.from({ length: 1_200 }, (_, i) => i));
  });
});
