import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ExportResultCode } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { ExportResult } from '@opentelemetry/core';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { startGateway } from '../../src/gateway/index.js';
import type { GravityGateway } from '../../src/gateway/index.js';
import { decodeExportResponse, decodeStatus } from '../../src/gateway/otlp-protobuf.js';
import { grpcExport, jsonLogs, postOtlp, protobufLogs, trackRecords } from '../helpers/otlp-raw.js';
import { logProvider, otlpLogExporter } from '../helpers/otlp-senders.js';

const TOKEN = 'gateway-protocol-token';

/** A metric reader that collects only when asked. */
class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}
const BEARER = 'Bearer bearer-token-of-the-gateway';
const MAX_REQUEST_BYTES = 64 * 1024;
const CAP = 10;

describe('gateway: how OTLP requests are answered', () => {
  let emulator: Emulator;
  let gateway: GravityGateway;
  let logsUrl: string;
  const auth = { authorization: BEARER };

  before(async () => {
    emulator = await startEmulator({ accessToken: TOKEN });
    gateway = await startGateway(
      {
        url: emulator.url,
        accessToken: TOKEN,
        httpEndpoint: '127.0.0.1:0',
        grpcEndpoint: '127.0.0.1:0',
        authToken: BEARER.slice('Bearer '.length),
        maxRequestBytes: MAX_REQUEST_BYTES,
        maxBufferedRecords: CAP,
      },
      {},
    );
    logsUrl = `${gateway.httpUrl}/v1/logs`;
  });
  beforeEach(() => {
    emulator.clear();
    emulator.setResponseDelay(0);
  });
  after(async () => {
    await gateway.close();
    await emulator.close();
  });

  it('answers 200 in the encoding of the request once the records are delivered', async () => {
    const proto = await postOtlp(logsUrl, protobufLogs(trackRecords(3, 'p')), { headers: auth, gzip: true });
    assert.equal(proto.status, 200);
    assert.equal(proto.headers.get('content-type'), 'application/x-protobuf');
    assert.deepEqual(decodeExportResponse('logs', proto.body), { rejected: 0, errorMessage: '' });
    const json = await postOtlp(logsUrl, jsonLogs(trackRecords(2, 'j')), { headers: auth, contentType: 'application/json' });
    assert.equal(json.status, 200);
    assert.equal(json.headers.get('content-type'), 'application/json');
    assert.equal(json.body.toString(), '{}');
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.properties['seq']]),
      [['p-0', 0], ['p-0', 1], ['p-0', 2], ['j-0', 0], ['j-0', 1]],
    );
  });

  it('refuses a missing or wrong bearer token (401 / UNAUTHENTICATED); the OTel exporters with the right one get through', async () => {
    const missing = await postOtlp(logsUrl, protobufLogs(trackRecords(1)));
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.match(decodeStatus(missing.body).message, /bearer token/);
    const wrong = await postOtlp(logsUrl, protobufLogs(trackRecords(1)), { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const grpcWrong = await grpcExport(gateway.grpcAddress!, 'logs', protobufLogs(trackRecords(1)), 'Bearer nope');
    assert.equal(grpcWrong.code, 16);

    const results: ExportResult[] = [];
    for (const protocol of ['http/protobuf', 'grpc'] as const) {
      for (const authorization of ['Bearer nope', BEARER]) {
        const exporter = otlpLogExporter(protocol, gateway, { authorization });
        results.push(await new Promise<ExportResult>((resolve) => exporter.export(trackRecords(1, `${protocol}-${authorization.length}`), resolve)));
        await exporter.shutdown();
      }
    }
    assert.deepEqual(
      results.map((r) => r.code),
      [ExportResultCode.FAILED, ExportResultCode.SUCCESS, ExportResultCode.FAILED, ExportResultCode.SUCCESS],
    );
    assert.equal(emulator.events().length, 2);
    assert.equal(gateway.getStats().requests['logs|http|unauthenticated'], 3);
  });

  it('refuses a request over maxRequestBytes, compressed or not, with 413 / RESOURCE_EXHAUSTED and says why', async () => {
    const big = jsonLogs(trackRecords(400));
    assert.ok(big.length > MAX_REQUEST_BYTES);
    const plain = await postOtlp(logsUrl, big, { headers: auth, contentType: 'application/json' });
    assert.equal(plain.status, 413);
    assert.match(JSON.parse(plain.body.toString()).message, /larger than the gateway's limit of 65536 bytes \(maxRequestBytes\)/);
    // Small on the wire, too large once decompressed.
    const bomb = gzipSync(big);
    assert.ok(bomb.length < MAX_REQUEST_BYTES);
    const compressed = await postOtlp(logsUrl, bomb, { headers: { ...auth, 'content-encoding': 'gzip' }, contentType: 'application/json' });
    assert.equal(compressed.status, 413);
    const grpc = await grpcExport(gateway.grpcAddress!, 'logs', protobufLogs(trackRecords(2_000)), BEARER);
    assert.equal(grpc.code, 8);
    assert.match(grpc.details, /larger than max/);
    assert.equal(emulator.events().length, 0);
  });

  it('answers 400 to a malformed body (naming what is wrong), 415 to other content types, 405 to GET', async () => {
    const garbage = await postOtlp(logsUrl, Buffer.from([0x0a, 0xff, 0xff, 0xff]), { headers: auth });
    assert.equal(garbage.status, 400);
    assert.match(decodeStatus(garbage.body).message, /not a valid ExportLogsServiceRequest protobuf message/);
    const shape = await postOtlp(logsUrl, Buffer.from('{"resourceLogs":[{"scopeLogs":5}]}'), { headers: auth, contentType: 'application/json' });
    assert.equal(shape.status, 400);
    assert.match(JSON.parse(shape.body.toString()).message, /resourceLogs\[0\]\.scopeLogs: expected an array/);
    const text = await postOtlp(logsUrl, Buffer.from('hello'), { headers: auth, contentType: 'text/plain' });
    assert.equal(text.status, 415);
    assert.equal((await fetch(logsUrl)).status, 405);
    const grpc = await grpcExport(gateway.grpcAddress!, 'traces', Buffer.from([0x0a, 0xff, 0xff]), BEARER);
    assert.equal(grpc.code, 3);
  });

  it('at the memory cap answers 429 + Retry-After / RESOURCE_EXHAUSTED + RetryInfo, and takes the request once there is room', async () => {
    emulator.setResponseDelay(500);
    const first = postOtlp(logsUrl, protobufLogs(trackRecords(8, 'first')), { headers: auth });
    while (gateway.getStats().queued < 8) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = protobufLogs(trackRecords(8, 'second'));
    const refused = await postOtlp(logsUrl, second, { headers: auth });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(decodeStatus(refused.body).message, /holds 8 records in delivery \(cap 10\)/);
    const grpc = await grpcExport(gateway.grpcAddress!, 'logs', second, BEARER);
    assert.equal(grpc.code, 8);
    assert.deepEqual(decodeStatus(grpc.statusDetails!).retryDelayMillis, 1_000);
    assert.equal((await first).status, 200);
    assert.equal((await postOtlp(logsUrl, second, { headers: auth })).status, 200);
    const seen = emulator.events().map((e) => `${e.client_id}/${String(e.properties['seq'])}`);
    assert.equal(seen.length, 16);
    assert.equal(new Set(seen).size, 16);
  });

  it('answers a retry of an answered request again, without sending its records twice', async () => {
    const body = protobufLogs(trackRecords(4, 'again', 2));
    assert.equal((await postOtlp(logsUrl, body, { headers: auth })).status, 200);
    const before = gateway.getStats().duplicateRequests;
    const retry = await postOtlp(logsUrl, body, { headers: auth, gzip: true });
    assert.equal(retry.status, 200);
    assert.equal(emulator.events().length, 4);
    assert.equal(gateway.getStats().duplicateRequests, before + 1);
  });

  it('resource attributes reach track records only when allow-listed, below super properties and the record\'s own', async () => {
    const own = await startGateway(
      {
        url: emulator.url,
        accessToken: TOKEN,
        httpEndpoint: '127.0.0.1:0',
        grpcEndpoint: false,
        resourceAttributes: ['service.name', 'deployment.environment'],
        superProperties: { deployment_environment: 'from-super' },
      },
      {},
    );
    try {
      const provider = logProvider(otlpLogExporter('http/json', own));
      const logger = provider.getLogger('shop');
      logger.emit({ eventName: 'a', attributes: { 'ge.client_id': 'res' } });
      logger.emit({ eventName: 'b', attributes: { 'ge.client_id': 'res', service_name: 'own' } });
      logger.emit({ attributes: { 'ge.client_id': 'res', 'ge.user_op': 'set', plan: 'x' } });
      await provider.shutdown();
    } finally {
      await own.close();
    }
    assert.deepEqual(
      emulator.events().map((e) => [e.event, e.properties['service_name'], e.properties['deployment_environment']]),
      [
        ['a', 'shop', 'from-super'],
        ['b', 'own', 'from-super'],
        ['profile_set', undefined, undefined],
      ],
    );
  });

  it('ack spooled: answers once the records are in the spool (Gravity down), then delivers them from it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gravity-gateway-ack-'));
    const own = await startGateway(
      { url: emulator.url, accessToken: TOKEN, httpEndpoint: '127.0.0.1:0', grpcEndpoint: false, ack: 'spooled', spoolDir: dir },
      {},
    );
    try {
      while (!own.isReady()) await new Promise((resolve) => setTimeout(resolve, 10));
      await emulator.setDown(true);
      assert.equal((await postOtlp(`${own.httpUrl}/v1/logs`, protobufLogs(trackRecords(12, 'spooled', 3)))).status, 200);
      assert.equal(own.getStats().delivery.spooled, 12);
      await emulator.setDown(false);
      const delivered = await emulator.waitForEvents(12, 15_000);
      assert.deepEqual(new Set(delivered.map((e) => e.client_id)), new Set(['spooled-0', 'spooled-1', 'spooled-2']));
    } finally {
      await own.close();
      await emulator.setDown(false);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records its counters as OTel metrics on a meterProvider, the same numbers as getStats()', async () => {
    const reader = new PullReader();
    const own = await startGateway(
      { url: emulator.url, accessToken: TOKEN, httpEndpoint: '127.0.0.1:0', grpcEndpoint: false, meterProvider: new MeterProvider({ readers: [reader] }) },
      {},
    );
    try {
      const records = [...trackRecords(3, 'metered'), ...trackRecords(1, 'bad').map((r) => Object.assign(r, { attributes: { ...r.attributes, 'bad key': 1 } }))];
      assert.equal((await postOtlp(`${own.httpUrl}/v1/logs`, protobufLogs(records))).status, 200);
      const { resourceMetrics } = await reader.collect();
      const metrics = new Map(
        resourceMetrics.scopeMetrics
          .filter((scope) => scope.scope.name === 'gravity-otel-exporter/gateway')
          .flatMap((scope) => scope.metrics.map((m) => [m.descriptor.name, m.dataPoints.map((p) => [p.attributes, p.value])] as const)),
      );
      const stats = own.getStats();
      assert.deepEqual(metrics.get('gravity_gateway.records_sent'), [[{}, stats.delivery.sent]]);
      assert.equal(stats.delivery.sent, 3);
      assert.deepEqual(metrics.get('gravity_gateway.records_rejected'), [[{ reason: 'invalid_key' }, 1]]);
      assert.deepEqual(metrics.get('gravity_gateway.records_received'), [
        [{ signal: 'logs' }, 4],
        [{ signal: 'traces' }, 0],
      ]);
      assert.deepEqual(metrics.get('gravity_gateway.requests'), [[{ signal: 'logs', protocol: 'http', outcome: 'partial' }, 1]]);
      assert.deepEqual(metrics.get('gravity_gateway.records_queued'), [[{}, 0]]);
    } finally {
      await own.close();
    }
  });

  it('serves /healthz, /readyz and /metrics without a token', async () => {
    await postOtlp(logsUrl, protobufLogs(trackRecords(1, 'metrics')), { headers: auth });
    const health = await fetch(`${gateway.httpUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${gateway.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await fetch(`${gateway.httpUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    const sent = gateway.getStats().delivery.sent;
    assert.ok(text.includes(`gravity_gateway_records_sent_total ${sent}`), text);
    assert.match(text, /gravity_gateway_requests_total\{signal="logs",protocol="http",outcome="accepted"\} \d+/);
    assert.match(text, /gravity_gateway_requests_total\{signal="logs",protocol="http",outcome="unauthenticated"\} 3/);
    assert.match(text, /# TYPE gravity_gateway_records_queued gauge\ngravity_gateway_records_queued 0/);
    assert.match(text, /gravity_gateway_ready 1/);
  });
});
