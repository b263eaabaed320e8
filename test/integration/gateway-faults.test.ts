import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { AcceptedEvent, Emulator } from '../../src/emulator/index.js';
import { startGateway } from '../../src/gateway/index.js';
import type { GravityGateway, GravityGatewayOptions } from '../../src/gateway/index.js';
import { decodeStatus } from '../../src/gateway/otlp-protobuf.js';
import { grpcExport, postOtlp, protobufLogs, trackRecords } from '../helpers/otlp-raw.js';
import { logProvider, otlpLogExporter } from '../helpers/otlp-senders.js';

const TOKEN = 'gateway-faults-token';

/** `client/seq` of each accepted record. */
function keys(events: readonly AcceptedEvent[]): string[] {
  return events.map((e) => `${e.client_id}/${String(e.properties['seq'])}`);
}

async function until(condition: () => boolean, what: string, timeoutMillis = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('gateway: faults end in retries by the sender, never in loss or duplicates', () => {
  let emulator: Emulator;
  let gateway: GravityGateway;

  async function start(options: GravityGatewayOptions = {}): Promise<void> {
    gateway = await startGateway(
      {
        url: emulator.url,
        accessToken: TOKEN,
        httpEndpoint: '127.0.0.1:0',
        grpcEndpoint: '127.0.0.1:0',
        // A short deadline and backoff keep the test fast; the behaviour is the same at the defaults.
        exportDeadlineMillis: 400,
        retry: { initialBackoffMillis: 50, maxBackoffMillis: 100 },
        ...options,
      },
      {},
    );
  }

  before(async () => {
    emulator = await startEmulator({ accessToken: TOKEN, uninitialisedClients: ['late-user'] });
  });
  afterEach(async () => {
    await gateway.close();
    emulator.clear();
  });
  after(() => emulator.close());

  it('Gravity down: retryable answers, then the OTel exporter\'s own retries deliver everything once it is back, each record once', async () => {
    await start();
    await emulator.setDown(true);
    const provider = logProvider(otlpLogExporter('http/protobuf', gateway, { timeoutMillis: 20_000 }));
    const logger = provider.getLogger('shop');
    for (let seq = 0; seq < 60; seq++) logger.emit({ eventName: 'tap', attributes: { 'ge.client_id': `user-${seq % 6}`, seq } });
    const flushed = provider.forceFlush();
    await until(() => (gateway.getStats().requests['logs|http|unavailable'] ?? 0) >= 1, 'a retryable answer');
    // Meanwhile other senders are answered at once (one probe at a time waits out the deadline), over gRPC too.
    const grpc = await grpcExport(gateway.grpcAddress!, 'logs', protobufLogs(trackRecords(2, 'grpc-sender')));
    assert.equal(grpc.code, 14);
    const status = decodeStatus(grpc.statusDetails!);
    assert.equal(status.retryDelayMillis, 2_000);
    assert.match(status.message, /Gravity has been unreachable for \d+ s \(client "user-\d": network error ECONNREFUSED/);
    await emulator.setDown(false);
    await flushed;
    await provider.shutdown();

    const delivered = keys(emulator.events()).filter((key) => key.startsWith('user-'));
    assert.equal(delivered.length, 60);
    assert.equal(new Set(delivered).size, 60);
    const stats = gateway.getStats();
    assert.ok(stats.delivery.retried > 0, 'the gateway retried within its deadline before answering');
    assert.equal(stats.delivery.sent, 60);
  });

  it('close() past drainTimeoutMillis hands the request in progress back with a retryable answer and returns', async () => {
    await start({ exportDeadlineMillis: 10_000, drainTimeoutMillis: 300 });
    emulator.enqueueFaults({ kind: 'hang' });
    const inProgress = postOtlp(`${gateway.httpUrl}/v1/logs`, protobufLogs(trackRecords(3, 'stuck')));
    await emulator.waitForRequests(1);
    const startedAt = Date.now();
    await gateway.close();
    const answer = await inProgress;
    assert.ok(Date.now() - startedAt < 5_000, `closed in ${Date.now() - startedAt} ms`);
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '1');
    assert.match(decodeStatus(answer.body).message, /shut down before these records were delivered/);
    assert.equal(gateway.isReady(), false);
  });

  it('a partly delivered request: the sender\'s retry sends only the client that was not delivered yet', async () => {
    await start();
    const provider = logProvider(otlpLogExporter('http/protobuf', gateway, { timeoutMillis: 20_000 }));
    const logger = provider.getLogger('shop');
    for (let seq = 0; seq < 9; seq++) {
      logger.emit({ eventName: 'tap', attributes: { 'ge.client_id': ['user-a', 'late-user', 'user-b'][seq % 3]!, seq } });
    }
    const flushed = provider.forceFlush();
    // Gravity answers code 2000 for late-user until its client SDK initialises it.
    await until(() => (gateway.getStats().requests['logs|http|unavailable'] ?? 0) >= 1, 'a retryable answer');
    emulator.initialiseClient('late-user');
    await flushed;
    await provider.shutdown();

    const delivered = keys(emulator.events());
    assert.equal(delivered.length, 9);
    assert.equal(new Set(delivered).size, 9);
    assert.equal(gateway.getStats().duplicateRecords, 6, 'the retry left out the 6 records already delivered');
  });

  it('the memory cap reached: senders are told to retry (429) and every record arrives once', async () => {
    await start({ maxBufferedRecords: 20 });
    emulator.setResponseDelay(300);
    const providers = [0, 1, 2].map(() => logProvider(otlpLogExporter('http/protobuf', gateway, { timeoutMillis: 20_000 })));
    providers.forEach((provider, sender) => {
      const logger = provider.getLogger('shop');
      for (let seq = 0; seq < 15; seq++) logger.emit({ eventName: 'tap', attributes: { 'ge.client_id': `sender-${sender}`, seq } });
    });
    await Promise.all(providers.map((provider) => provider.forceFlush()));
    await Promise.all(providers.map((provider) => provider.shutdown()));
    emulator.setResponseDelay(0);

    assert.ok((gateway.getStats().requests['logs|http|throttled'] ?? 0) >= 1, 'some request found the cap reached');
    const delivered = keys(emulator.events());
    assert.equal(delivered.length, 45);
    assert.equal(new Set(delivered).size, 45);
    assert.equal(gateway.getStats().delivery.dropped, 0);
  });
});
