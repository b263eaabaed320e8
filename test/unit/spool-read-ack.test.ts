import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openSpool } from '../../src/spool/index.js';
import { counts, createRecords, createTempDir, drainAll, eventJsonFor, range, readAllWithoutAck, segmentFiles, seqOf } from '../helpers/spool-fixtures.js';

describe('spool: append, read, ack', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('hands records back oldest first with their client fields and event JSON unchanged', async () => {
    const spool = await openSpool({ dir: temp.dir });
    const records = [
      { clientId: 'u1', clientIp: '10.0.0.1', clientUa: 'curl/8', eventJson: eventJsonFor(1) },
      { clientId: 'u2', eventJson: eventJsonFor(2) },
    ];
    assert.deepEqual(counts(await spool.append(records)), { written: 2, dropped: 0 });
    const batch = await spool.readBatch(10);
    assert.deepEqual(batch?.records, records);
    assert.equal(await spool.readBatch(10), undefined);
    await spool.close();
  });

  it('returns the next records on a second read before the first batch is acked', async () => {
    const spool = await openSpool({ dir: temp.dir });
    await spool.append(createRecords(25));
    const first = await spool.readBatch(10);
    const second = await spool.readBatch(10);
    const third = await spool.readBatch(10);
    assert.deepEqual(first?.records.map(seqOf), range(10));
    assert.deepEqual(second?.records.map(seqOf), range(10, 10));
    assert.deepEqual(third?.records.map(seqOf), range(5, 20));
    await spool.close();
  });

  it('returns released records again before newer ones', async () => {
    const spool = await openSpool({ dir: temp.dir });
    await spool.append(createRecords(20));
    const first = await spool.readBatch(10);
    first?.release();
    assert.deepEqual((await spool.readBatch(10))?.records.map(seqOf), range(10));
    assert.deepEqual((await spool.readBatch(10))?.records.map(seqOf), range(10, 10));
    await spool.close();
  });

  it('rotates segments at segmentBytes and reads across them in append order', async () => {
    const spool = await openSpool({ dir: temp.dir, segmentBytes: 2_000 });
    for (let chunk = 0; chunk < 10; chunk++) await spool.append(createRecords(10, chunk * 10));
    assert.ok(segmentFiles(temp.dir).length >= 5, `expected several segments, got ${segmentFiles(temp.dir).join(', ')}`);
    assert.deepEqual(await drainAll(spool, 7), range(100));
    await spool.close();
  });

  it('deletes sealed segments once every record in them is acked', async () => {
    const spool = await openSpool({ dir: temp.dir, segmentBytes: 2_000 });
    await spool.append(createRecords(100));
    await drainAll(spool);
    await spool.close();
    assert.deepEqual(segmentFiles(temp.dir), []);
  });

  it('does not replay acked records after a reopen', async () => {
    const first = await openSpool({ dir: temp.dir, segmentBytes: 2_000 });
    await first.append(createRecords(50));
    await drainAll(first, 10);
    await first.close();
    const second = await openSpool({ dir: temp.dir });
    assert.equal(second.pendingRecords(), 0);
    assert.equal(await second.readBatch(10), undefined);
    await second.close();
  });

  it('replays records read but not acked before a reopen, and only those', async () => {
    const first = await openSpool({ dir: temp.dir, segmentBytes: 2_000 });
    await first.append(createRecords(50));
    await (await first.readBatch(20))?.ack();
    await first.readBatch(20); // delivered, but the process "crashes" before the ack
    await first.close();
    const second = await openSpool({ dir: temp.dir });
    assert.equal(second.pendingRecords(), 30);
    assert.deepEqual(await drainAll(second), range(30, 20));
    await second.close();
  });

  it('keeps the cursor at the oldest unacked batch when acks arrive out of order', async () => {
    const first = await openSpool({ dir: temp.dir });
    await first.append(createRecords(30));
    const a = await first.readBatch(10);
    const b = await first.readBatch(10);
    const c = await first.readBatch(10);
    await c?.ack();
    await a?.ack();
    assert.ok(b !== undefined);
    await first.close();
    const second = await openSpool({ dir: temp.dir });
    const replayed = await drainAll(second);
    assert.deepEqual(replayed.slice(0, 10), range(10, 10), 'the unacked middle batch comes back first');
    assert.ok(!replayed.some((seq) => seq < 10), 'the acked first batch is not replayed');
    await second.close();
  });

  it('counts pending records found at open, appended, and acked', async () => {
    const first = await openSpool({ dir: temp.dir });
    await first.append(createRecords(40));
    await first.close();
    const second = await openSpool({ dir: temp.dir });
    await second.append(createRecords(5, 40));
    assert.equal(second.pendingRecords(), 45);
    await (await second.readBatch(15))?.ack();
    assert.equal(second.pendingRecords(), 30);
    assert.deepEqual(second.stats(), { appended: 5, acked: 15, dropped: 0, corruptLinesSkipped: 0, bytesOnDisk: second.stats().bytesOnDisk });
    await second.close();
  });

  it('appends 10,000 records in one call and reads them all back', async () => {
    const spool = await openSpool({ dir: temp.dir });
    assert.deepEqual(counts(await spool.append(createRecords(10_000))), { written: 10_000, dropped: 0 });
    assert.deepEqual(await readAllWithoutAck(spool, 1_000), range(10_000));
    await spool.close();
  });

  it('rejects an invalid maxRecords and invalid options', async () => {
    const spool = await openSpool({ dir: temp.dir });
    assert.throws(() => spool.readBatch(0), RangeError);
    await spool.close();
    await assert.rejects(openSpool({ dir: temp.dir, maxBytes: -1 }), RangeError);
    await assert.rejects(openSpool({ dir: temp.dir, segmentBytes: 1.5 }), RangeError);
    await assert.rejects(openSpool({ dir: '' }), TypeError);
  });

  it('closes idempotently and reads nothing after close', async () => {
    const spool = await openSpool({ dir: temp.dir });
    await spool.append(createRecords(3));
    await Promise.all([spool.close(), spool.close()]);
    await spool.close();
    assert.equal(await spool.readBatch(10), undefined);
  });
});
