import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BENCH_USER_OPS,
  clientIndexOf,
  expectedCountsPerClient,
  generateWorkload,
  stampEmitTime,
  toImportLine,
  toLogRecord,
  toWireEvent,
} from '../../bench/workload.js';

describe('bench workload generator', () => {
  it('produces the same records for the same seed and different ones for another seed', () => {
    const a = generateWorkload({ seed: 42, clients: 100, records: 500 });
    const b = generateWorkload({ seed: 42, clients: 100, records: 500 });
    const c = generateWorkload({ seed: 43, clients: 100, records: 500 });

    assert.deepStrictEqual(a, b);
    assert.notDeepStrictEqual(a, c);
  });

  it('draws client ids Zipf-like: client 0 is the busiest and every id is within K', () => {
    const counts = expectedCountsPerClient({ seed: 1, clients: 1_000, records: 20_000 });

    const busiest = [...counts].sort((x, y) => y[1] - x[1])[0]!;
    assert.equal(busiest[0], 'user-0');
    assert.ok(busiest[1] > 20_000 * 0.1, `user-0 has ${busiest[1]} records`);
    for (const id of counts.keys()) assert.ok(clientIndexOf(id) >= 0 && clientIndexOf(id) < 1_000, id);
    assert.equal([...counts.values()].reduce((s, n) => s + n, 0), 20_000);
  });

  it('makes about 80% track events with a nested object and an array, the rest spread over every operation', () => {
    const records = generateWorkload({ seed: 9, clients: 50, records: 5_000 });

    const tracks = records.filter((r) => r.userOp === undefined);
    assert.ok(Math.abs(tracks.length / records.length - 0.8) < 0.03, `${tracks.length} track events`);
    const body = tracks[0]!.body as Record<string, unknown>;
    assert.ok(Object.keys(body).length >= 8);
    assert.ok(Array.isArray(body.tags));
    assert.equal(typeof body.device, 'object');
    assert.deepStrictEqual(new Set(records.map((r) => r.userOp).filter((op) => op !== undefined)), new Set(BENCH_USER_OPS));
  });

  it('builds log records that follow the ge.* contract with the properties in the body', () => {
    const [track, op] = [
      generateWorkload({ seed: 3, clients: 10, records: 200 }).find((r) => r.userOp === undefined)!,
      generateWorkload({ seed: 3, clients: 10, records: 200 }).find((r) => r.userOp === 'increment')!,
    ];

    assert.deepStrictEqual(toLogRecord(track), { attributes: { 'ge.client_id': track.clientId }, eventName: track.eventName, body: track.body });
    assert.deepStrictEqual(toLogRecord(op).attributes, { 'ge.client_id': op.clientId, 'ge.user_op': 'increment' });
  });

  it('stamps the emit time into the markers the sink reads, in the form each operation accepts', () => {
    const records = generateWorkload({ seed: 5, clients: 10, records: 300 });
    const track = records.find((r) => r.userOp === undefined)!;
    const append = records.find((r) => r.userOp === 'append')!;

    stampEmitTime(track, 1234);
    stampEmitTime(append, 1234);

    assert.equal((toWireEvent(track, 1, '0.1.0').properties as Record<string, unknown>).bench_emit_ms, 1234);
    assert.deepStrictEqual((toWireEvent(append, 1, '0.1.0').properties as Record<string, unknown>).bench_emit_ms, [1234]);
    assert.equal(toWireEvent(append, 1, '0.1.0').event, 'profile_append');
  });

  it('writes import lines carrying the same client, event or operation and properties as the log records', () => {
    const records = generateWorkload({ seed: 7, clients: 10, records: 400 });
    const track = records.find((r) => r.userOp === undefined)!;
    const unset = records.find((r) => r.userOp === 'unset')!;
    const del = records.find((r) => r.userOp === 'delete')!;

    assert.deepStrictEqual(JSON.parse(toImportLine(track, 1700000000000)), {
      client_id: track.clientId,
      type: 'track',
      event: track.eventName,
      time: 1700000000000,
      properties: track.body,
    });
    assert.deepStrictEqual(JSON.parse(toImportLine(unset, 5)), { client_id: unset.clientId, op: 'unset', time: 5, properties: ['nickname', 'channel'] });
    assert.deepStrictEqual(JSON.parse(toImportLine(del, 5)), { client_id: del.clientId, op: 'delete', time: 5 });
  });
});
