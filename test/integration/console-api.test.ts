/**
 * The emulator console's HTTP side, over real HTTP on 127.0.0.1: the event stream, the fault switches and
 * their effect on the next collect request, the guards on the controls, the static files, and the downloads.
 * The page itself is tested in Chromium (console-browser.test.ts).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { collectPayload, postCollect, trackRecord } from '../helpers/collect-client.js';

const TOKEN = 'api-test-token-91b2';

interface StreamEvent {
  event: string;
  data: Record<string, any>;
}

/** Reads a text/event-stream response event by event. */
async function openStream(origin: string): Promise<{ next(): Promise<StreamEvent>; close(): void }> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    httpRequest(`${origin}/console/api/stream`, resolve).on('error', reject).end();
  });
  assert.equal(response.statusCode, 200);
  assert.match(response.headers['content-type'] ?? '', /^text\/event-stream/);
  const events: StreamEvent[] = [];
  const waiters: Array<(event: StreamEvent) => void> = [];
  let buffer = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (name === undefined || data === undefined) continue;
      const event = { event: name, data: JSON.parse(data) as Record<string, any> };
      const waiter = waiters.shift();
      if (waiter) waiter(event);
      else events.push(event);
    }
  });
  return {
    next: () => {
      const ready = events.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise<StreamEvent>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no stream event within 2 s')), 2000);
        waiters.push((event) => {
          clearTimeout(timer);
          resolve(event);
        });
      });
    },
    close: () => response.destroy(),
  };
}

async function control(origin: string, path: string, body: unknown, headers: Record<string, string> = { 'x-gravity-console': '1' }) {
  const response = await request(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, any> };
}

const faults = (emulator: Emulator, body: unknown) => control(emulator.origin, '/console/api/faults', body);
const post = (emulator: Emulator, clientId: string) => postCollect(emulator.url, collectPayload(clientId, [trackRecord()]), { token: TOKEN });

describe('emulator console: stream and controls', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ accessToken: TOKEN });
  });
  afterEach(async () => {
    emulator.clear();
    await faults(emulator, { action: 'outage', seconds: 0 });
    await faults(emulator, { action: 'response-delay', millis: 0 });
  });
  after(() => emulator.close());

  test('streams a snapshot on connect, each request as it is decided, and clears; headers from an allow-list only', async () => {
    await postCollect(emulator.url, collectPayload('early', [trackRecord()]), {
      token: TOKEN,
      gzip: true,
      headers: { authorization: 'Bearer not-for-the-page', cookie: 'session=abc', 'ge-integration-type': 'test', 'turbo-debug-mode': '1', 'user-agent': 'test-sdk/1.0' },
    });
    const stream = await openStream(emulator.origin);
    try {
      const hello = await stream.next();
      assert.equal(hello.event, 'hello');
      assert.deepEqual(hello.data['info'], {
        collectUrl: emulator.url,
        strict: false,
        tokenRequired: true,
        version: hello.data['info'].version,
        snapshotLimit: 1000,
      });
      const [early] = hello.data['entries'] as Array<Record<string, any>>;
      assert.equal(early!['clientId'], 'early');
      assert.equal(early!['path'], '/event_center/api/v1/event/collect/');
      assert.deepEqual(Object.keys(early!['headers']).sort(), ['content-length', 'content-type', 'ge-integration-type', 'gravity-content-compress', 'turbo-debug-mode', 'user-agent']);
      assert.equal(early!['compressed'], true);
      assert.equal(early!['records'][0].event, 'purchase');
      assert.deepEqual(hello.data['counters'], { requests: 1, records: 1, rejectedRequests: 0, rejectedRecords: 0, rejectedByReason: {} });

      await post(emulator, 'second');
      const live = await stream.next();
      assert.equal(live.event, 'request');
      assert.equal(live.data['entry'].clientId, 'second');
      assert.equal(live.data['entry'].outcome, 'accepted');
      assert.equal(live.data['counters'].requests, 2);
      await postCollect(emulator.url, collectPayload('wrong', [trackRecord()]), { token: 'wrong-token' });
      const refused = await stream.next();
      assert.equal(refused.data['entry'].outcome, 'code 1: invalid access_token');
      assert.deepEqual(refused.data['counters'].rejectedByReason, { 'code 1: invalid access_token': 1 });
      assert.ok(!JSON.stringify([hello, live, refused]).includes(TOKEN) && !JSON.stringify(refused).includes('wrong-token'));
      assert.ok(!JSON.stringify(hello).includes('not-for-the-page') && !JSON.stringify(hello).includes('session=abc'));

      emulator.clear();
      const cleared = await stream.next();
      assert.equal(cleared.event, 'clear');
      assert.equal(cleared.data['counters'].requests, 0);
    } finally {
      stream.close();
    }
  });

  test('queued faults from the console apply to the next collect requests, in order, and are shown as queued', async () => {
    const queued = await faults(emulator, { action: 'queue', count: 2, fault: { kind: 'status', status: 503, retryAfter: '2' } });
    assert.equal(queued.status, 200);
    assert.deepEqual(queued.body['queued'], ['HTTP 503, Retry-After 2', 'HTTP 503, Retry-After 2']);
    await faults(emulator, { action: 'queue', fault: { kind: 'code', code: 7, msg: 'quota' } });
    await faults(emulator, { action: 'queue', fault: { kind: 'reset', when: 'before' } });

    const first = await post(emulator, 'a');
    const second = await post(emulator, 'a');
    const third = await post(emulator, 'a');
    await assert.rejects(post(emulator, 'a'), 'the connection was reset');
    const fifth = await post(emulator, 'a');

    assert.deepEqual([first.status, first.headers['retry-after'], second.status], [503, '2', 503]);
    assert.deepEqual(third.body, { code: 7, msg: 'quota', extra: {} });
    assert.deepEqual(fifth.body, { code: 0, msg: 'ok', extra: {} });
    assert.equal(emulator.events().length, 1);

    await faults(emulator, { action: 'queue', count: 3, fault: { kind: 'hang' } });
    const cancelled = await faults(emulator, { action: 'clear-queue' });
    assert.deepEqual(cancelled.body['queued'], []);
    assert.deepEqual((await post(emulator, 'b')).body, { code: 0, msg: 'ok', extra: {} });
  });

  test('slow responses, code 2000 for one client, and an outage for N seconds, switched on and off', async () => {
    await faults(emulator, { action: 'response-delay', millis: 300 });
    const started = performance.now();
    await post(emulator, 'slow');
    assert.ok(performance.now() - started >= 290, 'the answer was delayed');
    const off = await faults(emulator, { action: 'response-delay', millis: 0 });
    assert.equal(off.body['responseDelayMillis'], 0);

    const refused = await faults(emulator, { action: 'uninitialise', clientId: 'fresh' });
    assert.deepEqual(refused.body['uninitialisedClients'], ['fresh']);
    assert.deepEqual((await post(emulator, 'fresh')).body, { code: 2000, msg: 'client_id not initialised', extra: {} });
    assert.deepEqual((await post(emulator, 'other')).body, { code: 0, msg: 'ok', extra: {} });
    await faults(emulator, { action: 'initialise', clientId: 'fresh' });
    assert.deepEqual((await post(emulator, 'fresh')).body, { code: 0, msg: 'ok', extra: {} });

    await faults(emulator, { action: 'queue', fault: { kind: 'code', code: 5 } });
    const outage = await faults(emulator, { action: 'outage', seconds: 1 });
    const endsIn = outage.body['outageEndsAt'] - outage.body['serverNow'];
    assert.ok(endsIn > 900 && endsIn <= 1000, `ends in ${endsIn} ms`);
    await assert.rejects(post(emulator, 'during'));
    await assert.rejects(post(emulator, 'during'));
    const stream = await openStream(emulator.origin);
    try {
      const hello = await stream.next();
      const outcomes = (hello.data['entries'] as Array<Record<string, any>>).slice(-2).map((e) => [e['outcome'], e['fault']]);
      assert.deepEqual(outcomes, [
        ['outage', 'outage: connection reset'],
        ['outage', 'outage: connection reset'],
      ]);
      assert.deepEqual(hello.data['faults'].queued, ['code 5'], 'queued faults wait for the outage to end');
      // The stream says when the outage is over.
      const over = await stream.next();
      assert.equal(over.event, 'faults');
      assert.equal(over.data['outageEndsAt'], null);
    } finally {
      stream.close();
    }
    assert.equal(((await post(emulator, 'after')).body as { code: number }).code, 5);
    assert.equal(((await post(emulator, 'after')).body as { code: number }).code, 0);

    await faults(emulator, { action: 'outage', seconds: 60 });
    await faults(emulator, { action: 'outage', seconds: 0 });
    assert.equal(((await post(emulator, 'ended-early')).body as { code: number }).code, 0);
  });

  test('refuses bad input naming the field, and controls without the console header, from another site, or another Host', async () => {
    const badStatus = await faults(emulator, { action: 'queue', fault: { kind: 'status', status: 42 } });
    assert.deepEqual(badStatus, { status: 400, body: { error: 'status is invalid, expected an integer from 100 to 599 (actual: 42)' } });
    const badAction = await faults(emulator, { action: 'explode' });
    assert.equal(badAction.status, 400);
    assert.match(badAction.body['error'], /^action is invalid/);
    const badJson = await request(`${emulator.origin}/console/api/faults`, {
      method: 'POST',
      headers: { 'x-gravity-console': '1' },
      body: '{',
    });
    assert.equal(badJson.statusCode, 400);
    await badJson.body.dump();

    const noHeader = await control(emulator.origin, '/console/api/faults', { action: 'outage', seconds: 60 }, {});
    const crossSite = await control(emulator.origin, '/console/api/clear', {}, { 'x-gravity-console': '1', 'sec-fetch-site': 'cross-site' });
    assert.deepEqual([noHeader.status, crossSite.status], [403, 403]);
    const rebound = await request(`${emulator.origin}/console/api/export/records.ndjson`, { headers: { host: 'attacker.example:80' } });
    assert.equal(rebound.statusCode, 403);
    await rebound.body.dump();
    const wrongMethod = await request(`${emulator.origin}/console/api/faults`);
    assert.equal(wrongMethod.statusCode, 405);
    await wrongMethod.body.dump();
    assert.deepEqual((await post(emulator, 'still-up')).body, { code: 0, msg: 'ok', extra: {} }, 'nothing was switched on');
  });
});

describe('emulator console: page, files and downloads', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ accessToken: TOKEN });
  });
  after(() => emulator.close());

  test('serves the page and its files with a same-origin-only policy, without recording them as requests', async () => {
    const page = await request(`${emulator.origin}/`);
    const html = await page.body.text();
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.match(html, /<script type="module" src="\/console\/console\.js"><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, 'nothing loaded from elsewhere');
    for (const [file, type] of [
      ['/console/console.js', /^text\/javascript/],
      ['/console/console.css', /^text\/css/],
    ] as const) {
      const asset = await request(`${emulator.origin}${file}`);
      assert.equal(asset.statusCode, 200, file);
      assert.match(String(asset.headers['content-type']), type);
      assert.doesNotMatch(await asset.body.text(), /https?:\/\/(?!127\.0\.0\.1)/, `${file} loads nothing from elsewhere`);
    }
    const icon = await request(`${emulator.origin}/favicon.ico`);
    assert.equal(icon.statusCode, 204);
    await icon.body.dump();
    assert.equal(emulator.requests.length, 0);
    assert.equal(emulator.consoleUrl, `${emulator.origin}/`);
  });

  test('without the console, / is an unknown path like any other', async () => {
    const plain = await startEmulator({ console: false });
    try {
      assert.equal(plain.consoleUrl, undefined);
      const answer = await request(`${plain.origin}/`);
      assert.equal(answer.statusCode, 404);
      await answer.body.dump();
      assert.deepEqual(plain.requests.map((r) => r.path), ['/']);
    } finally {
      await plain.close();
    }
  });

  test('downloads accepted records in the import shape, the bodies as received, and one body exactly', async () => {
    emulator.clear();
    const time = Date.now();
    const payload = collectPayload('u1', [trackRecord({ time, properties: { a: 1 } })], { client_ip: '192.0.2.1' });
    const pretty = JSON.stringify(payload, null, 2);
    await postCollect(emulator.url, pretty, { token: TOKEN, gzip: true });
    await postCollect(emulator.url, collectPayload('u2', [trackRecord({ time, event: 'bad key' })]), { token: TOKEN });

    const records = await request(`${emulator.origin}/console/api/export/records.ndjson`);
    assert.match(String(records.headers['content-disposition']), /^attachment; filename="gravity-records-\d{8}T\d{6}Z\.ndjson"$/);
    assert.equal(
      await records.body.text(),
      `${JSON.stringify({ client_id: 'u1', client_ip: '192.0.2.1', type: 'track', event: 'purchase', time, time_free: false, properties: { a: 1 } })}\n`,
    );
    const bodies = await request(`${emulator.origin}/console/api/export/bodies.ndjson`);
    const lines = (await bodies.body.text()).split('\n');
    assert.deepEqual(lines.map((line) => (line === '' ? '' : JSON.parse(line).client_id)), ['u1', 'u2', '']);
    assert.equal(lines[0], JSON.stringify(payload), 'a body over several lines is put on one');
    assert.equal(lines[1], emulator.requests[1]!.bodyText, 'a one-line body is kept byte for byte');
    const exact = await request(`${emulator.origin}/console/api/requests/${emulator.requests[0]!.seq}/body`);
    assert.equal(await exact.body.text(), pretty);
    const missing = await request(`${emulator.origin}/console/api/requests/999999/body`);
    assert.equal(missing.statusCode, 404);
    await missing.body.dump();
  });
});
