/**
 * Shutdown's `abortAll` ends requests on the wire at once, first attempts included (they share one abort signal
 * rather than one per batch), and settles their records as dropped; batches still waiting for a connection
 * are settled without a request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestBatch } from '../../src/batching/request-batch.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { createDelivery } from '../../src/delivery/delivery.js';
import { GravityNetworkError } from '../../src/common/errors.js';
import { StatsRecorder } from '../../src/observability/stats.js';
import { sleepUnref } from '../../src/transport/retrying-transport.js';
import type { SendRequest, SendResult, Transport } from '../../src/transport/types.js';

function batch(clientId: string): RequestBatch {
  const eventJson = [JSON.stringify({ type: 'track', event: 'e', time: 1, properties: {} })];
  return { clientId, clientIp: undefined, clientUa: undefined, eventJson, bytes: eventJson[0]!.length };
}

describe('delivery abortAll', () => {
  it('aborts the requests on the wire and settles every batch as dropped, those waiting for a connection unsent', async () => {
    const requests: SendRequest[] = [];
    // Never answers: a send ends only when its signal aborts.
    const hanging: Transport = {
      send: (request) =>
        new Promise<SendResult>((resolve) => {
          requests.push(request);
          request.signal?.addEventListener('abort', () => resolve({ status: 'failure', error: new GravityNetworkError('request aborted', 'ABORTED') }), { once: true });
        }),
      close: () => Promise.resolve(),
    };
    const stats = new StatsRecorder();
    const delivery = createDelivery({
      config: resolveConfig({ url: 'http://127.0.0.1:9/', accessToken: 't', maxConcurrentRequests: 2 }, {}),
      transport: hanging,
      stats,
      now: Date.now,
      sleep: sleepUnref,
      random: Math.random,
      spool: undefined,
    });
    const job = delivery.open(Date.now() + 60_000);
    job.add(['a', 'b', 'c', 'd'].map(batch));
    const settled = job.seal();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(requests.length, 2, 'two connections: two requests on the wire, two batches waiting');
    assert.ok(requests.every((r) => r.signal !== undefined && !r.signal.aborted));

    const started = Date.now();
    delivery.abortAll();
    const outcomes = (await settled).flat();
    assert.ok(Date.now() - started < 1_000, `settled ${Date.now() - started} ms after abortAll`);
    assert.deepEqual(outcomes.map((s) => s.outcome).sort(), ['dropped', 'dropped', 'dropped', 'dropped']);
    assert.equal(requests.length, 2, 'no request for the batches that were waiting');
    assert.equal(stats.dropped, 4);
    assert.equal(delivery.pending(true).records, 0);
  });
});
