/**
 * Replay of batches read back from the durable spool: one attempt each (halves after a 413); never spooled
 * again; a batch whose client is not initialised yet (code 2000) waits in the background like a live one.
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

/** What one replay of spooled batches achieved. */
export interface ReplayReport {
  /** Records the service accepted. */
  readonly delivered: number;
  /** Records the service refused for good (reported and counted as failed; not to be replayed). */
  readonly refused: number;
  /** Batches that met a retryable failure and belong back in the spool. */
  readonly undelivered: RequestBatch[];
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

export async function replayBatches(
  deps: ReplayDependencies,
  batches: readonly RequestBatch[],
  deadlineMillis: number,
  signal: AbortSignal,
): Promise<ReplayReport> {
  const { stats, held, attempt } = deps;
  const log = deps.log ?? defaultLog;
  let delivered = 0;
  let refused = 0;
  const undelivered: RequestBatch[] = [];

  async function replayOne(batch: RequestBatch): Promise<void> {
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
    if (result === undefined || result.status === 'retryable') {
      undelivered.push(batch);
    } else if (result.status === 'success') {
      stats.sent += records;
      stats.replayed += records;
      delivered += records;
    } else if (result.error instanceof GravityClientNotInitialisedError && deps.park !== undefined) {
      // Its client is not initialised yet: it waits in the background like a live record (not acked as refused).
      const waiting: Unit = { clientId: batch.clientId, records, state: 'parked' };
      held.hold(waiting);
      deps.park(waiting, batch);
    } else {
      // Too large for the service (HTTP 413): its halves are replayed in order, as live requests are split.
      const halves = result.error instanceof GravityHttpError && result.error.status === 413 ? splitBatch(batch) : undefined;
      if (halves !== undefined) {
        stats.splitRequests += records;
        await replayOne(halves[0]);
        await replayOne(halves[1]);
        return;
      }
      stats.failed += records;
      refused += records;
      log.report(`spool_refused:${causeOf(result.error)}`, `${records} spooled records of client ${JSON.stringify(batch.clientId)} were refused: ${result.error.message}`);
    }
  }

  await Promise.all(batches.map(replayOne));
  return { delivered, refused, undelivered };
}
