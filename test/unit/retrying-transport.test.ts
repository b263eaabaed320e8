import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GravityHttpError, GravityNetworkError, GravityRejectedError } from '../../src/common/errors.js';
import { createRetryingTransport } from '../../src/transport/retrying-transport.js';
import type { RetryPolicy, SleepFunction } from '../../src/transport/retrying-transport.js';
import type { SendRequest, SendResult, Transport } from '../../src/transport/types.js';

/** A virtual clock: `sleep` advances it instantly and records each delay. */
function createClock(startMillis = 1_000_000): { now: () => number; sleep: SleepFunction; delays: number[] } {
  let current = startMillis;
  const delays: number[] = [];
  return {
    now: () => current,
    delays,
    sleep: async (millis, signal) => {
      delays.push(millis);
      if (signal?.aborted !== true) current += millis;
    },
  };
}

/** A scripted one-attempt transport (the retry decorator's input, not HTTP): answers in order, records requests. */
function scriptedTransport(answers: SendResult[], onSend?: (request: SendRequest) => void): Transport & { requests: SendRequest[] } {
  const requests: SendRequest[] = [];
  return {
    requests,
    send: async (request) => {
      requests.push(request);
      onSend?.(request);
      const answer = answers.shift();
      assert.ok(answer !== undefined, 'more attempts than scripted');
      return answer;
    },
    close: async () => undefined,
  };
}

const ok: SendResult = { status: 'success', response: { code: 0, msg: 'ok' } };
const unavailable = (retryInMillis?: number): SendResult =>
  retryInMillis === undefined
    ? { status: 'retryable', error: new GravityHttpError(503, '') }
    : { status: 'retryable', error: new GravityHttpError(503, '', retryInMillis), retryInMillis };
const reset: SendResult = { status: 'retryable', error: new GravityNetworkError('socket hang up', 'UND_ERR_SOCKET') };

function policy(clock: ReturnType<typeof createClock>, overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    maxAttempts: 10,
    initialBackoffMillis: 100,
    maxBackoffMillis: 1_000,
    backoffMultiplier: 2,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0.999_999,
    ...overrides,
  };
}

const body = { body: Buffer.from('{}'), compressed: false, recordCount: 1 };

describe('createRetryingTransport', () => {
  it('retries network errors and 5xx with capped exponential backoff, then succeeds', async () => {
    const clock = createClock();
    const inner = scriptedTransport([reset, unavailable(), unavailable(), unavailable(), unavailable(), ok]);
    const result = await createRetryingTransport(inner, policy(clock)).send({ ...body, deadlineMillis: clock.now() + 60_000 });
    assert.equal(result.status, 'success');
    assert.equal(result.attempts, 6);
    // random() ≈ 1: each delay is its bound, 100 · 2^n capped at 1000
    assert.deepEqual(clock.delays, [99, 199, 399, 799, 999]);
  });

  it('spreads each backoff uniformly below its bound (full jitter)', async () => {
    const clock = createClock();
    const inner = scriptedTransport([unavailable(), unavailable(), ok]);
    const retrying = createRetryingTransport(inner, policy(clock, { random: () => 0.5 }));
    await retrying.send({ ...body, deadlineMillis: clock.now() + 60_000 });
    assert.deepEqual(clock.delays, [50, 100]);
  });

  it('waits what Retry-After says instead of its own backoff', async () => {
    const clock = createClock();
    const inner = scriptedTransport([unavailable(3_000), ok]);
    const result = await createRetryingTransport(inner, policy(clock)).send({ ...body, deadlineMillis: clock.now() + 60_000 });
    assert.equal(result.status, 'success');
    assert.deepEqual(clock.delays, [3_000]);
  });

  it('backs off as usual when Retry-After is 0 or a date already past (no tight loop)', async () => {
    const clock = createClock();
    const inner = scriptedTransport([unavailable(0), unavailable(0), ok]);
    const result = await createRetryingTransport(inner, policy(clock)).send({ ...body, deadlineMillis: clock.now() + 60_000 });
    assert.equal(result.status, 'success');
    assert.deepEqual(clock.delays, [99, 199]);
  });

  it('gives up at once when Retry-After ends past the deadline', async () => {
    const clock = createClock();
    const inner = scriptedTransport([unavailable(30_000)]);
    const result = await createRetryingTransport(inner, policy(clock)).send({ ...body, deadlineMillis: clock.now() + 25_000 });
    assert.equal(result.status, 'retryable');
    assert.equal(result.status === 'retryable' && result.gaveUp, 'deadline');
    assert.equal(inner.requests.length, 1);
    assert.deepEqual(clock.delays, []);
  });

  it('stops retrying when the shared deadline is reached', async () => {
    const clock = createClock();
    const inner = scriptedTransport(Array.from({ length: 20 }, () => unavailable()));
    const retrying = createRetryingTransport(inner, policy(clock, { maxBackoffMillis: 1_000, maxAttempts: 100 }));
    const result = await retrying.send({ ...body, deadlineMillis: clock.now() + 3_000 });
    assert.equal(result.status === 'retryable' && result.gaveUp, 'deadline');
    assert.ok(clock.delays.reduce((a, b) => a + b, 0) < 3_000);
  });

  it('cuts each attempt timeout to what is left of the deadline', async () => {
    const clock = createClock();
    const inner = scriptedTransport([unavailable(4_000), ok]);
    await createRetryingTransport(inner, policy(clock)).send({ ...body, deadlineMillis: clock.now() + 5_000 });
    assert.deepEqual(
      inner.requests.map((r) => r.timeoutMillis),
      [5_000, 1_000],
    );
  });

  it('never retries a refusal (non-zero code): exactly one attempt', async () => {
    const clock = createClock();
    const inner = scriptedTransport([{ status: 'failure', error: new GravityRejectedError(1, 'invalid data', {}) }]);
    const result = await createRetryingTransport(inner, policy(clock)).send({ ...body, deadlineMillis: clock.now() + 60_000 });
    assert.equal(result.status, 'failure');
    assert.equal(result.attempts, 1);
  });

  it('stops after maxAttempts', async () => {
    const clock = createClock();
    const inner = scriptedTransport([reset, reset, reset]);
    const result = await createRetryingTransport(inner, policy(clock, { maxAttempts: 3 })).send({ ...body, deadlineMillis: clock.now() + 60_000 });
    assert.equal(result.status === 'retryable' && result.gaveUp, 'attempts');
    assert.equal(inner.requests.length, 3);
  });

  it('reports an abort during a backoff without another attempt', async () => {
    const clock = createClock();
    const controller = new AbortController();
    const inner = scriptedTransport([unavailable(), ok], () => controller.abort());
    const result = await createRetryingTransport(inner, policy(clock)).send({ ...body, signal: controller.signal, deadlineMillis: clock.now() + 60_000 });
    assert.equal(result.status === 'retryable' && result.gaveUp, 'aborted');
    assert.equal(inner.requests.length, 1);
  });

  it('tells the caller about every retry with its delay', async () => {
    const clock = createClock();
    const inner = scriptedTransport([reset, unavailable(700), ok]);
    const notices: number[] = [];
    await createRetryingTransport(inner, policy(clock)).send({
      ...body,
      deadlineMillis: clock.now() + 60_000,
      onRetry: (notice) => notices.push(notice.delayMillis),
    });
    assert.deepEqual(notices, [99, 700]);
  });

  it('goes on from attempts the caller made itself: their count and the last result, as if it had made them', async () => {
    const clock = createClock();
    const inner = scriptedTransport([unavailable(), ok]);
    const notices: number[] = [];
    const result = await createRetryingTransport(inner, policy(clock)).send({
      ...body,
      deadlineMillis: clock.now() + 60_000,
      made: { attempts: 1, result: reset },
      onRetry: (notice) => notices.push(notice.retry),
    });
    assert.equal(result.status, 'success');
    assert.equal(result.attempts, 3);
    assert.equal(inner.requests.length, 2);
    assert.deepEqual(clock.delays, [99, 199]);
    assert.deepEqual(notices, [1, 2]);
  });

  it('makes no attempt when the caller\'s own attempts used them all, or its result was final', async () => {
    const clock = createClock();
    const inner = scriptedTransport([]);
    const retrying = createRetryingTransport(inner, policy(clock, { maxAttempts: 2 }));
    const spent = await retrying.send({ ...body, deadlineMillis: clock.now() + 60_000, made: { attempts: 2, result: reset } });
    assert.equal(spent.status === 'retryable' && spent.gaveUp, 'attempts');
    const refused = await retrying.send({
      ...body,
      deadlineMillis: clock.now() + 60_000,
      made: { attempts: 1, result: { status: 'failure', error: new GravityRejectedError(1, 'invalid data', {}) } },
    });
    assert.equal(refused.status, 'failure');
    assert.equal(refused.attempts, 1);
    assert.equal(inner.requests.length, 0);
  });
});
