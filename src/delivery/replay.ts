/** Replay of batches read back from the durable spool: one attempt each; never spooled again, never parked. */
import type { RequestBatch } from '../batching.js';
import { createLogger } from '../diag.js';
import type { StatsRecorder } from '../stats.js';
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
}

const log = createLogger('delivery');

export async function replayBatches(
  deps: ReplayDependencies,
  batches: readonly RequestBatch[],
  deadlineMillis: number,
  signal: AbortSignal,
): Promise<ReplayReport> {
  const { stats, held, attempt } = deps;
  let delivered = 0;
  let refused = 0;
  const undelivered: RequestBatch[] = [];
  await Promise.all(
    batches.map(async (batch) => {
      const records = batch.eventJson.length;
      // 'sending' from the start: the memory cap never abandons a replay (the spool still has its records).
      const unit: Unit = { clientId: batch.clientId, records, state: 'sending' };
      const onAbort = (): void => abortUnit(unit, signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      held.hold(unit);
      try {
        const result = await attempt(unit, batch, deadlineMillis, 1);
        if (result.status === 'success') {
          stats.sent += records;
          stats.replayed += records;
          delivered += records;
        } else if (result.status === 'retryable') {
          undelivered.push(batch);
        } else {
          stats.failed += records;
          refused += records;
          log.warn(`${records} spooled records of client ${JSON.stringify(batch.clientId)} were refused: ${result.error.message}`);
        }
      } catch {
        undelivered.push(batch);
      } finally {
        signal.removeEventListener('abort', onAbort);
        held.release(unit);
      }
    }),
  );
  return { delivered, refused, undelivered };
}
