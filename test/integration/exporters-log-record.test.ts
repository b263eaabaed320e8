import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityLogRecordExporter, GravityShutdownError } from '../../src/index.js';
import type { GravityExporterOptions } from '../../src/index.js';
import type { CollectPayload } from '../../src/mapping/wire-types.js';
import { VERSION } from '../../src/common/version.js';
import { captureDiag } from '../helpers/diag-capture.js';
import type { DiagCapture } from '../helpers/diag-capture.js';
import { exportOnce } from '../helpers/export-once.js';
import { startExporterHarness, TEST_ACCESS_TOKEN } from '../helpers/exporter-harness.js';
import type { ExporterHarness } from '../helpers/exporter-harness.js';
import type { LogRecord } from '../helpers/otel-line.js';
import { createTestLogRecord, createTrackRecord } from '../helpers/record-builders.js';

const COLLECT_PATH = '/event_center/api/v1/event/collect/';
/** Failure tests must not wait for retries or for a client to be initialised. */
const NO_RETRY: GravityExporterOptions = { retry: { maxAttempts: 1 }, clientInitWaitMillis: 0 };

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function harnessFor(options: Parameters<typeof startExporterHarness>[0] = {}): Promise<ExporterHarness> {
  const harness = await startExporterHarness(options);
  cleanups.push(() => harness.close());
  return harness;
}

function diagCapture(): DiagCapture {
  const capture = captureDiag();
  cleanups.push(() => capture.stop());
  return capture;
}

function payloads(emulator: Emulator): CollectPayload[] {
  return emulator.requests.map((request) => request.body as CollectPayload);
}

function track(clientId: string, properties: Record<string, unknown> = {}, eventName = 'purchase'): LogRecord {
  return { eventName, attributes: { 'ge.client_id': clientId, ...(properties as LogRecord['attributes']) } };
}

describe('GravityLogRecordExporter: headers and body', () => {
  test('sends gzip JSON with the integration headers, the record count and the token as access_token', async () => {
    const { logger, emulator, flush } = await harnessFor({ emulator: { strict: true, accessToken: TEST_ACCESS_TOKEN } });
    for (let i = 0; i < 3; i++) logger.emit(track('c1', { n: i }));
    await flush();
    assert.equal(emulator.requests.length, 1);
    const [request] = emulator.requests;
    assert.equal(request!.method, 'POST');
    assert.equal(request!.path, COLLECT_PATH);
    assert.deepEqual(request!.query, { access_token: '[REDACTED]' });
    assert.equal(request!.accessToken, 'matched');
    assert.equal(request!.compressed, true);
    assert.equal(request!.accepted, true);
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['gravity-content-compress'], 'gzip');
    assert.equal(request!.headers['ge-integration-type'], 'node');
    assert.equal(request!.headers['ge-integration-version'], VERSION);
    assert.equal(request!.headers['ge-integration-count'], '3');
    assert.equal(request!.headers['user-agent'], `gravity-otel-exporter/${VERSION}`);
    assert.equal(request!.headers['turbo-debug-mode'], undefined);
    assert.deepEqual(Object.keys(request!.body as object), ['client_id', 'event_list']);
  });

  test("compression 'none' sends plain JSON without Gravity-Content-Compress", async () => {
    const { logger, emulator, flush } = await harnessFor({ exporter: { compression: 'none' } });
    logger.emit(track('c1'));
    await flush();
    assert.equal(emulator.requests.length, 1);
    assert.equal(emulator.requests[0]!.compressed, false);
    assert.equal(emulator.requests[0]!.headers['gravity-content-compress'], undefined);
    assert.equal(emulator.requests[0]!.headers['content-type'], 'application/json');
    assert.equal(emulator.requests[0]!.accepted, true);
  });

  test('debug mode sends Turbo-Debug-Mode: 1, uncompressed, one record per request', async () => {
    const { logger, emulator, flush } = await harnessFor({ emulator: { strict: true }, exporter: { debug: true } });
    for (let i = 0; i < 3; i++) logger.emit(track('c1', { n: i }));
    await flush();
    assert.equal(emulator.requests.length, 3);
    for (const request of emulator.requests) {
      assert.equal(request.headers['turbo-debug-mode'], '1');
      assert.equal(request.compressed, false);
      assert.equal(request.headers['gravity-content-compress'], undefined);
      assert.equal(request.headers['ge-integration-count'], '1');
      assert.equal((request.body as CollectPayload).event_list.length, 1);
    }
    assert.deepEqual(emulator.events().map((e) => e.properties['n']).sort(), [0, 1, 2]);
  });
});

describe('GravityLogRecordExporter: mapping over the wire', () => {
  test('dotted keys become underscores, attributes win over body keys, $lib cannot be overwritten, time is the record timestamp', async () => {
    const { logger, emulator, flush } = await harnessFor();
    const timestamp = Date.now() - 60_000;
    logger.emit({
      eventName: 'page.view',
      timestamp,
      body: { plan: 'from-body', nested: { a: [1, 2] } },
      attributes: { 'ge.client_id': 'c1', 'http.route': '/cart', plan: 'from-attribute', $lib: 'python' },
    });
    await flush();
    assert.deepEqual(payloads(emulator), [
      {
        client_id: 'c1',
        event_list: [
          {
            type: 'track',
            event: 'page_view',
            time: timestamp,
            time_free: false,
            properties: { $lib: 'node', $lib_version: VERSION, plan: 'from-attribute', nested: { a: [1, 2] }, http_route: '/cart' },
          },
        ],
      },
    ]);
  });

  test('delete sends {} and unset from a list of keys sends {key: 0}', async () => {
    const { logger, emulator, flush } = await harnessFor();
    logger.emit({ body: ['tags', 'level'], attributes: { 'ge.client_id': 'c1', 'ge.user_op': 'unset' } });
    logger.emit({ body: { ignored: true }, attributes: { 'ge.client_id': 'c1', 'ge.user_op': 'delete' } });
    await flush();
    const events = emulator.events();
    assert.deepEqual(
      events.map((e) => [e.type, e.event, e.properties]),
      [
        ['profile', 'profile_unset', { tags: 0, level: 0 }],
        ['profile', 'profile_delete', {}],
      ],
    );
  });

  test('records without any ge.* attribute are ignored: counted, never sent, no warning', async () => {
    const capture = diagCapture();
    const { logger, emulator, flush, exporter } = await harnessFor();
    logger.emit({ body: 'GET /health 200' });
    logger.emit({ eventName: 'not.analytics', attributes: { user: 'u1' } });
    logger.emit(track('c1'));
    await flush();
    assert.equal(emulator.events().length, 1);
    const stats = exporter.getStats();
    assert.equal(stats.ignored, 2);
    assert.equal(stats.received, 3);
    assert.equal(stats.sent, 1);
    assert.equal(stats.rejected, 0);
    assert.deepEqual(capture.at('warn'), []);
  });

  test('the same client with a different ge.client_ip goes into a separate request carrying client_ip at the top level', async () => {
    const { logger, emulator, flush } = await harnessFor();
    logger.emit(track('c1', { n: 1 }));
    logger.emit(track('c1', { n: 2, 'ge.client_ip': '10.0.0.1', 'ge.client_ua': 'UA/1' }));
    logger.emit(track('c1', { n: 3, 'ge.client_ip': '10.0.0.2' }));
    logger.emit(track('c1', { n: 4, 'ge.client_ip': '10.0.0.1', 'ge.client_ua': 'UA/1' }));
    await flush();
    const summary = payloads(emulator)
      .map((p) => [p.client_id, p.client_ip ?? null, p.client_ua ?? null, p.event_list.map((e) => e.properties['n'])])
      .sort((a, b) => Number((a[3] as unknown[])[0]) - Number((b[3] as unknown[])[0]));
    assert.deepEqual(summary, [
      ['c1', null, null, [1]],
      ['c1', '10.0.0.1', 'UA/1', [2, 4]],
      ['c1', '10.0.0.2', null, [3]],
    ]);
  });

  test('splits a client at 200 records per request, every record delivered once', async () => {
    const { logger, emulator, flush } = await harnessFor({ processor: { maxExportBatchSize: 1000, maxQueueSize: 2000 } });
    for (let i = 0; i < 450; i++) logger.emit(track('c1', { n: i }));
    await flush();
    assert.deepEqual(
      emulator.requests.map((r) => (r.body as CollectPayload).event_list.length).sort((a, b) => b - a),
      [200, 200, 50],
    );
    for (const request of emulator.requests) assert.equal(request.headers['ge-integration-count'], String((request.body as CollectPayload).event_list.length));
    assert.deepEqual(
      emulator.events().map((e) => e.properties['n']).sort((a, b) => Number(a) - Number(b)),
      Array.from({ length: 450 }, (_, i) => i),
    );
  });

  test('splits by maxBatchBytes: no request body is larger', async () => {
    const maxBatchBytes = 4096;
    const { logger, emulator, flush } = await harnessFor({ exporter: { maxBatchBytes, compression: 'none' } });
    for (let i = 0; i < 40; i++) logger.emit(track('c1', { n: i, padding: 'x'.repeat(300) }));
    await flush();
    assert.ok(emulator.requests.length > 1, 'expected several requests');
    for (const request of emulator.requests) assert.ok(request.rawLength <= maxBatchBytes, `${request.rawLength} bytes`);
    assert.equal(emulator.events().length, 40);
  });
});

interface RejectionKind {
  name: string;
  record: LogRecord;
  code: string;
  field: string;
}

/** One record of each rejection kind the issue lists. */
const REJECTION_KINDS: RejectionKind[] = [
  { name: 'empty ge.client_id', record: track(''), code: 'invalid_client_id', field: 'ge.client_id' },
  { name: 'non-string ge.client_id', record: { eventName: 'e', attributes: { 'ge.client_id': 42 } }, code: 'invalid_client_id', field: 'ge.client_id' },
  { name: 'unknown ge.user_op', record: { body: { a: 1 }, attributes: { 'ge.client_id': 'bad', 'ge.user_op': 'inc' } }, code: 'invalid_user_op', field: 'ge.user_op' },
  { name: 'track without event name', record: { attributes: { 'ge.client_id': 'bad', a: 1 } }, code: 'missing_event_name', field: 'ge.event_name' },
  { name: 'event name not fitting the key rule', record: track('bad', {}, 'order-paid'), code: 'invalid_event_name', field: 'event name' },
  { name: 'property key not fitting', record: track('bad', { 'bad key': 1 }), code: 'invalid_key', field: 'bad key' },
  { name: 'non-numeric increment', record: { body: { coins: 'many' }, attributes: { 'ge.client_id': 'bad', 'ge.user_op': 'increment' } }, code: 'invalid_operation_value', field: 'coins' },
  { name: 'non-numeric max', record: { body: { level: 'high' }, attributes: { 'ge.client_id': 'bad', 'ge.user_op': 'max' } }, code: 'invalid_operation_value', field: 'level' },
  { name: 'non-numeric min', record: { body: { latency: true }, attributes: { 'ge.client_id': 'bad', 'ge.user_op': 'min' } }, code: 'invalid_operation_value', field: 'latency' },
  { name: 'non-array append', record: { body: { tags: 'red' }, attributes: { 'ge.client_id': 'bad', 'ge.user_op': 'append' } }, code: 'invalid_operation_value', field: 'tags' },
  { name: 'non-array uniq_append', record: { body: { labels: 3 }, attributes: { 'ge.client_id': 'bad', 'ge.user_op': 'uniq_append' } }, code: 'invalid_operation_value', field: 'labels' },
  { name: 'NaN value', record: track('bad', { ratio: Number.NaN }), code: 'invalid_value', field: 'ratio' },
  { name: 'Infinity value', record: track('bad', { limit: Infinity }), code: 'invalid_value', field: 'limit' },
  { name: 'Uint8Array value', record: track('bad', { blob: new Uint8Array([1]) }), code: 'invalid_value', field: 'blob' },
  { name: 'non-boolean ge.time_free', record: track('bad', { 'ge.time_free': 'yes' }), code: 'invalid_ge_attribute', field: 'ge.time_free' },
  { name: 'non-string ge.client_ip', record: track('bad', { 'ge.client_ip': 1234 }), code: 'invalid_ge_attribute', field: 'ge.client_ip' },
  { name: 'ge.clientid typo alone', record: { eventName: 'e', attributes: { 'ge.clientid': 'bad' } }, code: 'unknown_ge_attribute', field: 'ge.clientid' },
  { name: 'ge.user_opp typo', record: { body: { plan: 'pro' }, attributes: { 'ge.client_id': 'bad', 'ge.user_opp': 'set' } }, code: 'unknown_ge_attribute', field: 'ge.user_opp' },
  { name: 'ge.event typo', record: { attributes: { 'ge.client_id': 'bad', 'ge.event': 'purchase' } }, code: 'unknown_ge_attribute', field: 'ge.event' },
  {
    name: 'body whose getter throws',
    record: {
      eventName: 'e',
      body: Object.defineProperty({}, 'total', { enumerable: true, get: () => { throw new Error('getter threw'); } }) as LogRecord['body'],
      attributes: { 'ge.client_id': 'bad' },
    },
    code: 'invalid_value',
    field: 'record',
  },
  {
    name: 'nested NaN',
    record: { eventName: 'e', body: { order: { price: Number.NaN } }, attributes: { 'ge.client_id': 'bad' } },
    code: 'invalid_value',
    field: 'order.price',
  },
];

describe('GravityLogRecordExporter: rejections are isolated, reported and counted', () => {
  test('a batch with valid records and one of each rejection kind delivers every valid record and counts each rejection by reason', async () => {
    const capture = diagCapture();
    const { logger, emulator, flush, exporter } = await harnessFor();
    logger.emit(track('good-1', { n: 1 }));
    for (const kind of REJECTION_KINDS) logger.emit(kind.record);
    logger.emit({ body: { plan: 'pro' }, attributes: { 'ge.client_id': 'good-2', 'ge.user_op': 'set' } });
    logger.emit(track('good-1', { n: 2 }));
    await flush();

    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event]).sort(),
      [
        ['good-1', 'purchase'],
        ['good-1', 'purchase'],
        ['good-2', 'profile_set'],
      ],
    );
    const expectedByReason: Record<string, number> = {};
    for (const kind of REJECTION_KINDS) expectedByReason[kind.code] = (expectedByReason[kind.code] ?? 0) + 1;
    const stats = exporter.getStats();
    assert.equal(stats.rejected, REJECTION_KINDS.length);
    assert.deepEqual(stats.rejectedByReason, expectedByReason);
    assert.equal(stats.sent, 3);
    const warnings = capture.at('warn').filter((line) => line.includes('rejected'));
    assert.equal(warnings.length, 1, capture.all());
    assert.match(warnings[0]!, new RegExp(`${REJECTION_KINDS.length} of ${REJECTION_KINDS.length + 3} records rejected`));
  });

  test('that batch warning names each rejected field', async () => {
    const capture = diagCapture();
    const { logger, flush } = await harnessFor();
    for (const kind of REJECTION_KINDS) logger.emit(kind.record);
    logger.emit(track('good-1'));
    await flush();
    const text = capture.at('warn').join('\n');
    for (const kind of REJECTION_KINDS) assert.ok(text.includes(`${kind.field}: `), `warning names ${kind.field}`);
  });

  for (const kind of REJECTION_KINDS) {
    test(`rejects a ${kind.name} alone, warning with the field ${kind.field} and counting ${kind.code}`, async () => {
      const capture = diagCapture();
      const exporter = new GravityLogRecordExporter({ url: 'http://127.0.0.1:9/', accessToken: TEST_ACCESS_TOKEN });
      cleanups.push(() => exporter.shutdown());
      const { result } = await exportOnce(exporter, [createTestLogRecord(kind.record)]);
      assert.equal(result.code, ExportResultCode.SUCCESS);
      const warnings = capture.at('warn');
      assert.equal(warnings.length, 1, capture.all());
      assert.ok(warnings[0]!.includes(`${kind.field}: `), warnings[0]);
      assert.deepEqual(exporter.getStats().rejectedByReason, { [kind.code]: 1 });
      assert.equal(exporter.getStats().requests, 0);
    });
  }
});

describe('GravityLogRecordExporter: export results', () => {
  async function exporterFor(emulatorOptions: Parameters<typeof startEmulator>[0] = {}, options: GravityExporterOptions = {}) {
    const emulator = await startEmulator(emulatorOptions);
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: TEST_ACCESS_TOKEN, ...NO_RETRY, ...options });
    cleanups.push(async () => {
      await exporter.shutdown();
      await emulator.close();
    });
    return { emulator, exporter };
  }

  async function exportAndSettle(exporter: GravityLogRecordExporter, records = [createTrackRecord('c1')]) {
    const observation = await exportOnce(exporter, records);
    await exporter.forceFlush();
    assert.equal(observation.results.length, 1, 'exactly one result callback');
    return observation.result;
  }

  test('HTTP 200 with code 0 is SUCCESS', async () => {
    const { exporter, emulator } = await exporterFor();
    const result = await exportAndSettle(exporter, [createTrackRecord('c1'), createTrackRecord('c2')]);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(emulator.events().length, 2);
    assert.equal(exporter.getStats().sent, 2);
  });

  test('HTTP 200 with code 1 is FAILED with an error naming code, msg and extra', async () => {
    const { exporter } = await exporterFor();
    // Batch mode does not check the service's time window; the emulator does, and answers code 1.
    const old = createTrackRecord('c1', {}, { timestamp: Date.now() - 30 * 24 * 3600 * 1000 });
    const result = await exportAndSettle(exporter, [old]);
    assert.equal(result.code, ExportResultCode.FAILED);
    const message = result.error?.message ?? '';
    assert.match(message, /code 1\b/);
    assert.match(message, /invalid data/);
    assert.match(message, /errors/);
    assert.match(message, /1 of 1 records \(1 of 1 clients\)/);
    assert.equal(exporter.getStats().failed, 1);
  });

  test('code 2000 is FAILED with an error saying the client id was not initialised by a Gravity client SDK', async () => {
    const { exporter } = await exporterFor({ uninitialisedClients: ['c-new'] });
    const result = await exportAndSettle(exporter, [createTrackRecord('c-new')]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /code 2000/);
    assert.match(result.error?.message ?? '', /not been initialised by a Gravity client SDK/);
  });

  for (const status of [500, 429, 404]) {
    test(`HTTP ${status} is FAILED naming the status`, async () => {
      const { exporter, emulator } = await exporterFor();
      emulator.setRandomFaults({ rate: 1, faults: [{ kind: 'status', status }], seed: 1 });
      const result = await exportAndSettle(exporter);
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.match(result.error?.message ?? '', new RegExp(`HTTP ${status}\\b`));
    });
  }

  test('a refused connection is FAILED naming the error code', async () => {
    const { exporter, emulator } = await exporterFor();
    await emulator.setDown(true);
    const result = await exportAndSettle(exporter);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /ECONNREFUSED/);
  });

  test('a partial failure says how many records of how many clients failed', async () => {
    const { exporter } = await exporterFor({ uninitialisedClients: ['c-new'] });
    const result = await exportAndSettle(exporter, [createTrackRecord('c1'), createTrackRecord('c-new'), createTrackRecord('c1')]);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(result.error?.message ?? '', /1 of 3 records \(1 of 2 clients\)/);
    assert.equal(exporter.getStats().sent, 2);
  });

  test('an export of only ignored or rejected records is SUCCESS without a request', async () => {
    const { exporter, emulator } = await exporterFor();
    const result = await exportAndSettle(exporter, [createTestLogRecord({ body: 'plain' }), createTrackRecord('')]);
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(emulator.requests.length, 0);
    assert.equal((await exportAndSettle(exporter, [])).code, ExportResultCode.SUCCESS);
  });

  test('export after shutdown fails fast with GravityShutdownError, and shutdown is idempotent', async () => {
    const { exporter, emulator } = await exporterFor();
    await Promise.all([exporter.shutdown(), exporter.shutdown()]);
    await exporter.shutdown();
    const result = await exportAndSettle(exporter);
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.ok(result.error instanceof GravityShutdownError);
    assert.equal(emulator.requests.length, 0);
  });

  test('shutdown waits for exports in flight', async () => {
    const { exporter, emulator } = await exporterFor({ responseDelayMillis: 100 });
    const pending = exportOnce(exporter, [createTrackRecord('c1')]);
    await exporter.shutdown();
    assert.equal(emulator.events().length, 1);
    assert.equal((await pending).result.code, ExportResultCode.SUCCESS);
  });
});
