import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openSpool } from '../../src/spool/index.js';
import type { Spool } from '../../src/spool/index.js';
import { createTempDir, eventJsonFor, range, seqOf } from '../helpers/spool-fixtures.js';

const CHILD = fileURLToPath(new URL('../helpers/spool-writer-child.ts', import.meta.url));
const STEPWISE_CHILD = fileURLToPath(new URL('../helpers/spool-stepwise-writer-child.ts', import.meta.url));
const TOTAL_RECORDS = 10_000;
const WAIT_TIMEOUT_MILLIS = 60_000;

/** Starts the writer child; `until(predicate)` resolves with the last reported count once the predicate holds. */
function startWriter(dir: string): { child: ChildProcess; until: (done: (appended: number, finished: boolean) => boolean) => Promise<number> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(TOTAL_RECORDS), '100'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let appended = 0;
  let finished = false;
  let stderr = '';
  let buffered = '';
  const listeners = new Set<() => void>();
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  child.stdout!.on('data', (data: Buffer) => {
    buffered += data.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'done') finished = true;
      else if (line.startsWith('appended ')) appended = Number(line.slice('appended '.length));
    }
    for (const listener of listeners) listener();
  });
  const until = (done: (appended: number, finished: boolean) => boolean): Promise<number> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer child stalled at ${appended}; stderr: ${stderr}`)), WAIT_TIMEOUT_MILLIS);
      const check = (): void => {
        if (!done(appended, finished)) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(appended);
      };
      listeners.add(check);
      child.once('exit', (code, signal) => {
        if (signal === null) reject(new Error(`writer child exited with ${code}; stderr: ${stderr}`));
      });
      check();
    });
  return { child, until };
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
}

/** Drains the spool, checking each record's event JSON survived byte for byte; returns the seqs in order. */
async function drainChecked(spool: Spool): Promise<number[]> {
  const seqs: number[] = [];
  for (let batch = await spool.readBatch(1_000); batch !== undefined; batch = await spool.readBatch(1_000)) {
    for (const record of batch.records) {
      const seq = seqOf(record);
      assert.equal(record.eventJson, eventJsonFor(seq));
      seqs.push(seq);
    }
    await batch.ack();
  }
  return seqs;
}

async function assertNothingReplayedAfterReopen(dir: string): Promise<void> {
  const reopened = await openSpool({ dir });
  assert.equal(reopened.pendingRecords(), 0);
  assert.equal(await reopened.readBatch(1_000), undefined);
  await reopened.close();
}

describe('spool survives SIGKILL of the writing process', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('keeps every record reported before a SIGKILL mid-way, each once, losing at most the one being written', async (t) => {
    const writer = startWriter(temp.dir);
    const reported = await writer.until((appended) => appended >= 3_000);
    await killHard(writer.child);

    const spool = await openSpool({ dir: temp.dir });
    assert.equal(spool.isOwner, true, 'the dead writer\'s lock is taken over');
    const seqs = await drainChecked(spool);
    t.diagnostic(`reported ${reported} before the kill; found ${seqs.length}; torn ${spool.stats().corruptLinesSkipped}`);
    assert.ok(seqs.length >= reported, `lost records: reported ${reported}, found ${seqs.length}`);
    assert.deepEqual(seqs, range(seqs.length), 'each record exactly once, in order, no gaps');
    assert.ok(spool.stats().corruptLinesSkipped <= 1);
    await spool.close();

    await assertNothingReplayedAfterReopen(temp.dir);
  });

  it('keeps all 10,000 records when killed after it reported them appended, and replays none once acked', async () => {
    const writer = startWriter(temp.dir);
    await writer.until((_appended, finished) => finished);
    await killHard(writer.child);

    const spool = await openSpool({ dir: temp.dir });
    assert.equal(spool.pendingRecords(), TOTAL_RECORDS);
    assert.deepEqual(await drainChecked(spool), range(TOTAL_RECORDS));
    assert.equal(spool.stats().corruptLinesSkipped, 0);
    await spool.close();

    await assertNothingReplayedAfterReopen(temp.dir);
  });

  it('keeps what a writer appended right after the owner listed its segment, just before it was killed', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const child = spawn(process.execPath, ['--import', 'tsx', STEPWISE_CHILD, temp.dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const realStat = fsp.stat;
    try {
      assert.equal(await lineFrom(child, 'appended 10'), 'appended 10 owner=false');
      // The timing, forced: the first time the owner stats the writer's file, the writer appends 10 more
      // records and is SIGKILLed before the owner goes on (so the size the owner saw is already stale).
      let armed = true;
      (fsp as { stat: typeof fsp.stat }).stat = (async (path: Parameters<typeof fsp.stat>[0], ...rest: unknown[]) => {
        const result = await (realStat as (...args: unknown[]) => Promise<unknown>)(path, ...rest);
        if (armed && String(path).endsWith('.open') && String(path).includes(`-${child.pid}-`)) {
          armed = false;
          const appended = lineFrom(child, 'appended 20');
          child.stdin!.write('more\n');
          await appended;
          await killHard(child);
        }
        return result;
      }) as typeof fsp.stat;
      const first = await owner.readBatch(100);
      (fsp as { stat: typeof fsp.stat }).stat = realStat;
      assert.ok(first !== undefined, 'the dead writer\'s segment is drained');
      const seqs = first.records.map(seqOf);
      await first.ack();
      for (let batch = await owner.readBatch(100); batch !== undefined; batch = await owner.readBatch(100)) {
        seqs.push(...batch.records.map(seqOf));
        await batch.ack();
      }
      assert.deepEqual(seqs.sort((a, b) => a - b), range(20), 'all 20 records the writer reported appended');
    } finally {
      (fsp as { stat: typeof fsp.stat }).stat = realStat;
      child.kill('SIGKILL');
      await owner.close();
    }
  });
});

/** Resolves with the child's first stdout line that starts with `prefix`. */
function lineFrom(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`child never printed ${prefix}: ${out}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith(prefix));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(line);
    };
    child.stdout!.on('data', onData);
  });
}
