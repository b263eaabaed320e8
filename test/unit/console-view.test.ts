/**
 * The console's view of a request (field errors split and placed on their record, headers from an allow-list,
 * outcomes and fault descriptions), the NDJSON record export, and the fault schedule's outage window.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordsNdjson } from '../../src/emulator/console/export.js';
import { describeFault, locateError, toConsoleEntry } from '../../src/emulator/console/view.js';
import { createFaultSchedule, isOutageFault } from '../../src/emulator/faults.js';
import { COLLECT_PATH } from '../../src/mapping/rules.js';
import type { ReceivedRequest } from '../../src/emulator/types.js';

function received(overrides: Partial<ReceivedRequest>): ReceivedRequest {
  return {
    seq: 1,
    receivedAt: 1_700_000_000_000,
    method: 'POST',
    path: COLLECT_PATH,
    query: { access_token: '[REDACTED]' },
    accessToken: 'matched',
    headers: {},
    compressed: false,
    rawLength: 10,
    bodyText: '',
    body: undefined,
    response: { status: 200, body: { code: 0, msg: 'ok', extra: {} } },
    accepted: true,
    ...overrides,
  };
}

describe('console view: validation errors', () => {
  test('splits path and reason, and names the record an error belongs to', () => {
    assert.deepEqual(locateError('event_list[2].properties.coins: profile_increment needs a number, got string'), {
      record: 2,
      error: { field: 'properties.coins', reason: 'profile_increment needs a number, got string' },
    });
    assert.deepEqual(locateError('event_list[0].properties["a: b"][3].x: string of 3000 UTF-8 bytes exceeds 2048'), {
      record: 0,
      error: { field: 'properties["a: b"][3].x', reason: 'string of 3000 UTF-8 bytes exceeds 2048' },
    });
    assert.deepEqual(locateError('event_list[4]: expected an object, got string'), {
      record: 4,
      error: { field: '(record)', reason: 'expected an object, got string' },
    });
    assert.deepEqual(locateError('headers.content-type: strict mode expects application/json, got none'), {
      error: { field: 'headers.content-type', reason: 'strict mode expects application/json, got none' },
    });
    assert.deepEqual(locateError('event_list: must hold at least one record'), { error: { field: 'event_list', reason: 'must hold at least one record' } });
    assert.deepEqual(locateError('no path here'), { error: { field: '', reason: 'no path here' } });
  });

  test('puts each error of a rejected request on its record, the others on the request', () => {
    const body = {
      client_id: 'u1',
      client_ip: '192.0.2.7',
      event_list: [
        { type: 'track', event: 'ok', time: 1, properties: {} },
        { type: 'profile', event: 'profile_increment', time: 2, time_free: true, properties: { coins: 'x' } },
        'not a record',
      ],
    };
    const errors = [
      'event_list[1].properties.coins: profile_increment needs a number, got string',
      'event_list[2]: expected an object, got string',
      'headers.ge-integration-count: "5" does not equal the record count 3',
    ];
    const entry = toConsoleEntry(
      received({
        body,
        bodyText: JSON.stringify(body),
        accepted: false,
        response: { status: 200, body: { code: 1, msg: 'invalid data', extra: { errors } } },
      }),
    );
    assert.equal(entry.outcome, 'code 1: invalid data');
    assert.deepEqual(entry.response, { kind: 'http', status: 200, code: 1, msg: 'invalid data' });
    assert.equal(entry.clientIp, '192.0.2.7');
    assert.deepEqual(entry.errors, [{ field: 'headers.ge-integration-count', reason: '"5" does not equal the record count 3' }]);
    assert.deepEqual(
      entry.records.map((r) => [r.type, r.event, r.time, r.timeFree, r.errors]),
      [
        ['track', 'ok', 1, undefined, []],
        ['profile', 'profile_increment', 2, true, [{ field: 'properties.coins', reason: 'profile_increment needs a number, got string' }]],
        ['"not a record"', '', undefined, undefined, [{ field: '(record)', reason: 'expected an object, got string' }]],
      ],
    );
  });
});

describe('console view: what reaches the page', () => {
  test('never the query (the token) nor headers outside the allow-list', () => {
    const entry = toConsoleEntry(
      received({
        headers: {
          'content-type': 'application/json',
          'gravity-content-compress': 'gzip',
          'ge-integration-type': 'go',
          'ta-integration-count': '1',
          'turbo-debug-mode': '1',
          authorization: 'Bearer the-token',
          cookie: 'the-token',
          'x-api-key': 'the-token',
          host: '127.0.0.1',
        },
      }),
    );
    assert.deepEqual(Object.keys(entry.headers).sort(), ['content-type', 'ge-integration-type', 'gravity-content-compress', 'ta-integration-count', 'turbo-debug-mode']);
    assert.equal(JSON.stringify(entry).includes('the-token'), false);
  });

  test('outcomes and faults in a few words', () => {
    assert.equal(toConsoleEntry(received({ response: { reset: true }, accepted: false, fault: { kind: 'reset' } })).outcome, 'connection reset');
    assert.equal(toConsoleEntry(received({ response: { reset: true }, accepted: true, fault: { kind: 'reset', when: 'after' } })).outcome, 'accepted');
    assert.equal(toConsoleEntry(received({ response: { hang: true }, accepted: false })).outcome, 'no answer');
    assert.equal(toConsoleEntry(received({ response: { status: 429, body: { error: 'x' } }, accepted: false })).outcome, 'HTTP 429');
    assert.equal(describeFault({ kind: 'status', status: 503, retryAfter: 2 }), 'HTTP 503, Retry-After 2');
    assert.equal(describeFault({ kind: 'code', code: 2000 }), 'code 2000');
    assert.equal(describeFault({ kind: 'delay', delayMillis: 50 }), 'delay 50 ms');
  });

  test('records export: one import-shaped line per accepted record', () => {
    const text = recordsNdjson([
      { client_id: 'u1', client_ua: 'ua', type: 'track', event: 'e', time: 5, time_free: false, properties: { a: [1] }, requestSeq: 3 },
    ]);
    assert.equal(text, '{"client_id":"u1","client_ua":"ua","type":"track","event":"e","time":5,"time_free":false,"properties":{"a":[1]}}\n');
  });
});

describe('fault schedule: outage window', () => {
  test('during an outage every request gets the outage fault and the queue waits; the clock ends it', () => {
    let now = 1000;
    const schedule = createFaultSchedule(() => now);
    schedule.enqueue([{ kind: 'status', status: 500 }]);
    schedule.setOutage(3000);
    assert.equal(schedule.outageEnd(), 3000);
    const during = [schedule.next(), schedule.next()];
    assert.ok(during.every(isOutageFault));
    assert.deepEqual(during[0], { kind: 'reset', when: 'before' });
    assert.equal(isOutageFault({ kind: 'reset', when: 'before' }), false, 'a queued reset is not the outage');
    assert.deepEqual(schedule.queued(), [{ kind: 'status', status: 500 }]);
    now = 3000;
    assert.equal(schedule.outageEnd(), undefined);
    assert.deepEqual(schedule.next(), { kind: 'status', status: 500 });
    assert.equal(schedule.next(), undefined);
    schedule.setOutage(10_000);
    schedule.setOutage(undefined);
    assert.equal(schedule.next(), undefined);
    assert.throws(() => schedule.setOutage(Number.NaN), /end is invalid/);
  });
});
