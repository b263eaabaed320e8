/**
 * What delivery keeps alive while a request hangs: a client's later batches queue behind the hung one in the
 * client's lane, and those the memory cap drops must become garbage at once, not stay reachable from the
 * entry the stuck worker holds (that kept ~75 MB extra alive in the 60 s stalled-endpoint soak run).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RequestBatch } from '../../src/batching/request-batch.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { createDelivery } from '../../src/delivery/delivery.js';
import { GravityExportError } from '../../src/common/errors.js';
import { StatsRecorder } from '../../src/observability/stats.js';
import { sleepUnref } from '../../src/transport/retrying-transport.js';
import type { SendRequest, SendResult, Transport } from '../../src/transport/types.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** An endpoint that never answers: each send ends only when its signal aborts. */
const hangingTransport: Transport = {
  send: (request: SendRequest) =>
    new Promise<SendResult>((resolve) => {
      request.signal?.addEventListener('abort', () => resolve({ status: 'retryable', error: new GravityExportError('aborted', 'GRAVITY_SHUTDOWN') }), { once: true });
    }),
  close: () => Promise.resolve(),
};

function batch(clientId: string, records: number): RequestBatch {
  const eventJson = Array.from({ length: records }, (_, i) => JSON.stringify({ type: 'track', event: 'e', time: i, properties: { pad: 'x'.repeat(1_000) } }));
  return { clientId, clientIp: undefined, clientUa: undefined, eventJson, bytes: eventJson.reduce((n, json) => n + json.length + 1, 0) };
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('delivery retention behind a hung request', () => {
  it('batches the cap dropped from a client\'s lane are collectable while the lane\'s worker is stuck', async () => {
    const stats = new StatsRecorder();
    const delivery = createDelivery({
      config: resolveConfig({ url: 'http://127.0.0.1:9/', accessToken: 't', maxBufferedRecords: 10, maxConcurrentRequests: 1 }, {}),
      transport: hangingTransport,
      stats,
      now: Date.now,
      sleep: sleepUnref,
      random: Math.random,
      spool: undefined,
    });
    const deadline = Date.now() + 60_000;
    // Two batches of one client at once: the worker takes the first (it hangs), the second waits in the lane.
    const stuck = delivery.open(deadline);
    stuck.add([batch('client-1', 1), batch('client-1', 1)]);
    void stuck.seal();
    await settle();

    const dropped: Array<WeakRef<RequestBatch>> = [];
    for (let i = 0; i < 20; i++) {
      const job = delivery.open(deadline);
      const later = batch('client-1', 5);
      dropped.push(new WeakRef(later));
      job.add([later]);
      void job.seal();
      await settle();
    }
    await settle();
    gc();
    // The cap (10) holds the hung record and the newest batch; the waiting one and the 19 before it were dropped.
    assert.equal(stats.dropped, 1 + 19 * 5);
    const alive = dropped.slice(0, -1).filter((ref) => ref.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} dropped batches still reachable`);

    delivery.abortAll();
    await settle();
  });
});
