import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openSpool } from '../../src/spool/index.js';
import { captureDiag } from '../helpers/diag-capture.js';
import { counts, createRecords, createTempDir, drainAll, range, segmentFiles } from '../helpers/spool-fixtures.js';

describe('spool: size cap', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('drops new records that would pass maxBytes, counts them, and keeps the earlier ones', async () => {
    const spool = await openSpool({ dir: temp.dir, maxBytes: 5_000 });
    const first = await spool.append(createRecords(20, 0));
    const second = await spool.append(createRecords(40, 20));
    assert.equal(first.dropped, 0);
    assert.ok(second.dropped > 0 && second.written > 0, JSON.stringify(second));
    assert.equal(first.written + second.written + second.dropped, 60);
    assert.equal(spool.stats().dropped, second.dropped);
    assert.ok(spool.stats().bytesOnDisk <= 5_000);
    assert.deepEqual(await drainAll(spool), range(first.written + second.written));
    await spool.close();
  });

  it('accepts records again once drained segments free space', async () => {
    const spool = await openSpool({ dir: temp.dir, maxBytes: 5_000, segmentBytes: 1_000 });
    await spool.append(createRecords(60));
    assert.ok(spool.stats().dropped > 0);
    await drainAll(spool);
    assert.deepEqual(counts(await spool.append(createRecords(5, 100))), { written: 5, dropped: 0 });
    await spool.close();
  });

  it('keeps a directory shared by two processes under maxBytes while the owner\'s deliveries keep failing', async () => {
    const owner = await openSpool({ dir: temp.dir, maxBytes: 20_000 });
    const other = await openSpool({ dir: temp.dir, maxBytes: 20_000 });
    await owner.append(createRecords(5, 0));
    // An outage: the owner's drainer reads, fails and releases, round after round, while both keep spooling.
    (await owner.readBatch(1_000))!.release();
    for (let i = 0; i < 200; i++) {
      await other.readBatch(1_000);
      await other.append(createRecords(1, 1_000 + i));
      (await owner.readBatch(1_000))!.release();
      await owner.append(createRecords(1, 2_000 + i));
    }
    const total = segmentFiles(temp.dir).reduce((n, name) => n + statSync(join(temp.dir, name)).size, 0);
    assert.ok(total <= 20_000, `segment files hold ${total} bytes`);
    await other.close();
    await owner.close();
  });

  it('counts records appended after close as dropped', async () => {
    const spool = await openSpool({ dir: temp.dir });
    await spool.close();
    assert.deepEqual(counts(await spool.append(createRecords(3))), { written: 0, dropped: 3 });
    assert.equal(spool.stats().dropped, 3);
  });
});

describe('spool: damaged segments', () => {
  let temp: ReturnType<typeof createTempDir>;
  beforeEach(() => {
    temp = createTempDir();
  });
  afterEach(() => temp.remove());

  it('skips and counts a line whose checksum fails, and delivers the rest', async () => {
    const first = await openSpool({ dir: temp.dir });
    await first.append(createRecords(10));
    await first.close();
    const path = join(temp.dir, segmentFiles(temp.dir)[0]!);
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"seq\\":3,', '"seq\\":333,'));

    const diag = captureDiag();
    try {
      const second = await openSpool({ dir: temp.dir });
      assert.deepEqual(await drainAll(second), [0, 1, 2, 4, 5, 6, 7, 8, 9]);
      assert.equal(second.stats().corruptLinesSkipped, 1);
      await second.close();
      assert.ok(diag.at('warn').some((line) => line.includes('1 damaged spool lines')), `warned: ${diag.all()}`);
    } finally {
      diag.stop();
    }
  });

  it('loses only the torn last record of a crashed writer, and appends after reopen stay readable', async () => {
    const first = await openSpool({ dir: temp.dir });
    await first.append(createRecords(10));
    await first.close();
    const path = join(temp.dir, segmentFiles(temp.dir)[0]!);
    truncateSync(path, readFileSync(path).length - 20);

    const second = await openSpool({ dir: temp.dir });
    await second.append(createRecords(3, 10));
    assert.deepEqual(await drainAll(second), [...range(9), 10, 11, 12]);
    assert.equal(second.stats().corruptLinesSkipped, 1);
    await second.close();
    assert.deepEqual(segmentFiles(temp.dir), []);
  });

  it('ignores a corrupt cursor by replaying, never by losing records', async () => {
    const first = await openSpool({ dir: temp.dir });
    await first.append(createRecords(10));
    await (await first.readBatch(5))?.ack();
    await first.close();
    writeFileSync(join(temp.dir, 'CURSOR'), '{"version":1,"offs');

    const second = await openSpool({ dir: temp.dir });
    assert.deepEqual(await drainAll(second), range(10));
    await second.close();
  });
});
