/**
 * Replay of one request batch read back from the durable spool: one attempt (halves after a 413, the first
 * before the second); never spooled again; a batch whose client is not initialised yet (code 2000) waits in the
 * background like a live one. The spool drainer sends a client's batches one after another with this.
 */
import { splitBatch } from '../batching/request-batch.js';
import type { RequestBatch } from '../batching/request-batch.js';
import { createLogger } from '../common/diag.js';
import type { GravityLogger } from '../common/diag.js';
import { causeOf, GravityClientNotInitialisedError, GravityHttpError } from '../common/errors.js';
import type { StatsRecorder } from '../observability/stats.js';
import type { RetriedSendResult } from '../transport/retrying-transport.js';
import { abortUnit } from './units.js';
import type { HeldUnits, Unit } from './units.js';

/** What the replay of one batch achieved. */
export interface ReplayResult {
  /**
   * How many of the batch's records, from its start, are settled: accepted, refused for good (reported and
   * counted as failed), or handed to the wait for client initialisation. The rest met a retryable failure.
   */
  readonly settled: number;
  /** Of those, the records the service accepted. */
  readonly delivered: number;
  /** Whether the records after `settled` met a retryable failure (they stay in the spool, in order). */
  readonly retryable: boolean;
}

export interface ReplayDependencies {
  readonly stats: StatsRecorder;
  readonly held: HeldUnits;
  readonly attempt: (unit: Unit, batch: RequestBatch, deadlineMillis: number, maxAttempts: number) => Promise<RetriedSendResult>;
  /**
   * Hands a held unit answered with code 2000 to the background wait for client initialisation (as live
   * records are; back to the spool if that ends retryably); `undefined` when `clientInitWaitMillis` is 0.
   */
  readonly park: ((unit: Unit, batch: RequestBatch) => void) | undefined;
  /** Where refusals are reported. @default a `delivery` logger with the default sink */
  readonly log?: GravityLogger;
}

const defaultLog = createLogger('delivery');

export async function replayBatch(
  deps: ReplayDependencies,
  batch: RequestBatch,
  deadlineMillis: number,
  signal: AbortSignal,
): Promise<ReplayResult> {
  const { stats, held, attempt } = deps;
  const records = batch.eventJson.length;
  // 'sending' from the start: the memory cap never abandons a replay (the spool still has its records).
  const unit: Unit = { clientId: batch.clientId, records, state: 'sending' };
  const onAbort = (): void => abortUnit(unit, signal.reason as Error);
  signal.addEventListener('abort', onAbort, { once: true });
  held.hold(unit);
  let result: RetriedSendResult | undefined;
  try {
    result = await attempt(unit, batch, deadlineMillis, 1);
  } catch {
    result = undefined;
  } finally {
    signal.removeEventListener('abort', onAbort);
    held.release(unit);
  }
  if (result === undefined || result.status === 'retryable') return { settled: 0, delivered: 0, retryable: true };
  if (result.status === 'success') {
    stats.sent += records;
    stats.replayed += records;
    return { settled: records, delivered: records, retryable: false };
  }
  if (result.error instanceof GravityClientNotInitialisedError && deps.park !== undefined) {
    // Its client is not initialised yet: it waits in the background like a live record (not acked as refused).
    const waiting: Unit = { clientId: batch.clientId, records, state: 'parked' };
    held.hold(waiting);
    deps.park(waiting, batch);
    return { settled: records, delivered: 0, retryable: false };
  }
  // Too large for the service (HTTP 413): its halves are replayed in order, as live requests are split.
  const halves = result.error instanceof GravityHttpError && result.error.status === 413 ? splitBatch(batch) : undefined;
  if (halves !== undefined) {
    stats.splitRequests += records;
    const first = await replayBatch(deps, halves[0], deadlineMillis, signal);
    if (first.retryable) return first;
    const second = await replayBatch(deps, halves[1], deadlineMillis, signal);
    return { settled: first.settled + second.settled, delivered: first.delivered + second.delivered, retryable: second.retryable };
  }
  stats.failed += records;
  (deps.log ?? defaultLog).report(
    `spool_refused:${causeOf(result.error)}`,
    `${records} spooled records of client ${JSON.stringify(batch.clientId)} were refused: ${result.error.message}`,
  );
  return { settled: records, delivered: 0, retryable: false };
}
