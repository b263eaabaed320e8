/**
 * The retry decorator around the one-attempt transport: network errors, 408, 429
 * and 5xx are retried with capped exponential backoff and full jitter, `Retry-After` is honoured, and all
 * attempts share one deadline. Failures (other 4xx, a non-zero `code`) are returned at once: the service
 * processed those requests, so sending them again could only duplicate or repeat a refusal.
 */
import { GravityExportError, GravityShutdownError } from '../common/errors.js';
import { computeBackoffMillis } from './retry-policy.js';
import type { BackoffSchedule } from './retry-policy.js';
import type { SendRequest, SendResult } from './types.js';

/** Sleeps `millis`, or less when `signal` aborts. Never rejects. */
export type SleepFunction = (millis: number, signal?: AbortSignal) => Promise<void>;

/** How the retrying transport retries, and the clock it reads. */
export interface RetryPolicy extends BackoffSchedule {
  /** Most attempts per send, the first included. */
  readonly maxAttempts: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** @default a timer-based sleep with an unref'd timer */
  readonly sleep?: SleepFunction;
  /** A number in [0, 1) for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** One retried send: the request and the epoch-millisecond deadline all its attempts share. */
export interface RetryingSendRequest extends SendRequest {
  readonly deadlineMillis: number;
  /** Most attempts of this send, when fewer than the policy's `maxAttempts`. */
  readonly maxAttempts?: number;
  /** Told before each retry (after a retryable result), with the delay about to be waited. */
  readonly onRetry?: (retry: RetryNotice) => void;
  /**
   * Attempts the caller made already (counted against `maxAttempts`) and the last one's result: the send
   * goes on from there as if it had made them (delivery makes each batch's first attempt itself).
   */
  readonly made?: { readonly attempts: number; readonly result: SendResult };
}

export interface RetryNotice {
  /** 1 for the first retry. */
  readonly retry: number;
  readonly delayMillis: number;
  /** The result that caused the retry. */
  readonly result: SendResult & { readonly status: 'retryable' };
}

/** Why a retryable send stopped being retried. */
export type GiveUpReason = 'deadline' | 'attempts' | 'aborted';

/** The last attempt's result, with how many attempts were made and, for `retryable`, why retrying stopped. */
export type RetriedSendResult =
  | (SendResult & { readonly status: 'success' | 'failure'; readonly attempts: number })
  | (SendResult & { readonly status: 'retryable'; readonly attempts: number; readonly gaveUp: GiveUpReason });

export interface RetryingTransport<R extends RetryingSendRequest = RetryingSendRequest> {
  send(request: R): Promise<RetriedSendResult>;
  close(): Promise<void>;
}

/**
 * The one-attempt transport a retrying transport wraps. It is handed the caller's request (with whatever
 * fields the caller's type adds) and `timeoutMillis` cut to what is left of the deadline.
 */
export interface InnerTransport<R extends SendRequest> {
  send(request: R): Promise<SendResult>;
  close(): Promise<void>;
}

/** A sleep on an unref'd timer that ends early when `signal` aborts, so it never keeps a process alive. */
export const sleepUnref: SleepFunction = (millis, signal) =>
  new Promise<void>((resolve) => {
    if (millis <= 0 || signal?.aborted === true) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, millis);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });

// A function, not an inline check: TypeScript narrows `signal.aborted` to false across an await.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function abortedResult(attempts: number, signal: AbortSignal | undefined): RetriedSendResult {
  const reason: unknown = signal?.reason;
  const error = reason instanceof GravityExportError ? reason : new GravityShutdownError('the send was aborted');
  return { status: 'retryable', error, attempts, gaveUp: 'aborted' };
}

/**
 * Wraps `inner` (one attempt per call, never throws) with retries. Each attempt's timeout is cut to what is
 * left of the deadline; a `Retry-After` that ends past the deadline stops retrying at once (the caller decides
 * what happens to the records: report them, or spool them).
 */
export function createRetryingTransport<R extends RetryingSendRequest = RetryingSendRequest>(
  inner: InnerTransport<R>,
  policy: RetryPolicy,
): RetryingTransport<R> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? sleepUnref;
  const random = policy.random ?? Math.random;

  return {
    async send(request: R): Promise<RetriedSendResult> {
      const { deadlineMillis, onRetry, signal } = request;
      const maxAttempts = Math.min(policy.maxAttempts, request.maxAttempts ?? policy.maxAttempts);
      let attempts = request.made?.attempts ?? 0;
      let made = request.made?.result;
      let lastError: GravityExportError | undefined;
      for (;;) {
        let result: SendResult;
        if (made !== undefined) {
          result = made;
          made = undefined;
        } else {
          if (isAborted(signal)) return abortedResult(attempts, signal);
          const remainingMillis = deadlineMillis - now();
          if (remainingMillis <= 0) {
            const error = lastError ?? new GravityExportError('the delivery deadline passed before the first attempt', 'GRAVITY_DEADLINE_EXCEEDED');
            return { status: 'retryable', error, attempts, gaveUp: 'deadline' };
          }
          attempts++;
          result = await inner.send({ ...request, timeoutMillis: remainingMillis });
        }
        if (result.status !== 'success' && isAborted(signal)) return abortedResult(attempts, signal);
        if (result.status !== 'retryable') return { ...result, attempts };
        lastError = result.error;
        if (attempts >= maxAttempts) return { ...result, attempts, gaveUp: 'attempts' };
        // A Retry-After of 0 or in the past (a server clock behind ours) is no reason to retry at once: back off.
        const delayMillis =
          result.retryInMillis !== undefined && result.retryInMillis > 0 ? result.retryInMillis : computeBackoffMillis(attempts, policy, random);
        // Retry-After is the server's word: waiting less would be rude, waiting past the deadline is useless.
        if (now() + delayMillis >= deadlineMillis) return { ...result, attempts, gaveUp: 'deadline' };
        onRetry?.({ retry: attempts, delayMillis, result });
        await sleep(delayMillis, signal);
      }
    },
    close: () => inner.close(),
  };
}
