/**
 * Background waits for client initialisation (the service answers `code` 2000 while a client is not initialised yet): a parked batch is retried every
 * few seconds until its client exists, `clientInitWaitMillis` passes, or shutdown gives it one last attempt.
 * The export that carried it does not wait for this.
 */
import type { RequestBatch } from '../batching/request-batch.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { createLogger } from '../common/diag.js';
import { causeOf, GravityClientNotInitialisedError } from '../common/errors.js';
import type { StatsRecorder } from '../observability/stats.js';
import type { RetriedSendResult, SleepFunction } from '../transport/retrying-transport.js';
import { abandonReason, isAbandoned, signalOf } from './units.js';
import type { Unit } from './units.js';

/**
 * Client-initialisation waits retry after this long (or twice `retry.maxBackoffMillis` if less), doubling up to
 * the cap: a slower schedule than outages, since a person has to open the app (the 2023 JS client used 6 s).
 */
const CLIENT_INIT_FIRST_BACKOFF_MILLIS = 2_000;
const CLIENT_INIT_MAX_BACKOFF_MILLIS = 15_000;

/** What became of some records of a batch. `parked` = waiting in the background for client initialisation. */
export type Outcome = 'sent' | 'failed' | 'dropped' | 'spooled' | 'parked';

export interface Settled {
  readonly outcome: Outcome;
  readonly clientId: string;
  readonly records: number;
  readonly error?: Error;
}

export interface ParkingDependencies {
  readonly config: ResolvedConfig;
  readonly stats: StatsRecorder;
  readonly now: () => number;
  readonly sleep: SleepFunction;
  /** Most attempts of one delivery try (1 when a spool takes retryable failures). */
  readonly maxAttempts: number;
  readonly attempt: (unit: Unit, batch: RequestBatch, deadlineMillis: number, maxAttempts: number) => Promise<RetriedSendResult>;
  readonly toSpoolOr: (outcome: 'failed' | 'dropped', batch: RequestBatch, error: Error) => Promise<Settled>;
  /** Called once the parked unit is settled for good. */
  readonly release: (unit: Unit) => void;
  /** Called when a re-attempt leaves its unit parked again: an export waiting for room may stop waiting. */
  readonly reparked: () => void;
}

export interface Parking {
  park(unit: Unit, batch: RequestBatch): void;
  /**
   * Ends every wait early, each with one last attempt: those waiting now and, from now on, any batch parked
   * later (its request was in flight when shutdown began).
   */
  wakeAll(): void;
  /** Resolves when every background wait has ended, those that start meanwhile included. */
  idle(): Promise<void>;
}

export function createParking(deps: ParkingDependencies): Parking {
  const { config, stats, now, sleep, maxAttempts, attempt, toSpoolOr, release, reparked } = deps;
  const log = createLogger('delivery', config.diagnostics);
  const loops = new Set<Promise<void>>();
  /** The wake-up of each wait in progress. */
  const wakes = new Set<AbortController>();
  let wakingAll = false;

  async function waitForClient(unit: Unit, batch: RequestBatch, wake: AbortController): Promise<Settled> {
    const records = batch.eventJson.length;
    const untilMillis = now() + config.clientInitWaitMillis;
    let backoffMillis = Math.max(1, Math.min(CLIENT_INIT_FIRST_BACKOFF_MILLIS, 2 * config.retry.maxBackoffMillis));
    for (;;) {
      await sleep(Math.max(0, Math.min(backoffMillis, untilMillis - now())), AbortSignal.any([signalOf(unit), wake.signal]));
      const last = wake.signal.aborted || now() >= untilMillis;
      if (isAbandoned(unit)) return toSpoolOr('dropped', batch, abandonReason(unit));
      const result = await attempt(unit, batch, now() + config.exportDeadlineMillis, maxAttempts);
      unit.state = 'parked';
      reparked();
      if (result.status === 'success') {
        stats.sent += records;
        return { outcome: 'sent', clientId: batch.clientId, records };
      }
      const waitMore = result.status === 'failure' && result.error instanceof GravityClientNotInitialisedError && !last;
      if (waitMore) {
        backoffMillis = Math.min(backoffMillis * 2, Math.max(backoffMillis, CLIENT_INIT_MAX_BACKOFF_MILLIS));
        continue;
      }
      if (result.status === 'retryable') return toSpoolOr(result.gaveUp === 'aborted' ? 'dropped' : 'failed', batch, result.error);
      stats.failed += records;
      return { outcome: 'failed', clientId: batch.clientId, records, error: result.error };
    }
  }

  return {
    park(unit, batch) {
      const records = batch.eventJson.length;
      unit.state = 'parked';
      unit.parked = true;
      stats.waitingForClientInit += records;
      const wake = (unit.wake ??= new AbortController());
      if (wakingAll) wake.abort();
      wakes.add(wake);
      const loop = waitForClient(unit, batch, wake).then((settled) => {
        wakes.delete(wake);
        stats.waitingForClientInit -= records;
        release(unit);
        if (settled.outcome !== 'sent' && settled.outcome !== 'spooled') {
          log.report(
            `client_init_failed:${causeOf(settled.error)}`,
            `${records} records of client ${JSON.stringify(batch.clientId)} were not delivered after waiting for client initialisation: ${settled.error?.message ?? settled.outcome}`,
          );
        }
      });
      loops.add(loop);
      void loop.finally(() => loops.delete(loop));
    },

    wakeAll() {
      wakingAll = true;
      for (const wake of wakes) wake.abort();
    },

    async idle() {
      while (loops.size > 0) await Promise.all([...loops]);
    },
  };
}
