/**
 * Connects the export pipeline to the durable spool (src/spool, option `spoolDir`): undeliverable batches are
 * appended, and a background drainer replays spooled records oldest first when the endpoint answers again and
 * whenever a process using the directory starts (only the directory's owner drains). Its timers are unref'd
 * and it stops on `close()`, so it never keeps a process alive.
 */
import { setMaxListeners } from 'node:events';
import { groupIntoBatches, toSerialisedRecords } from '../pipeline/batching.js';
import type { BatchLimits, RequestBatch } from '../pipeline/batching.js';
import type { Delivery, SpoolSink } from './delivery.js';
import { createLogger } from '../observability/diag.js';
import { asError, GravityShutdownError } from '../common/errors.js';
import { openSpool } from '../spool/index.js';
import type { Spool } from '../spool/index.js';
import { sleepUnref } from '../transport/retrying-transport.js';

/** Records read from the spool per replay round. */
const REPLAY_RECORDS = 1_000;
/** How often an idle drainer looks for records (its own appends, or a dead owner's lock to take over). */
const IDLE_POLL_MILLIS = 1_000;

export interface SpoolDrainerOptions {
  readonly dir: string;
  readonly limits: BatchLimits;
  /** Deadline of one replay round. */
  readonly roundDeadlineMillis: number;
  readonly initialBackoffMillis: number;
  readonly maxBackoffMillis: number;
  readonly now: () => number;
  readonly random: () => number;
}

export interface SpoolDrainer {
  readonly sink: SpoolSink;
  /** Resolves `true` once the spool is open, `false` if it could not be opened. */
  readonly ready: Promise<boolean>;
  /** Starts draining with `delivery` (called once the pipeline exists). */
  start(delivery: Delivery): void;
  /** Records in the spool not yet delivered, as known to this process. */
  pendingRecords(): number;
  /** Stops the drainer (aborting its requests) and closes the spool. Idempotent. */
  close(): Promise<void>;
}

export function createSpoolDrainer(options: SpoolDrainerOptions): SpoolDrainer {
  const log = createLogger('spool');
  const stop = new AbortController();
  // One listener per request of a replay round.
  setMaxListeners(0, stop.signal);
  const opened: Promise<Spool | undefined> = openSpool({ dir: options.dir }).catch((error: unknown) => {
    log.warn(`spool ${options.dir} could not be opened (${asError(error).message}); undeliverable records will be reported as failed`);
    return undefined;
  });
  let spool: Spool | undefined;
  void opened.then((s) => (spool = s));
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  async function append(batch: RequestBatch): Promise<number> {
    const target = await opened;
    if (target === undefined) return 0;
    // Drops are reported by the spool (once per full episode, and each write error) and, as records not
    // written, by delivery in the export's result and counters: no third warning per append here.
    const { written } = await target.append(toSerialisedRecords(batch));
    return written;
  }

  async function drain(delivery: Delivery): Promise<void> {
    const target = await opened;
    if (target === undefined) return;
    let failures = 0;
    while (!stop.signal.aborted) {
      const batch = await target.readBatch(REPLAY_RECORDS).catch((error: unknown) => {
        log.warn(`reading the spool failed: ${asError(error).message}`);
        return undefined;
      });
      if (batch === undefined) {
        // Real timers even when tests inject a fast sleep: an idle poll must not spin.
        await sleepUnref(IDLE_POLL_MILLIS, stop.signal);
        continue;
      }
      const { batches, oversized } = groupIntoBatches(batch.records, options.limits);
      if (oversized.length > 0) log.warn(`${oversized.length} spooled records are over maxBatchBytes and were discarded`);
      const report = await delivery.replay(batches, options.now() + options.roundDeadlineMillis, stop.signal);
      if (report.undelivered.length === 0) {
        await batch.ack();
        failures = 0;
        continue;
      }
      if (report.delivered === 0 && report.refused === 0) {
        batch.release();
      } else {
        // Partly delivered: the rest goes back to the end of the spool before the batch is acked, so a crash in
        // between can only replay (never lose) records. If the spool could not take all of it back (its cap, a
        // full disk), the batch is released instead of acked: its delivered part may go out again
        // (at-least-once), but nothing leaves the spool undelivered.
        let undeliveredRecords = 0;
        let rewritten = 0;
        for (const undelivered of report.undelivered) {
          undeliveredRecords += undelivered.eventJson.length;
          rewritten += (await target.append(toSerialisedRecords(undelivered))).written;
        }
        if (rewritten < undeliveredRecords) batch.release();
        else await batch.ack();
      }
      failures++;
      const bound = Math.min(options.maxBackoffMillis, options.initialBackoffMillis * 2 ** (failures - 1));
      await sleepUnref(Math.max(IDLE_POLL_MILLIS / 10, Math.floor(options.random() * bound)), stop.signal);
    }
  }

  return {
    sink: { append },
    ready: opened.then((s) => s !== undefined),
    start(delivery) {
      loop ??= drain(delivery).catch((error: unknown) => log.error(`the spool drainer stopped: ${asError(error).message}`));
    },
    pendingRecords: () => spool?.pendingRecords() ?? 0,
    close() {
      closing ??= (async () => {
        stop.abort(new GravityShutdownError());
        await loop;
        await (await opened)?.close();
      })();
      return closing;
    },
  };
}
