import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator, EmulatorFault } from '../../src/emulator/index.js';
import { COLLECT_PATH, MAX_LIST_LENGTH, MAX_STRING_VALUE_BYTES, TIME_WINDOW_FUTURE_MILLIS, TIME_WINDOW_PAST_MILLIS } from '../../src/mapping/rules.js';
import { collectPayload, postCollect, profileRecord, trackRecord } from '../helpers/collect-client.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NOW_MILLIS = 1_795_822_502_196;
const ok = { code: 0, msg: 'ok', extra: {} };

function errorsOf(body: unknown): string[] {
  const errors = (body as { extra?: { errors?: unknown } }).extra?.errors;
  assert.ok(Array.isArray(errors), `expected extra.errors in ${JSON.stringify(body)}`);
  return errors as string[];
}

describe('emulator: accepting and validating', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ now: () => NOW_MILLIS });
  });
  afterEach(() => emulator.clear());
  after(() => emulator.close());

  const at = (overrides = {}) => trackRecord({ time: NOW_MILLIS, ...overrides });

  test('accepts a gzip body and a plain body and stores their records in order', async () => {
    // arrange
    const first = collectPayload('u1', [at({ event: 'first' }), profileRecord('profile_set', { name: 'x' }, { time: NOW_MILLIS })], {
      client_ip: '1.2.3.4',
      client_ua: 'test-agent',
    });
    const second = collectPayload('u2', [at({ event: 'second' })]);
    // act
    const gzipped = await postCollect(emulator.url, first, { gzip: true });
    const plain = await postCollect(emulator.url, second);
    const explicitNone = await postCollect(emulator.url, collectPayload('u3', [at({ event: 'third' })]), {
      headers: { 'gravity-content-compress': 'none' },
    });
    // assert
    assert.deepEqual([gzipped.status, gzipped.body], [200, ok]);
    assert.deepEqual([plain.status, plain.body], [200, ok]);
    assert.deepEqual(explicitNone.body, ok);
    assert.deepEqual(emulator.payloads().slice(0, 2), [first, second]);
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event, e.requestSeq, e.client_ip, e.client_ua]),
      [
        ['u1', 'first', emulator.requests[0]!.seq, '1.2.3.4', 'test-agent'],
        ['u1', 'profile_set', emulator.requests[0]!.seq, '1.2.3.4', 'test-agent'],
        ['u2', 'second', emulator.requests[1]!.seq, undefined, undefined],
        ['u3', 'third', emulator.requests[2]!.seq, undefined, undefined],
      ],
    );
    assert.deepEqual(
      emulator.requests.map((r) => [r.method, r.path, r.compressed, r.accepted, r.query['access_token'], r.accessToken]),
      [
        ['POST', COLLECT_PATH, true, true, '[REDACTED]', 'present'],
        ['POST', COLLECT_PATH, false, true, '[REDACTED]', 'present'],
        ['POST', COLLECT_PATH, false, true, '[REDACTED]', 'present'],
      ],
    );
    assert.equal(emulator.requests[0]!.bodyText, JSON.stringify(first));
    assert.equal(emulator.requests[0]!.headers['gravity-content-compress'], 'gzip');
  });

  test('fills in time_free: false for records that omit it, as PHP, Ruby and C++ do', async () => {
    const record: Record<string, unknown> = { ...at() };
    delete record['time_free'];
    const answer = await postCollect(emulator.url, { client_id: 'u1', event_list: [record] });
    assert.deepEqual(answer.body, ok);
    assert.equal(emulator.events()[0]!.time_free, false);
    assert.equal('time_free' in emulator.payloads()[0]!.event_list[0]!, false);
  });

  const validationCases: Array<{ kind: string; body: unknown; error: string }> = [
    { kind: 'body not an object', body: [], error: 'body: expected a JSON object, got array' },
    { kind: 'client_id missing', body: { event_list: [at()] }, error: 'client_id: required' },
    { kind: 'client_id empty', body: { client_id: '', event_list: [at()] }, error: 'client_id: expected a non-empty string, got string ""' },
    { kind: 'client_id not a string', body: { client_id: 42, event_list: [at()] }, error: 'client_id: expected a non-empty string, got number 42' },
    { kind: 'client_ip not a string', body: { client_id: 'u', client_ip: 1, event_list: [at()] }, error: 'client_ip: expected a string, got number' },
    { kind: 'client_ua not a string', body: { client_id: 'u', client_ua: {}, event_list: [at()] }, error: 'client_ua: expected a string, got object' },
    { kind: 'event_list missing', body: { client_id: 'u' }, error: 'event_list: required' },
    { kind: 'event_list not an array', body: { client_id: 'u', event_list: {} }, error: 'event_list: expected an array, got object' },
    { kind: 'event_list empty', body: { client_id: 'u', event_list: [] }, error: 'event_list: must hold at least one record' },
    { kind: 'record not an object', body: { client_id: 'u', event_list: ['x'] }, error: 'event_list[0]: expected an object, got string' },
    { kind: 'unknown type', body: { client_id: 'u', event_list: [at({ type: 'trackUpdate' as 'track' })] }, error: 'event_list[0].type: expected "track" or "profile", got string "trackUpdate"' },
    { kind: 'event not a string', body: { client_id: 'u', event_list: [at({ event: 7 as unknown as string })] }, error: 'event_list[0].event: expected a string, got number' },
    { kind: 'track event breaks the key rule', body: { client_id: 'u', event_list: [at({ event: 'add-to-cart' })] }, error: 'event_list[0].event: "add-to-cart" does not match the key rule' },
    { kind: 'track event longer than 50 characters', body: { client_id: 'u', event_list: [at({ event: 'e'.repeat(51) })] }, error: 'does not match the key rule' },
    { kind: 'unknown profile operation', body: { client_id: 'u', event_list: [profileRecord('profile_add', { a: 1 }, { time: NOW_MILLIS })] }, error: 'event_list[0].event: unknown profile operation "profile_add"' },
    { kind: 'time not an integer', body: { client_id: 'u', event_list: [at({ time: NOW_MILLIS + 0.5 })] }, error: 'event_list[0].time: expected an integer (epoch milliseconds), got number' },
    { kind: 'time a string', body: { client_id: 'u', event_list: [at({ time: '2025-01-01' as unknown as number })] }, error: 'event_list[0].time: expected an integer (epoch milliseconds), got string "2025-01-01"' },
    { kind: 'time_free not a boolean', body: { client_id: 'u', event_list: [at({ time_free: 'true' as unknown as boolean })] }, error: 'event_list[0].time_free: expected a boolean, got string' },
    { kind: 'properties an array', body: { client_id: 'u', event_list: [at({ properties: [] as never })] }, error: 'event_list[0].properties: expected an object, got array' },
    { kind: 'properties null', body: { client_id: 'u', event_list: [at({ properties: null as never })] }, error: 'event_list[0].properties: expected an object, got null' },
    { kind: 'property key breaks the key rule', body: { client_id: 'u', event_list: [at({ properties: { 'http.route': '/a' } })] }, error: 'event_list[0].properties["http.route"]: key does not match the key rule' },
    { kind: 'profile key breaks the key rule', body: { client_id: 'u', event_list: [profileRecord('profile_set', { '': '' }, { time: NOW_MILLIS })] }, error: 'event_list[0].properties[""]: key does not match the key rule' },
    { kind: 'profile_increment with a string', body: { client_id: 'u', event_list: [at(), at(), profileRecord('profile_increment', { coins: '5' }, { time: NOW_MILLIS })] }, error: 'event_list[2].properties.coins: profile_increment needs a number, got string' },
    { kind: 'profile_number_max with a boolean', body: { client_id: 'u', event_list: [profileRecord('profile_number_max', { level: true }, { time: NOW_MILLIS })] }, error: 'event_list[0].properties.level: profile_number_max needs a number, got boolean' },
    { kind: 'profile_number_min with null', body: { client_id: 'u', event_list: [profileRecord('profile_number_min', { level: null }, { time: NOW_MILLIS })] }, error: 'event_list[0].properties.level: profile_number_min needs a number, got null' },
    { kind: 'profile_append with a string', body: { client_id: 'u', event_list: [profileRecord('profile_append', { tags: 'a' }, { time: NOW_MILLIS })] }, error: 'event_list[0].properties.tags: profile_append needs an array, got string' },
    { kind: 'profile_uniq_append with an object', body: { client_id: 'u', event_list: [profileRecord('profile_uniq_append', { tags: { a: 1 } }, { time: NOW_MILLIS })] }, error: 'event_list[0].properties.tags: profile_uniq_append needs an array, got object' },
  ];

  for (const { kind, body, error } of validationCases) {
    test(`rejects ${kind} with an error naming the path, storing nothing`, async () => {
      const answer = await postCollect(emulator.url, body);
      assert.equal(answer.status, 200);
      assert.equal((answer.body as { code: number }).code, 1);
      assert.equal((answer.body as { msg: string }).msg, 'invalid data');
      const errors = errorsOf(answer.body);
      assert.ok(errors.some((e) => e.includes(error)), `expected an error containing ${JSON.stringify(error)}, got ${JSON.stringify(errors)}`);
      assert.deepEqual(emulator.events(), []);
      assert.equal(emulator.requests[0]!.accepted, false);
    });
  }

  test('rejects a non-finite number (1e400 parses to Infinity) for profile_increment', async () => {
    const text = `{"client_id":"u","event_list":[{"type":"profile","event":"profile_increment","time":${NOW_MILLIS},"properties":{"coins":1e400}}]}`;
    const answer = await postCollect(emulator.url, text);
    assert.deepEqual(errorsOf(answer.body), ['event_list[0].properties.coins: profile_increment needs a number, got non-finite number Infinity']);
  });

  test('rejects the whole request for one bad record and reports every error', async () => {
    const body = collectPayload('u1', [at(), at({ event: 'bad-name', properties: { 'a b': 1 } }), at({ time: 1.5 })]);
    const answer = await postCollect(emulator.url, body, { gzip: true });
    assert.deepEqual(errorsOf(answer.body), [
      'event_list[1].event: "bad-name" does not match the key rule ^[A-Za-z$][A-Za-z0-9_]{0,49}$',
      'event_list[1].properties["a b"]: key does not match the key rule ^[A-Za-z$][A-Za-z0-9_]{0,49}$',
      'event_list[2].time: expected an integer (epoch milliseconds), got number 1.5',
    ]);
    assert.deepEqual(emulator.payloads(), []);
    assert.deepEqual(emulator.events(), []);
  });

  test('accepts times from 10 days back to 1 hour ahead and rejects times outside unless time_free', async () => {
    const earliest = NOW_MILLIS - TIME_WINDOW_PAST_MILLIS;
    const latest = NOW_MILLIS + TIME_WINDOW_FUTURE_MILLIS;
    const inside = await postCollect(emulator.url, collectPayload('u', [at({ time: earliest }), at({ time: latest })]));
    const tooOld = await postCollect(emulator.url, collectPayload('u', [at({ time: earliest - 1 })]));
    const tooNew = await postCollect(emulator.url, collectPayload('u', [at({ time: latest + 1 })]));
    const imported = await postCollect(emulator.url, collectPayload('u', [at({ time: 1_000, time_free: true })]));
    assert.deepEqual(inside.body, ok);
    assert.match(errorsOf(tooOld.body)[0]!, /^event_list\[0\]\.time: \d+ is outside the accepted window .*time_free/);
    assert.match(errorsOf(tooNew.body)[0]!, /^event_list\[0\]\.time: \d+ is outside the accepted window/);
    assert.deepEqual(imported.body, ok);
    assert.deepEqual(emulator.events().map((e) => e.time), [earliest, latest, 1_000]);
  });

  test('answers code 1 for a body that is not valid gzip or not valid JSON', async () => {
    const badGzip = await postCollect(emulator.url, 'not gzip', { headers: { 'gravity-content-compress': 'gzip' } });
    const badJson = await postCollect(emulator.url, '{"client_id":', { gzip: true });
    assert.deepEqual(badGzip.body, { code: 1, msg: 'body is not valid gzip', extra: {} });
    assert.deepEqual(badJson.body, { code: 1, msg: 'body is not valid JSON', extra: {} });
    assert.equal(emulator.requests[1]!.bodyText, '{"client_id":');
    assert.equal(emulator.requests[1]!.body, undefined);
    assert.deepEqual(emulator.events(), []);
  });

  test('answers 404 for other paths and 405 for other methods', async () => {
    const wrongPath = await postCollect(emulator.url.replace(/collect\/$/, 'collect'), collectPayload('u', [at()]));
    const wrongMethod = await postCollect(emulator.url, undefined, { method: 'GET' });
    assert.equal(wrongPath.status, 404);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers['allow'], 'POST');
    assert.deepEqual(emulator.events(), []);
  });
});

describe('emulator: access token, clients and strict mode', () => {
  test('rejects a request whose access_token differs and stores nothing', async (t) => {
    const emulator = await startEmulator({ accessToken: 'right-token' });
    t.after(() => emulator.close());
    const wrong = await postCollect(emulator.url, collectPayload('u', [trackRecord()]), { token: 'wrong-token' });
    const missing = await postCollect(emulator.url, collectPayload('u', [trackRecord()]), { token: null });
    const right = await postCollect(emulator.url, collectPayload('u', [trackRecord()]), { token: 'right-token' });
    const invalidToken = { code: 1, msg: 'invalid access_token', extra: {} };
    assert.deepEqual([wrong.body, missing.body, right.body], [invalidToken, invalidToken, ok]);
    assert.equal(emulator.events().length, 1);
    // Recorded requests say how the token compared, never what it was.
    assert.deepEqual(
      emulator.requests.map((r) => [r.accessToken, r.query['access_token']]),
      [
        ['mismatched', '[REDACTED]'],
        ['missing', undefined],
        ['matched', '[REDACTED]'],
      ],
    );
    const recorded = JSON.stringify(emulator.requests);
    assert.ok(!recorded.includes('right-token') && !recorded.includes('wrong-token'), recorded);
  });

  test('answers code 2000 for an uninitialised client until initialiseClient', async (t) => {
    const emulator = await startEmulator({ uninitialisedClients: ['new-user'] });
    t.after(() => emulator.close());
    const before = await postCollect(emulator.url, collectPayload('new-user', [trackRecord()]));
    const otherUser = await postCollect(emulator.url, collectPayload('old-user', [trackRecord()]));
    emulator.initialiseClient('new-user');
    const afterInit = await postCollect(emulator.url, collectPayload('new-user', [trackRecord()]));
    assert.deepEqual(before.body, { code: 2000, msg: 'client_id not initialised', extra: {} });
    assert.deepEqual([otherUser.body, afterInit.body], [ok, ok]);
    assert.deepEqual(emulator.events().map((e) => e.client_id), ['old-user', 'new-user']);
  });

  const strictHeaders = { 'content-type': 'application/json', 'ge-integration-count': '1' };
  const strictCases: Array<{ kind: string; body: unknown; headers: Record<string, string>; error: string }> = [
    { kind: 'a missing Content-Type', body: collectPayload('u', [trackRecord()]), headers: { 'content-type': '' }, error: 'headers.content-type: strict mode expects application/json' },
    { kind: 'a wrong Content-Type', body: collectPayload('u', [trackRecord()]), headers: { 'content-type': 'application/gzip' }, error: 'headers.content-type: strict mode expects application/json, got "application/gzip"' },
    { kind: 'a GE-Integration-Count that differs from the record count', body: collectPayload('u', [trackRecord(), trackRecord()]), headers: strictHeaders, error: 'headers.ge-integration-count: "1" does not equal the record count 2' },
    { kind: 'a string value over the byte limit at any depth', body: collectPayload('u', [trackRecord({ properties: { obj: { list: ['é'.repeat(MAX_STRING_VALUE_BYTES / 2 + 1)] } } })]), headers: strictHeaders, error: `event_list[0].properties.obj.list[0]: string of ${MAX_STRING_VALUE_BYTES + 2} UTF-8 bytes exceeds ${MAX_STRING_VALUE_BYTES}` },
    { kind: 'a list over the length limit', body: collectPayload('u', [trackRecord({ properties: { ids: Array.from({ length: MAX_LIST_LENGTH + 1 }, (_, i) => i) } })]), headers: strictHeaders, error: `event_list[0].properties.ids: list of ${MAX_LIST_LENGTH + 1} elements exceeds ${MAX_LIST_LENGTH}` },
    { kind: 'a debug request with two records', body: collectPayload('u', [trackRecord(), trackRecord()]), headers: { 'content-type': 'application/json', 'turbo-debug-mode': '1' }, error: 'event_list: a debug request (Turbo-Debug-Mode: 1) carries exactly one record, got 2' },
    { kind: '$lib on a profile record', body: collectPayload('u', [profileRecord('profile_set', { $lib: 'node', $lib_version: '0.1.0', a: 1 })]), headers: strictHeaders, error: 'event_list[0].properties.$lib: not allowed on profile records' },
  ];

  describe('strict mode', () => {
    let strict: Emulator;
    let lenient: Emulator;
    before(async () => {
      [strict, lenient] = await Promise.all([startEmulator({ strict: true }), startEmulator()]);
    });
    after(() => Promise.all([strict.close(), lenient.close()]));

    test('accepts a request that follows every strict rule', async () => {
      const answer = await postCollect(strict.url, collectPayload('u', [trackRecord()]), {
        gzip: true,
        headers: { ...strictHeaders, 'turbo-debug-mode': '1' },
      });
      assert.deepEqual(answer.body, ok);
    });

    for (const { kind, body, headers, error } of strictCases) {
      test(`rejects ${kind} in strict mode only`, async () => {
        const strictAnswer = await postCollect(strict.url, body, { headers });
        const lenientAnswer = await postCollect(lenient.url, body, { headers });
        const errors = errorsOf(strictAnswer.body);
        assert.ok(errors.some((e) => e.includes(error)), `expected ${JSON.stringify(error)} in ${JSON.stringify(errors)}`);
        assert.deepEqual(lenientAnswer.body, ok);
        assert.equal(strict.requests.at(-1)!.accepted, false);
      });
    }
  });

  test('answers 413 over maxBodyBytes and stores nothing', async (t) => {
    const emulator = await startEmulator({ maxBodyBytes: 1024 });
    t.after(() => emulator.close());
    const big = collectPayload('u', [trackRecord({ properties: { text: 'x'.repeat(2000) } })]);
    const tooLarge = await postCollect(emulator.url, big);
    const small = await postCollect(emulator.url, collectPayload('u', [trackRecord()]));
    assert.equal(tooLarge.status, 413);
    assert.deepEqual(small.body, ok);
    assert.equal(emulator.requests[0]!.rawLength, Buffer.byteLength(JSON.stringify(big)));
    assert.equal(emulator.requests[0]!.accepted, false);
    assert.equal(emulator.events().length, 1);
  });
});

describe('emulator: faults', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => {
    emulator.clear();
    emulator.setRandomFaults(null);
    emulator.setResponseDelay(0);
  });
  after(() => emulator.close());

  const send = (clientId = 'u1', signal?: AbortSignal) =>
    postCollect(emulator.url, collectPayload(clientId, [trackRecord()]), { signal });

  test('answers a queued status fault with Retry-After, stores nothing, then serves the next request normally', async () => {
    emulator.enqueueFaults({ kind: 'status', status: 429, retryAfter: 3 }, { kind: 'status', status: 503, body: 'down for maintenance' });
    const throttled = await send();
    const unavailable = await send();
    const served = await send();
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers['retry-after'], '3');
    assert.deepEqual([unavailable.status, unavailable.body], [503, 'down for maintenance']);
    assert.deepEqual(served.body, ok);
    assert.deepEqual(emulator.requests.map((r) => [r.fault?.kind, r.accepted]), [['status', false], ['status', false], [undefined, true]]);
    assert.equal(emulator.events().length, 1);
  });

  test('resets the connection before processing: the request is recorded but not stored', async () => {
    emulator.enqueueFaults({ kind: 'reset' });
    await assert.rejects(send(), (error: Error & { code?: string }) => /SOCKET|ECONNRESET/.test(String(error.code)));
    assert.deepEqual(emulator.requests.map((r) => [r.response, r.accepted]), [[{ reset: true }, false]]);
    assert.deepEqual(emulator.events(), []);
  });

  test('resets the connection after processing: the records are stored although the client saw an error', async () => {
    emulator.enqueueFaults({ kind: 'reset', when: 'after' });
    await assert.rejects(send('late'), (error: Error & { code?: string }) => /SOCKET|ECONNRESET/.test(String(error.code)));
    assert.deepEqual(emulator.requests.map((r) => [r.response, r.accepted]), [[{ reset: true }, true]]);
    assert.deepEqual(emulator.events().map((e) => e.client_id), ['late']);
  });

  test('delays a request, then processes it normally', async () => {
    emulator.enqueueFaults({ kind: 'delay', delayMillis: 100 });
    const started = performance.now();
    const answer = await send();
    assert.ok(performance.now() - started >= 95, 'the answer came before the delay');
    assert.deepEqual(answer.body, ok);
    assert.equal(emulator.events().length, 1);
  });

  test('delays responses concurrently rather than queueing them', async () => {
    emulator.setResponseDelay(300);
    const started = performance.now();
    const answers = await Promise.all([send('a'), send('b'), send('c')]);
    const elapsed = performance.now() - started;
    assert.deepEqual(answers.map((a) => a.body), [ok, ok, ok]);
    assert.ok(elapsed >= 290 && elapsed < 850, `three delayed responses took ${elapsed} ms`);
  });

  test('hangs a request until the client aborts it', async () => {
    emulator.enqueueFaults({ kind: 'hang' });
    const controller = new AbortController();
    const pending = send('u1', controller.signal);
    const [hung] = await emulator.waitForRequests(1);
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.deepEqual([hung!.response, hung!.accepted, hung!.fault], [{ hang: true }, false, { kind: 'hang' }]);
    assert.deepEqual(emulator.events(), []);
  });

  test('answers a code fault with HTTP 200 and that code, storing nothing', async () => {
    emulator.enqueueFaults({ kind: 'code', code: 2000 }, { kind: 'code', code: 7, msg: 'quota exceeded' });
    const notInitialised = await send();
    const quota = await send();
    assert.deepEqual([notInitialised.status, notInitialised.body], [200, { code: 2000, msg: 'client_id not initialised', extra: {} }]);
    assert.deepEqual(quota.body, { code: 7, msg: 'quota exceeded', extra: {} });
    assert.deepEqual(emulator.events(), []);
  });

  test('random faults follow the seed: the same seed gives the same outcomes', async () => {
    const config = { rate: 0.5, seed: 42, faults: [{ kind: 'status', status: 503 }, { kind: 'code', code: 2000 }] as EmulatorFault[] };
    const outcomes = async (): Promise<string[]> => {
      emulator.clear();
      emulator.setRandomFaults(config);
      const result: string[] = [];
      for (let i = 0; i < 20; i++) {
        const answer = await send();
        result.push(`${answer.status}/${(answer.body as { code?: number }).code ?? '-'}`);
      }
      return result;
    };
    const first = await outcomes();
    const second = await outcomes();
    assert.deepEqual(first, second);
    assert.deepEqual(new Set(first), new Set(['200/0', '503/-', '200/2000']));
  });

  test('queued faults come before random faults, and setRandomFaults(null) turns them off', async () => {
    emulator.setRandomFaults({ rate: 1, seed: 1, faults: [{ kind: 'status', status: 500 }] });
    emulator.enqueueFaults({ kind: 'status', status: 429 });
    const queued = await send();
    const random = await send();
    emulator.setRandomFaults(null);
    const clean = await send();
    assert.deepEqual([queued.status, random.status, clean.status], [429, 500, 200]);
  });

  test('gives every request of one client its fault until told to stop, and leaves other clients alone', async () => {
    emulator.setClientFault('poison', { kind: 'status', status: 503 });
    const answers = [await send('poison'), await send('fine'), await send('poison')];
    emulator.setClientFault('poison', null);
    answers.push(await send('poison'));
    assert.deepEqual(answers.map((a) => a.status), [503, 200, 503, 200]);
    assert.deepEqual(emulator.events().map((e) => e.client_id), ['fine', 'poison']);
    assert.throws(() => emulator.setClientFault('x', { kind: 'status', status: 42 }), RangeError);
  });

  test('rejects a bad random fault configuration', () => {
    assert.throws(() => emulator.setRandomFaults({ rate: 1.5, faults: [{ kind: 'hang' }] }), RangeError);
    assert.throws(() => emulator.setRandomFaults({ rate: 0.5, faults: [] }), RangeError);
  });

  test('clear() forgets recorded requests and queued faults', async () => {
    emulator.enqueueFaults({ kind: 'status', status: 500 });
    await send();
    emulator.enqueueFaults({ kind: 'status', status: 500 });
    emulator.clear();
    const answer = await send();
    assert.deepEqual(answer.body, ok);
    assert.equal(emulator.requests.length, 1);
    assert.equal(emulator.events().length, 1);
  });
});

describe('emulator: lifecycle', () => {
  test('setDown(true) refuses connections and setDown(false) serves again on the same port', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const port = emulator.port;
    await emulator.setDown(true);
    await assert.rejects(postCollect(emulator.url, collectPayload('u', [trackRecord()])), { code: 'ECONNREFUSED' });
    await emulator.setDown(false);
    const answer = await postCollect(emulator.url, collectPayload('u', [trackRecord()]));
    assert.equal(emulator.port, port);
    assert.deepEqual(answer.body, ok);
  });

  test('setDown(true) drops a hung request', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    emulator.enqueueFaults({ kind: 'hang' });
    const pending = postCollect(emulator.url, collectPayload('u', [trackRecord()]));
    await emulator.waitForRequests(1);
    await emulator.setDown(true);
    await assert.rejects(pending, (error: Error & { code?: string }) => /SOCKET|ECONNRESET/.test(String(error.code)));
  });

  test('waitForEvents resolves once enough records arrive', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const waiting = emulator.waitForEvents(3);
    await postCollect(emulator.url, collectPayload('u', [trackRecord({ event: 'a' })]));
    await postCollect(emulator.url, collectPayload('u', [trackRecord({ event: 'b' }), trackRecord({ event: 'c' })]));
    assert.deepEqual((await waiting).map((e) => e.event), ['a', 'b', 'c']);
    assert.equal((await emulator.waitForEvents(1)).length, 3);
  });

  test('waitForEvents rejects with a clear error on timeout', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    await postCollect(emulator.url, collectPayload('u', [trackRecord()]));
    await assert.rejects(emulator.waitForEvents(2, 50), {
      message: 'Gravity emulator: timed out after 50 ms waiting for 2 accepted events; got 1',
    });
  });

  test('close() is idempotent, rejects pending waiters and refuses later connections', async () => {
    const emulator = await startEmulator();
    const waiting = emulator.waitForEvents(1, 60_000);
    await Promise.all([emulator.close(), emulator.close()]);
    await emulator.close();
    await assert.rejects(waiting, /closed/);
    await assert.rejects(postCollect(emulator.url, collectPayload('u', [trackRecord()])), { code: 'ECONNREFUSED' });
  });

  test('close() leaves no handles behind: the process exits on its own', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/emulator-lifecycle-child.ts'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(killer);
    assert.deepEqual([code, signal], [0, null], output);
    assert.match(output, /^closed \["failed","failed","failed"\] Gravity emulator: closed while waiting\n$/);
  });
});

describe('gravity-otel CLI', () => {
  function captureIo(): CliIo & { out: string; err: string } {
    const io = {
      out: '',
      err: '',
      stdout: { write: (text: string) => (io.out += text) },
      stderr: { write: (text: string) => (io.err += text) },
      waitForStop: () => Promise.resolve('test'),
    };
    return io;
  }

  test('--help prints usage and exits 0; an unknown command or option exits 2', async () => {
    const help = captureIo();
    const unknown = captureIo();
    const badOption = captureIo();
    const badPort = captureIo();
    assert.equal(await main(['--help'], help), 0);
    assert.equal(await main(['frobnicate'], unknown), 2);
    assert.equal(await main(['emulator', '--nope'], badOption), 2);
    assert.equal(await main(['emulator', '--port', 'abc'], badPort), 2);
    assert.match(help.out, /Usage: gravity-otel <command>[\s\S]*emulator/);
    assert.match(unknown.err, /unknown command "frobnicate"[\s\S]*Usage:/);
    assert.match(badOption.err, /Usage: gravity-otel emulator/);
    assert.match(badPort.err, /--port is invalid/);
  });

  test('emulator prints the URL, one line per request, never the token, and exits 0 on SIGTERM', async () => {
    const token = 'secret-token-123';
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'emulator', '--port', '0', '--token', token], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let onOutput = (): void => {};
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      onOutput();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    const outputMatching = (pattern: RegExp): Promise<RegExpMatchArray> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = stdout.match(pattern);
          if (match !== null) resolve(match);
        };
        onOutput = check;
        void exited.then(() => reject(new Error(`CLI exited early; stdout: ${stdout}; stderr: ${stderr}`)));
        check();
      });
    try {
      const [, url] = await outputMatching(/listening on (http:\/\/\S+)/);
      assert.match(stdout, /GE_SERVER_URL=http:\/\/127\.0\.0\.1:\d+\/event_center\/api\/v1\/event\/collect\//);
      assert.match(stdout, /GE_ACCESS_TOKEN=/);
      assert.match(stdout, /^Web console: http:\/\/127\.0\.0\.1:\d+\/$/m);
      const answer = await postCollect(url!, collectPayload('cli-user', [trackRecord(), trackRecord()]), { token, gzip: true });
      assert.deepEqual(answer.body, ok);
      const [line] = await outputMatching(/^#1 .*$/m);
      assert.equal(line, '#1 POST client_id="cli-user" records=2 gzip -> accepted');
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null], stderr);
    assert.ok(!stdout.includes(token) && !stderr.includes(token), 'the token was printed');
    assert.match(stdout, /stopped \(SIGTERM\)/);
  });
});
