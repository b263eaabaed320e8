import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchGrouper, groupIntoBatches as groupSerialised, serialiseEvent, takeLeadingBatch } from '../../src/batching/request-batch.js';
import type { BatchLimits, Batching, RequestBatch, SerialisedRecord } from '../../src/batching/request-batch.js';
import { toPayloadJson } from '../../src/batching/encode.js';
import type { GravityRecord } from '../../src/mapping/map-record.js';

function record(clientId: string, n: number, extra: Partial<GravityRecord> = {}, padding = ''): GravityRecord {
  return {
    clientId,
    clientIp: undefined,
    clientUa: undefined,
    event: { type: 'track', event: 'e', time: 1_700_000_000_000 + n, time_free: false, properties: { n, padding } },
    ...extra,
  };
}

const LIMITS = { maxBatchSize: 200, maxBatchBytes: 1_000_000 };

function ns(batch: RequestBatch): number[] {
  return batch.eventJson.map((json) => (JSON.parse(json) as { properties: { n: number } }).properties.n);
}

/** A mapped record as the spool stores it. */
function serialiseRecord(record: GravityRecord): SerialisedRecord {
  return { clientId: record.clientId, clientIp: record.clientIp, clientUa: record.clientUa, eventJson: serialiseEvent(record) };
}

/** Groups mapped records the way the pipeline does: serialised once, then batched. */
function groupIntoBatches(records: readonly GravityRecord[], limits: BatchLimits): Batching {
  return groupSerialised(records.map(serialiseRecord), limits);
}

describe('groupIntoBatches', () => {
  test('never puts two clients in one request, whatever their ids hold (a NUL as well)', () => {
    const { batches } = groupSerialised(
      [
        { clientId: 'x\u0000y\u0000z', eventJson: '{"n":1}' },
        { clientId: 'x', clientIp: 'y', clientUa: 'z', eventJson: '{"n":2}' },
        { clientId: 'x\u0000y', clientUa: 'z', eventJson: '{"n":3}' },
      ],
      { maxBatchSize: 200, maxBatchBytes: 1_000_000 },
    );
    assert.deepEqual(
      batches.map((b) => [b.clientId, b.clientIp, b.clientUa, b.eventJson]),
      [
        ['x\u0000y\u0000z', undefined, undefined, ['{"n":1}']],
        ['x', 'y', 'z', ['{"n":2}']],
        ['x\u0000y', undefined, 'z', ['{"n":3}']],
      ],
    );
  });

  test('groups interleaved clients into one batch per client, records in emit order', () => {
    const { batches, oversized } = groupIntoBatches(
      [record('c1', 1), record('c2', 2), record('c1', 3), record('c2', 4), record('c1', 5)],
      LIMITS,
    );
    assert.deepEqual(oversized, []);
    assert.deepEqual(
      batches.map((b) => [b.clientId, ns(b)]),
      [
        ['c1', [1, 3, 5]],
        ['c2', [2, 4]],
      ],
    );
  });

  test('the same client with a different client_ip or client_ua goes into a separate batch that carries it', () => {
    const { batches } = groupIntoBatches(
      [
        record('c1', 1),
        record('c1', 2, { clientIp: '10.0.0.1' }),
        record('c1', 3, { clientIp: '10.0.0.2' }),
        record('c1', 4, { clientIp: '10.0.0.1' }),
        record('c1', 5, { clientUa: 'UA' }),
      ],
      LIMITS,
    );
    assert.deepEqual(
      batches.map((b) => [b.clientId, b.clientIp, b.clientUa, ns(b)]),
      [
        ['c1', undefined, undefined, [1]],
        ['c1', '10.0.0.1', undefined, [2, 4]],
        ['c1', '10.0.0.2', undefined, [3]],
        ['c1', undefined, 'UA', [5]],
      ],
    );
  });

  test('splits a client at 200 records, keeping emit order across the parts', () => {
    const records = Array.from({ length: 450 }, (_, i) => record('c1', i));
    const { batches } = groupIntoBatches(records, LIMITS);
    assert.deepEqual(
      batches.map((b) => b.eventJson.length),
      [200, 200, 50],
    );
    assert.deepEqual(batches.flatMap(ns), records.map((_, i) => i));
  });

  test('splits by maxBatchBytes so no payload exceeds it', () => {
    const maxBatchBytes = 4096;
    const records = Array.from({ length: 40 }, (_, i) => record('c1', i, {}, 'x'.repeat(300)));
    const { batches, oversized } = groupIntoBatches(records, { maxBatchSize: 200, maxBatchBytes });
    assert.deepEqual(oversized, []);
    assert.ok(batches.length > 1, 'expected a split');
    for (const batch of batches) {
      assert.ok(Buffer.byteLength(toPayloadJson(batch)) <= maxBatchBytes, `payload of ${Buffer.byteLength(toPayloadJson(batch))} bytes`);
    }
    assert.deepEqual(batches.flatMap(ns), records.map((_, i) => i));
  });

  test('counts multi-byte characters and the envelope (client id, ip, ua) against maxBatchBytes', () => {
    const maxBatchBytes = 2048;
    const quoted = 'q"\\\u0001'.repeat(20);
    const records = Array.from({ length: 30 }, (_, i) =>
      record(quoted, i, { clientIp: '2001:db8::1', clientUa: 'Mozilla/5.0 "x" 😀' }, '😀好é'.repeat(20)),
    );
    const { batches } = groupIntoBatches(records, { maxBatchSize: 200, maxBatchBytes });
    assert.ok(batches.length > 1);
    for (const batch of batches) {
      assert.ok(Buffer.byteLength(toPayloadJson(batch)) <= maxBatchBytes, `payload of ${Buffer.byteLength(toPayloadJson(batch))} bytes`);
    }
  });

  test('counts the client id as JSON-escaped text against maxBatchBytes', () => {
    const maxBatchBytes = 1024;
    const escapedId = '\u0001'.repeat(100); // 100 characters, 600 bytes once JSON-escaped
    const { batches, oversized } = groupIntoBatches([record(escapedId, 1, {}, 'x'.repeat(700))], { maxBatchSize: 200, maxBatchBytes });
    for (const batch of batches) {
      assert.ok(Buffer.byteLength(toPayloadJson(batch)) <= maxBatchBytes, `payload of ${Buffer.byteLength(toPayloadJson(batch))} bytes`);
    }
    assert.equal(batches.length + oversized.length, 1);
  });

  test('rejects a single record larger than maxBatchBytes and keeps the others', () => {
    const { batches, oversized } = groupIntoBatches(
      [record('c1', 1), record('c1', 2, {}, 'x'.repeat(5000)), record('c1', 3)],
      { maxBatchSize: 200, maxBatchBytes: 2048 },
    );
    assert.equal(oversized.length, 1);
    assert.equal(oversized[0]!.code, 'record_too_large');
    assert.match(oversized[0]!.reason, /^record: \d+ bytes of JSON is over maxBatchBytes \(2048\)/);
    assert.deepEqual(batches.map(ns), [[1, 3]]);
  });

  test('debug limits (one record per request) give one batch per record', () => {
    const { batches } = groupIntoBatches([record('c1', 1), record('c2', 2), record('c1', 3)], { maxBatchSize: 1, maxBatchBytes: 1_000_000 });
    assert.deepEqual(
      batches.map((b) => [b.clientId, ns(b)]),
      [
        ['c1', [1]],
        ['c2', [2]],
        ['c1', [3]],
      ],
    );
  });

  test('no records, no batches', () => {
    assert.deepEqual(groupIntoBatches([], LIMITS), { batches: [], oversized: [] });
  });
});

describe('BatchGrouper (an export sends full batches while it still maps)', () => {
  test('takeClosed hands out each batch once it is full, in the order they filled; finish the rest', () => {
    const grouper = new BatchGrouper({ maxBatchSize: 2, maxBatchBytes: 1_000_000 });
    for (const [client, n] of [['a', 1], ['b', 2], ['a', 3], ['a', 4], ['b', 5]] as const) grouper.add(serialiseRecord(record(client, n)));
    // a's [1, 3] closed when 4 arrived; b's [2, 5] is full but closes only when b's next record needs room.
    assert.deepEqual(grouper.takeClosed().map((b) => [b.clientId, ns(b)]), [['a', [1, 3]]]);
    assert.deepEqual(grouper.takeClosed(), []);
    for (const [client, n] of [['b', 6], ['a', 7]] as const) grouper.add(serialiseRecord(record(client, n)));
    assert.deepEqual(grouper.takeClosed().map((b) => [b.clientId, ns(b)]), [['b', [2, 5]]]);
    assert.deepEqual(
      grouper.finish().map((b) => [b.clientId, ns(b)]),
      [
        ['a', [4, 7]],
        ['b', [6]],
      ],
    );
    assert.deepEqual(grouper.finish(), []);
    assert.equal(grouper.records, 7);
  });

  test('a client\'s batches come out in emit order however they are taken', () => {
    const grouper = new BatchGrouper({ maxBatchSize: 3, maxBatchBytes: 1_000_000 });
    const taken: RequestBatch[] = [];
    for (let n = 0; n < 100; n++) {
      grouper.add(serialiseRecord(record(`c${n % 4}`, n)));
      if (n % 7 === 0) taken.push(...grouper.takeClosed());
    }
    taken.push(...grouper.finish());
    for (let c = 0; c < 4; c++) {
      const sequence = taken.filter((b) => b.clientId === `c${c}`).flatMap(ns);
      assert.deepEqual(sequence, Array.from({ length: 25 }, (_, i) => i * 4 + c));
    }
  });
});

describe('takeLeadingBatch (one client\'s records, one request after another)', () => {
  test('takes the first request\'s records in order: up to maxBatchSize, and only while client_ip/client_ua stay the same', () => {
    const records = [
      ...[0, 1, 2].map((n) => serialiseRecord(record('u1', n))),
      serialiseRecord(record('u1', 3, { clientIp: '10.0.0.1' })),
      serialiseRecord(record('u1', 4)),
    ];
    const first = takeLeadingBatch(records, 0, { maxBatchSize: 2, maxBatchBytes: 1_000_000 });
    assert.deepEqual([ns(first.batch!), first.taken, first.oversized], [[0, 1], 2, 0]);
    const second = takeLeadingBatch(records, 2, LIMITS);
    assert.deepEqual([ns(second.batch!), second.taken], [[2], 1]);
    const third = takeLeadingBatch(records, 3, LIMITS);
    assert.deepEqual([ns(third.batch!), third.batch!.clientIp, third.taken], [[3], '10.0.0.1', 1]);
    assert.equal(toPayloadJson(third.batch!).length, third.batch!.bytes + toPayloadJson({ ...third.batch!, eventJson: [], bytes: 0 }).length);
  });

  test('skips records too large for any request before the batch, and stops at one after it', () => {
    const big = 'x'.repeat(2_000);
    const records = [record('u1', 0, {}, big), record('u1', 1), record('u1', 2, {}, big), record('u1', 3)].map(serialiseRecord);
    const limits = { maxBatchSize: 200, maxBatchBytes: 1_024 };
    const first = takeLeadingBatch(records, 0, limits);
    assert.deepEqual([ns(first.batch!), first.taken, first.oversized], [[1], 2, 1]);
    const second = takeLeadingBatch(records, 2, limits);
    assert.deepEqual([ns(second.batch!), second.taken, second.oversized], [[3], 2, 1]);
    assert.deepEqual(takeLeadingBatch(records, 4, limits), { batch: undefined, taken: 0, oversized: 0 });
  });
});
