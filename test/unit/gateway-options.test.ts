import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GravityConfigurationError } from '../../src/common/errors.js';
import { describeRejected, isRefusedForGood, summariseSettled } from '../../src/gateway/answers.js';
import { parseListenAddress, resolveGatewayOptions } from '../../src/gateway/options.js';
import { RequestMemory } from '../../src/gateway/request-memory.js';
import { GravityClientNotInitialisedError, GravityExportError, GravityHttpError, GravityNetworkError, GravityRejectedError } from '../../src/common/errors.js';
import { captureDiag } from '../helpers/diag-capture.js';

describe('gateway options', () => {
  it('defaults: both receivers on loopback, ack delivered, an 8 s deadline and no waiting for client initialisation', () => {
    const resolved = resolveGatewayOptions({}, {});
    assert.deepEqual(resolved.http, { host: '127.0.0.1', port: 4318 });
    assert.deepEqual(resolved.grpc, { host: '127.0.0.1', port: 4317 });
    assert.equal(resolved.ack, 'delivered');
    assert.equal(resolved.maxRequestBytes, 20 * 1024 * 1024);
    assert.deepEqual(resolved.exporter, { exportDeadlineMillis: 8_000, clientInitWaitMillis: 0 });
  });

  it('reads the environment, code winning; a bad env value warns and falls back', () => {
    const env = {
      GE_GATEWAY_HTTP_ENDPOINT: '0.0.0.0:14318',
      GE_GATEWAY_GRPC_ENDPOINT: 'none',
      GE_GATEWAY_ACK: 'spooled',
      GE_SPOOL_DIR: '/tmp/x',
      GE_GATEWAY_RESOURCE_ATTRIBUTES: 'service.name, deployment.environment',
      GE_GATEWAY_MAX_REQUEST_BYTES: 'lots',
      GE_EXPORT_DEADLINE_MILLIS: '3000',
    };
    const diagnostics = captureDiag();
    try {
      const resolved = resolveGatewayOptions({ httpEndpoint: '[::1]:0' }, env);
      assert.deepEqual(resolved.http, { host: '::1', port: 0 });
      assert.equal(resolved.grpc, undefined);
      assert.equal(resolved.ack, 'spooled');
      assert.deepEqual(resolved.resourceAttributes, ['service.name', 'deployment.environment']);
      assert.equal(resolved.maxRequestBytes, 20 * 1024 * 1024);
      assert.equal(resolved.exporter.exportDeadlineMillis, undefined, 'the env deadline is left to the exporter config');
      assert.match(diagnostics.all(), /GE_GATEWAY_MAX_REQUEST_BYTES is invalid/);
    } finally {
      diagnostics.stop();
    }
  });

  it('throws for bad values in code and for settings that cannot work', () => {
    assert.throws(() => resolveGatewayOptions({ httpEndpoint: 'localhost' }, {}), /httpEndpoint is invalid, expected host:port/);
    assert.throws(() => resolveGatewayOptions({ ack: 'later' as never }, {}), /ack is invalid/);
    assert.throws(() => resolveGatewayOptions({ maxRequestBytes: 0 }, {}), RangeError);
    assert.throws(() => resolveGatewayOptions({ httpEndpoint: false, grpcEndpoint: false }, {}), GravityConfigurationError);
    assert.throws(() => resolveGatewayOptions({ ack: 'spooled' }, {}), /ack "spooled" needs a spool/);
  });

  it('parses listen addresses', () => {
    assert.deepEqual(parseListenAddress(':4318'), { host: '0.0.0.0', port: 4318 });
    assert.deepEqual(parseListenAddress('gateway.local:1'), { host: 'gateway.local', port: 1 });
    assert.equal(parseListenAddress('host:99999'), undefined);
    assert.equal(parseListenAddress('4318'), undefined);
  });
});

describe('gateway answers', () => {
  it('tells records refused for good (sent again, refused again) from those the sender should retry', () => {
    assert.equal(isRefusedForGood(new GravityRejectedError(1, 'bad data', {})), true);
    assert.equal(isRefusedForGood(new GravityHttpError(400, '')), true);
    assert.equal(isRefusedForGood(new GravityExportError('too big', 'GRAVITY_RECORD_TOO_LARGE')), true);
    assert.equal(isRefusedForGood(new GravityClientNotInitialisedError('', {})), false);
    assert.equal(isRefusedForGood(new GravityHttpError(503, '')), false);
    assert.equal(isRefusedForGood(new GravityHttpError(401, '')), false);
    assert.equal(isRefusedForGood(new GravityNetworkError('refused', 'ECONNREFUSED')), false);
  });

  it('summarises settled batches by client: delivered, refused for good, still pending (with Gravity\'s Retry-After)', () => {
    const outcome = summariseSettled([
      { outcome: 'sent', clientId: 'a', records: 2 },
      { outcome: 'failed', clientId: 'b', records: 1, error: new GravityRejectedError(5, 'no', {}) },
      { outcome: 'sent', clientId: 'c', records: 1 },
      { outcome: 'failed', clientId: 'c', records: 3, error: new GravityHttpError(503, '', 7_000) },
      { outcome: 'failed', clientId: 'd', records: 1, error: new GravityClientNotInitialisedError('', {}) },
    ]);
    assert.deepEqual([...outcome.settledClients].sort(), ['a', 'b']);
    assert.equal(outcome.refused.records, 1);
    assert.equal(outcome.retry, true);
    assert.equal(outcome.retryAfterMillis, 7_000);
    assert.equal(outcome.unreachable, true);
    assert.match(outcome.firstRetryCause ?? '', /^client "c": HTTP 503/);
  });

  it('describes rejections with counts and the first reasons', () => {
    const rejection = (field: string) => ({ ok: false as const, code: 'invalid_key' as const, field, reason: `${field}: bad` });
    const text = describeRejected('log records', Array.from({ length: 12 }, (_, i) => rejection(`k${i}`)), { records: 2, reasons: ['client "x": refused'] });
    assert.match(text, /^12 log records rejected by validation: k0: bad; .*k9: bad; and 2 more\. 2 log records refused by Gravity: client "x": refused$/);
  });
});

describe('gateway request memory', () => {
  it('forgets entries past the window or beyond its size, oldest first', () => {
    let now = 0;
    const memory = new RequestMemory<string>(1_000, 2, () => now);
    memory.set('a', { answer: 'A' });
    memory.set('b', { answer: 'B' });
    memory.set('c', { answer: 'C' });
    assert.equal(memory.get('a'), undefined);
    assert.equal(memory.get('b')?.answer, 'B');
    now = 1_000;
    assert.equal(memory.get('b'), undefined);
    assert.equal(memory.size, 1);
  });

  it('keys requests by signal and body', () => {
    const body = Buffer.from('same');
    assert.equal(RequestMemory.keyOf('logs', body), RequestMemory.keyOf('logs', Buffer.from('same')));
    assert.notEqual(RequestMemory.keyOf('logs', body), RequestMemory.keyOf('traces', body));
  });
});
