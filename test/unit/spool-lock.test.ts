import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, promises as fsp, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { openSpool } from '../../src/spool/index.js';
import { createRecords, createTempDir, drainAll, range, segmentFiles, seqOf } from '../helpers/spool-fixtures.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid !== undefined && child.pid > 0);
  return child.pid;
}

function writeLock(dir: string, pid: number): void {
  writeFileSync(join(dir, 'LOCK'), JSON.stringify({ version: 1, pid, lockId: 'deadbeefdeadbeef', acquiredAtMillis: 0 }));
}

/** Gives a sealed segment the `.open` name of writer `pid` (as a writer that never sealed it would leave it). */
function disguiseAsOpenSegmentOf(dir: string, fileName: string, pid: number): void {
  const renamed = fileName.replace(/-\d+-([0-9a-f]{16})\.seg$/, `-${pid}-$1.open`);
  renameSync(join(dir, fileName), join(dir, renamed));
}

/** Waits for the wall clock to move on a millisecond, so the next segment sorts after the previous ones. */
function nextMillisecond(): void {
  const start = Date.now();
  while (Date.now() === start) {
    // segment names order by creation millisecond: spin (≤ 1 ms) rather than sleep
  }
}

describe('spool: one owner at a time', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('makes the first opener the owner and the second a writer that cannot read', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const writer = await openSpool({ dir: temp.dir });
    assert.equal(owner.isOwner, true);
    assert.equal(writer.isOwner, false);
    await writer.append(createRecords(5));
    assert.equal(await writer.readBatch(10), undefined);
    await writer.close();
    await owner.close();
  });

  it('lets the owner drain a live second writer\'s records too, oldest segment first, and delete its segment once it closes', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const writer = await openSpool({ dir: temp.dir });
    await writer.append(createRecords(5, 0));
    nextMillisecond();
    await owner.append(createRecords(5, 5));
    assert.deepEqual(await drainAll(owner), range(10));
    assert.equal(segmentFiles(temp.dir).length, 2, 'a live writer\'s open segment stays (it may still append)');
    await writer.close();
    await owner.append(createRecords(5, 10));
    assert.deepEqual(await drainAll(owner), range(5, 10));
    await owner.close();
    assert.deepEqual(segmentFiles(temp.dir), []);
  });

  it('reads a live writer\'s segment up to its last complete line, and the rest once the line is complete', async () => {
    const seed = await openSpool({ dir: temp.dir });
    await seed.append(createRecords(3, 0));
    await seed.close();
    const sealed = segmentFiles(temp.dir)[0]!;
    const bytes = readFileSync(join(temp.dir, sealed));
    const cut = bytes.length - 20; // the third line, written in part
    rmSync(join(temp.dir, sealed));
    const live = sealed.replace(/-\d+-([0-9a-f]{16})\.seg$/, `-${process.ppid}-$1.open`);
    writeFileSync(join(temp.dir, live), bytes.subarray(0, cut));

    const spool = await openSpool({ dir: temp.dir });
    assert.deepEqual(await drainAll(spool), range(2));
    assert.equal(spool.stats().corruptLinesSkipped, 0, 'a line still being written is not torn');
    appendFileSync(join(temp.dir, live), bytes.subarray(cut));
    assert.deepEqual(await drainAll(spool), [2]);
    await spool.close();
  });

  it('hands ownership to a waiting process once the owner closes', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const other = await openSpool({ dir: temp.dir });
    await owner.append(createRecords(10));
    await owner.close();
    assert.deepEqual(await drainAll(other), range(10));
    assert.equal(other.isOwner, true);
    await other.close();
  });

  it('a new owner does not hand out again what the previous owner acked of its own sealed segments', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const writer = await openSpool({ dir: temp.dir, segmentBytes: 2_000 }); // seals after ~15 records
    await writer.append(createRecords(40));
    const batch = await owner.readBatch(5);
    assert.deepEqual(batch?.records.map(seqOf), [0, 1, 2, 3, 4]);
    await batch!.ack();
    await owner.close(); // the cursor is written, the lock released

    assert.deepEqual(await drainAll(writer), range(35, 5), 'the writer takes over and drains only the rest');
    assert.equal(writer.isOwner, true);
    await writer.close();
  });

  it('hands out again what it released while its lock flickered, once the lock is back', async () => {
    const spool = await openSpool({ dir: temp.dir });
    await spool.append(createRecords(10));
    const batch = await spool.readBatch(100);
    assert.deepEqual(batch?.records.map(seqOf), range(10));
    batch!.release(); // the replay failed: to be retried
    // A competing takeover attempt moves LOCK aside for a moment and puts it back.
    renameSync(join(temp.dir, 'LOCK'), join(temp.dir, 'LOCK.other.stale'));
    assert.equal(await spool.readBatch(100), undefined);
    renameSync(join(temp.dir, 'LOCK.other.stale'), join(temp.dir, 'LOCK'));

    assert.deepEqual(await drainAll(spool), range(10));
    assert.equal(spool.isOwner, true);
    await spool.close();
  });

  it('takes over a lock whose process is gone', async () => {
    writeLock(temp.dir, deadPid());
    const spool = await openSpool({ dir: temp.dir });
    assert.equal(spool.isOwner, true);
    assert.equal(JSON.parse(readFileSync(join(temp.dir, 'LOCK'), 'utf8')).pid, process.pid);
    await spool.close();
  });

  it('takes over a lock with this process\'s pid that no open spool holds (a restarted container)', async () => {
    writeLock(temp.dir, process.pid);
    const spool = await openSpool({ dir: temp.dir });
    assert.equal(spool.isOwner, true);
    await spool.close();
  });

  it('respects a lock held by a live process', async () => {
    writeLock(temp.dir, process.ppid);
    const spool = await openSpool({ dir: temp.dir });
    assert.equal(spool.isOwner, false);
    assert.equal(await spool.readBatch(10), undefined);
    await spool.close();
    assert.equal(JSON.parse(readFileSync(join(temp.dir, 'LOCK'), 'utf8')).pid, process.ppid, 'close leaves a foreign lock alone');
  });

  it('drains the open segments of a writer whose process is gone and of a live one, and deletes only the first', async () => {
    const seed = await openSpool({ dir: temp.dir });
    await seed.append(createRecords(4, 0));
    await seed.close();
    disguiseAsOpenSegmentOf(temp.dir, segmentFiles(temp.dir)[0]!, deadPid());
    nextMillisecond();
    const seed2 = await openSpool({ dir: temp.dir });
    await seed2.append(createRecords(4, 4));
    await seed2.close();
    disguiseAsOpenSegmentOf(temp.dir, segmentFiles(temp.dir)[1]!, process.ppid);

    const spool = await openSpool({ dir: temp.dir });
    assert.deepEqual(await drainAll(spool), range(8));
    assert.equal(segmentFiles(temp.dir).length, 1, 'the live writer\'s segment stays');
    await spool.close();
  });
});

describe('spool: on a file system without hard links', () => {
  let temp: ReturnType<typeof createTempDir>;
  const realLink = fsp.link;
  beforeEach(() => {
    temp = createTempDir();
    // The seam: every hard link fails as on such a file system.
    (fsp as { link: typeof fsp.link }).link = async () => {
      throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    };
  });
  afterEach(() => {
    (fsp as { link: typeof fsp.link }).link = realLink;
    temp.remove();
  });

  it('makes exactly one owner of spools opened at once, again and again', async () => {
    for (let round = 0; round < 20; round++) {
      const spools = await Promise.all([0, 1, 2].map(() => openSpool({ dir: temp.dir })));
      assert.equal(spools.filter((spool) => spool.isOwner).length, 1, `round ${round}`);
      await Promise.all(spools.map((spool) => spool.close()));
    }
  });

  it('hands ownership over on close and takes over a lock whose process is gone', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const other = await openSpool({ dir: temp.dir });
    await owner.append(createRecords(10));
    await owner.close();
    assert.deepEqual(await drainAll(other), range(10));
    assert.equal(other.isOwner, true);
    await other.close();

    writeLock(temp.dir, deadPid());
    const next = await openSpool({ dir: temp.dir });
    assert.equal(next.isOwner, true);
    await next.close();
  });
});

describe('spool: writers in other worker threads of the same process', () => {
  const CHILD = pathToFileURL(fileURLToPath(new URL('../helpers/spool-worker-thread-child.ts', import.meta.url))).href;
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  function startWorker(dir: string): Worker {
    // The worker runs the TypeScript helper through tsx, as the test does.
    return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(CHILD)}); })`, {
      eval: true,
      workerData: { dir },
    });
  }

  function nextMessage(worker: Worker): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('worker silent')), 10_000);
      worker.once('message', (message: string) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.once('error', reject);
    });
  }

  it('a spool in another thread does not take over the lock of a live owner', { timeout: 15_000 }, async () => {
    const owner = await openSpool({ dir: temp.dir });
    const worker = startWorker(temp.dir);
    try {
      assert.equal(await nextMessage(worker), 'appended 10 owner=false', 'one owner (one drainer) at a time');
    } finally {
      await worker.terminate();
      await owner.close();
    }
  });

  it('the owner delivers, each once, what a live writer in another thread appends before and after it is sealed', { timeout: 15_000 }, async () => {
    const worker = startWorker(temp.dir);
    let owner: Awaited<ReturnType<typeof openSpool>> | undefined;
    try {
      assert.match(await nextMessage(worker), /^appended 10/);
      owner = await openSpool({ dir: temp.dir });
      const seqs = await drainAll(owner);
      worker.postMessage('more');
      assert.equal(await nextMessage(worker), 'closed written=10');
      seqs.push(...(await drainAll(owner)));
      assert.deepEqual(seqs.sort((a, b) => a - b), range(20), 'every record the worker appended is delivered');
    } finally {
      await worker.terminate();
      await owner?.close();
    }
  });
});

describe('spool: what a process can tell of the owner\'s progress', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('tells a writer when the owner has consumed up to where its append ended (the writer learns it on its next readBatch)', async () => {
    const owner = await openSpool({ dir: temp.dir });
    const writer = await openSpool({ dir: temp.dir });
    const { position } = await writer.append(createRecords(5));
    assert.ok(position !== undefined);
    assert.equal(writer.isConsumedThrough(position), false);
    const batch = await owner.readBatch(100);
    assert.equal(owner.isReadThrough(position), true);
    assert.equal(owner.isConsumedThrough(position), false, 'read, not acked yet');
    await batch!.ack();
    assert.equal(owner.isConsumedThrough(position), true);
    assert.equal(writer.isConsumedThrough(position), false, 'not seen yet');
    assert.equal(await writer.readBatch(100), undefined);
    assert.equal(writer.isConsumedThrough(position), true);
    assert.equal(writer.isReadThrough(position), false, 'only the owner reads');
    await writer.close();
    await owner.close();
  });

  it('says records left by writers gone before it opened are ahead until the owner has read them', async () => {
    const gone = await openSpool({ dir: temp.dir });
    await gone.append(createRecords(30));
    await gone.close();
    disguiseAsOpenSegmentOf(temp.dir, segmentFiles(temp.dir)[0]!, deadPid());

    const spool = await openSpool({ dir: temp.dir });
    assert.equal(spool.hasUnreadBacklog(), true);
    await spool.readBatch(10);
    assert.equal(spool.hasUnreadBacklog(), true);
    await spool.readBatch(100);
    assert.equal(spool.hasUnreadBacklog(), false);
    // Its own records never count as backlog.
    await spool.append(createRecords(3, 100));
    assert.equal(spool.hasUnreadBacklog(), false);
    await spool.close();
  });
});
