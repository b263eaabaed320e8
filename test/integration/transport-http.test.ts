import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { startEmulator } from '../../src/emulator/index.js';
import { encodeBody } from '../../src/batching/encode.js';
import {
  GravityClientNotInitialisedError,
  GravityHttpError,
  GravityNetworkError,
  GravityRejectedError,
  GravityTimeoutError,
} from '../../src/common/errors.js';
import type { GravityExporterOptions } from '../../src/config/options.js';
import { createHttpTransport, MAX_RESPONSE_BYTES } from '../../src/transport/http-transport.js';
import type { SendResult, Transport } from '../../src/transport/types.js';
import { VERSION } from '../../src/common/version.js';
import { startRawCaptureServer } from '../helpers/raw-capture-server.js';

const TOKEN = 'transport-test-token';
const PAYLOAD = JSON.stringify({
  client_id: 'c1',
  event_list: [{ type: 'track', event: 'e', time: Date.now(), time_free: false, properties: { $lib: 'node', $lib_version: VERSION } }],
});

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function setup(options: GravityExporterOptions = {}, emulatorOptions: Parameters<typeof startEmulator>[0] = {}) {
  const emulator = await startEmulator(emulatorOptions);
  const transport = createHttpTransport(resolveConfig({ url: emulator.url, accessToken: TOKEN, ...options }, {}));
  cleanups.push(async () => {
    await transport.close();
    await emulator.close();
  });
  return { emulator, transport };
}

async function send(transport: Transport, json = PAYLOAD, compression: 'gzip' | 'none' = 'gzip'): Promise<SendResult> {
  const { body, compressed } = await encodeBody(json, compression);
  return transport.send({ body, compressed, recordCount: 1 });
}

function errorOf(result: SendResult): Error {
  assert.notEqual(result.status, 'success');
  return (result as Extract<SendResult, { error: unknown }>).error;
}

describe('createHttpTransport: classification', () => {
  test('HTTP 200 with code 0 is success', async () => {
    const { transport, emulator } = await setup({}, { accessToken: TOKEN });
    const result = await send(transport);
    assert.equal(result.status, 'success');
    assert.equal(emulator.events().length, 1);
  });

  test('HTTP 200 with code 1 is a failure keeping code, msg and extra', async () => {
    const { transport } = await setup();
    const result = await send(transport, JSON.stringify({ client_id: 'c1', event_list: [{ type: 'nope' }] }));
    assert.equal(result.status, 'failure');
    const error = errorOf(result);
    assert.ok(error instanceof GravityRejectedError);
    assert.equal(error.serviceCode, 1);
    assert.equal(error.serviceMessage, 'invalid data');
    assert.ok(Array.isArray((error.extra as { errors?: unknown }).errors));
    assert.match(error.message, /code 1 "invalid data" \{"errors":/);
  });

  test('code 2000 is a failure saying the client id was not initialised by a Gravity client SDK', async () => {
    const { transport } = await setup({}, { uninitialisedClients: ['c1'] });
    const result = await send(transport);
    assert.equal(result.status, 'failure');
    const error = errorOf(result);
    assert.ok(error instanceof GravityClientNotInitialisedError);
    assert.match(error.message, /code 2000/);
    assert.match(error.message, /not been initialised by a Gravity client SDK/);
  });

  test('HTTP 500 is retryable, naming the status', async () => {
    const { transport, emulator } = await setup();
    emulator.enqueueFaults({ kind: 'status', status: 500 });
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    const error = errorOf(result);
    assert.ok(error instanceof GravityHttpError);
    assert.equal(error.status, 500);
    assert.match(error.message, /^HTTP 500/);
  });

  test('HTTP 429 with Retry-After is retryable after that many milliseconds', async () => {
    const { transport, emulator } = await setup();
    emulator.enqueueFaults({ kind: 'status', status: 429, retryAfter: 2 });
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    assert.equal((result as Extract<SendResult, { status: 'retryable' }>).retryInMillis, 2000);
    assert.match(errorOf(result).message, /^HTTP 429/);
  });

  test('HTTP 404 is a failure (not retried), naming the status', async () => {
    const { transport, emulator } = await setup();
    emulator.enqueueFaults({ kind: 'status', status: 404 });
    const result = await send(transport);
    assert.equal(result.status, 'failure');
    assert.match(errorOf(result).message, /^HTTP 404/);
  });

  test('HTTP 200 without a Gravity response is retryable', async () => {
    const { transport, emulator } = await setup();
    emulator.enqueueFaults({ kind: 'status', status: 200, body: '<html>proxy</html>' });
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    assert.match(errorOf(result).message, /HTTP 200 without a Gravity response/);
  });

  test('a refused connection is retryable, naming ECONNREFUSED', async () => {
    const { transport, emulator } = await setup();
    await emulator.setDown(true);
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    const error = errorOf(result);
    assert.ok(error instanceof GravityNetworkError);
    assert.equal(error.networkCode, 'ECONNREFUSED');
    assert.match(error.message, /ECONNREFUSED/);
  });

  test('a reset connection is retryable network error', async () => {
    const { transport, emulator } = await setup();
    emulator.enqueueFaults({ kind: 'reset' });
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    assert.ok(errorOf(result) instanceof GravityNetworkError);
  });

  test('no answer within timeoutMillis is a retryable timeout', async () => {
    const { transport, emulator } = await setup({ timeoutMillis: 200 });
    emulator.enqueueFaults({ kind: 'hang' });
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    assert.ok(errorOf(result) instanceof GravityTimeoutError);
  });

  test('after close, send fails without a request', async () => {
    const { transport, emulator } = await setup();
    await transport.close();
    const result = await send(transport);
    assert.equal(result.status, 'failure');
    assert.equal(emulator.requests.length, 0);
  });
});

/** A server on 127.0.0.1 answering every request with `respond`. */
async function startServer(respond: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(respond);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('createHttpTransport: responses and aborts', () => {
  test('an endless 200 body is judged on its first MAX_RESPONSE_BYTES, at once, not at the timeout', async () => {
    const url = await startServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = (): void => {
        while (res.write(chunk));
        res.once('drain', pump);
      };
      pump();
    });
    const transport = createHttpTransport(resolveConfig({ url, accessToken: TOKEN, timeoutMillis: 10_000 }, {}));
    cleanups.push(() => transport.close());
    const started = Date.now();
    const result = await send(transport);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    assert.equal(result.status, 'retryable');
    assert.match(errorOf(result).message, /HTTP 200 without a Gravity response/);
  });

  test('a 503 with a body over the cap is retryable, quoting the start of it', async () => {
    const url = await startServer((req, res) => {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(`overloaded ${'x'.repeat(MAX_RESPONSE_BYTES * 2)}`);
    });
    const transport = createHttpTransport(resolveConfig({ url, accessToken: TOKEN }, {}));
    cleanups.push(() => transport.close());
    const result = await send(transport);
    assert.equal(result.status, 'retryable');
    const error = errorOf(result);
    assert.ok(error instanceof GravityHttpError);
    assert.equal(error.status, 503);
    assert.match(error.message, /overloaded x/);
  });

  test('requests sharing one abort signal all end when it aborts, and a send with an aborted signal makes no request', async () => {
    const { transport, emulator } = await setup({ timeoutMillis: 10_000 });
    emulator.enqueueFaults({ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
    const controller = new AbortController();
    const { body, compressed } = encodeBody(PAYLOAD, 'gzip');
    const sends = [1, 2, 3].map(() => transport.send({ body, compressed, recordCount: 1, signal: controller.signal }));
    while (emulator.requests.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    controller.abort(new Error('shutting down'));
    const results = await Promise.all(sends);
    assert.ok(Date.now() - started < 1_000, `ended ${Date.now() - started} ms after the abort`);
    for (const result of results) {
      assert.equal(result.status, 'failure');
      assert.match(errorOf(result).message, /request aborted: shutting down/);
    }
    const late = await transport.send({ body, compressed, recordCount: 1, signal: controller.signal });
    assert.equal(late.status, 'failure');
    assert.equal(emulator.requests.length, 3);
  });
});

describe('createHttpTransport: the request on the wire', () => {
  test('gzip bodies really are gzip (magic bytes) and carry the headers', async () => {
    const server = await startRawCaptureServer();
    cleanups.push(() => server.close());
    const transport = createHttpTransport(resolveConfig({ url: server.origin, accessToken: TOKEN }, {}));
    cleanups.push(() => transport.close());
    const { body, compressed } = await encodeBody(PAYLOAD, 'gzip');
    assert.equal((await transport.send({ body, compressed, recordCount: 1 })).status, 'success');
    const [request] = server.requests;
    assert.deepEqual([...request!.body.subarray(0, 2)], [0x1f, 0x8b]);
    assert.equal(gunzipSync(request!.body).toString('utf8'), PAYLOAD);
    assert.equal(request!.headers['gravity-content-compress'], 'gzip');
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['ge-integration-type'], 'node');
    assert.equal(request!.headers['ge-integration-version'], VERSION);
    assert.equal(request!.headers['ge-integration-count'], '1');
    assert.equal(request!.headers['user-agent'], `gravity-otel-exporter/${VERSION}`);
    assert.equal(request!.url, `/event_center/api/v1/event/collect/?access_token=${TOKEN}`);
  });

  test('a token given in the URL is sent once, URL-encoded, after the other query parameters', async () => {
    const server = await startRawCaptureServer();
    cleanups.push(() => server.close());
    const token = 'a+b/c=d&e';
    const url = `${server.origin}/custom/collect?region=cn&access_token=${encodeURIComponent(token)}`;
    const transport = createHttpTransport(resolveConfig({ url }, {}));
    cleanups.push(() => transport.close());
    await send(transport, PAYLOAD, 'none');
    const target = new URL(server.requests[0]!.url, server.origin);
    assert.equal(target.pathname, '/custom/collect');
    assert.deepEqual(target.searchParams.getAll('access_token'), [token]);
    assert.equal(target.searchParams.get('region'), 'cn');
    assert.equal(server.requests[0]!.headers['gravity-content-compress'], undefined);
  });
});
