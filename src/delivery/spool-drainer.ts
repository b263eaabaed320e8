/**
 * Connects the export pipeline to the durable spool (src/spool, option `spoolDir`): undeliverable batches are
 * appended, and a background drainer (in the process that owns the directory) replays spooled records when
 * the endpoint answers again and whenever a process using the directory starts.
 *
 * Order per client: the drainer reads the spool oldest first into one lane per client and sends a client's
 * records one request after another, in the order they were spooled; a request that fails retryably blocks
 * only its own client, which backs off while the others go on (and the records after it wait behind it, in
 * memory, until it goes through). A client's records leave the spool only once all records read before them
 * are settled too (the cursor is a prefix), so after a crash a replay can repeat records (at least once), never
 * reorder or lose them. While a client still has records in the spool (written by this process, read and
 * not yet settled, or left by a process gone before this one started), `mustFollow` sends its new batches
 * after them into the spool instead of live.
 *
 * Its timers are unref'd and it stops on `close()`, so it never keeps a process alive.
 */
import { setMaxListeners } from 'node:events';
import { takeLeadingBatch, toSerialisedRecords } from '../batching/request-batch.js';
import type { BatchLimits, RequestBatch, SerialisedRecord } from '../batching/request-batch.js';
import type { Delivery, SpoolSink } from './delivery.js';
import { createLogger } from '../common/diag.js';
import type { GravityDiagnostics } from '../common/diag.js';
import { asError, GravityShutdownError } from '../common/errors.js';
import type { StatsRecorder } from '../observability/stats.js';
import { openSpool } from '../spool/index.js';
import type { Spool, SpoolBatch, SpoolPosition } from '../spool/index.js';

/** Records read from the spool at a time. */
const READ_RECORDS = 1_000;
/**
 * Most records read and not settled yet that the drainer holds in memory (reading stops above it), not counting
 * those of clients backing off on their own (their requests failed while others' went through): up to
 * MAX_HELD_RECORDS in all, so that one failing client at the front of the spool does not stop the others.
 */
const WINDOW_RECORDS = 10_000;
const MAX_HELD_RECORDS = 100_000;
/** How often an idle drainer looks for records (another process's appends, or a dead owner's lock to take over). */
const IDLE_POLL_MILLIS = 1_000;
/** Shortest wait before a retry. */
const MIN_BACKOFF_MILLIS = 100;
/** How often the record of what this process spooled per client is rid of clients whose records were all consumed. */
const PRUNE_INTERVAL_MILLIS = 10_000;

export interface SpoolDrainerOptions {
  readonly dir: string;
  readonly limits: BatchLimits;
  /** Deadline of one replayed request. */
  readonly requestDeadlineMillis: number;
  readonly initialBackoffMillis: number;
  readonly maxBackoffMillis: number;
  /** Most replay requests in flight at once. */
  readonly maxConcurrentRequests: number;
  readonly random: () => number;
  /** Where the spool's warnings go while no diag logger is registered. @default `GE_DIAGNOSTICS` */
  readonly diagnostics?: GravityDiagnostics;
  readonly stats: StatsRecorder;
}

export interface SpoolDrainer {
  readonly sink: SpoolSink;
  /** Resolves `true` once the spool is open, `false` if it could not be opened. */
  readonly ready: Promise<boolean>;
  /** Starts draining with `delivery` (called once the pipeline exists). */
  start(delivery: Delivery): void;
  /** Records in the spool not yet delivered, as known to this process. */
  pendingRecords(): number;
  /** Starts no more replays and reads no more records (shutdown began); replays in flight go on. */
  quiesce(): void;
  /** Ends the replays in flight at once (their records stay in the spool); the spool stays open for appends. */
  abortReplays(): void;
  /** Stops the drainer (aborting its requests) and closes the spool. Idempotent. */
  close(): Promise<void>;
}

/** One read from the spool: acked once every record of it is settled. */
interface Tracker {
  readonly batch: SpoolBatch;
  pending: number;
}

/** A spooled record waiting in its client's lane. */
interface Item extends SerialisedRecord {
  readonly tracker: Tracker;
}

/** One client's records read from the spool and not settled yet, in spool order. */
interface ReplayLane {
  readonly clientId: string;
  items: Item[];
  /** The first item not settled. */
  head: number;
  busy: boolean;
  /** Retryable failures in a row that were this client's own (others were being delivered meanwhile). */
  failures: number;
  retryAtMillis: number;
}

/** What this process spooled for a client: writes in progress, and where the last one ended. */
interface Spooled {
  writing: number;
  last: SpoolPosition | undefined;
}

export function createSpoolDrainer(options: SpoolDrainerOptions): SpoolDrainer {
  const log = createLogger('spool', options.diagnostics);
  const stop = new AbortController();
  // One listener per replay request in flight.
  setMaxListeners(0, stop.signal);
  let spool: Spool | undefined;
  let openSettled = false;
  const opened: Promise<Spool | undefined> = openSpool({ dir: options.dir, diagnostics: options.diagnostics })
    .catch((error: unknown) => {
      log.warn(`spool ${options.dir} could not be opened (${asError(error).message}); undeliverable records will be reported as failed`);
      return undefined;
    })
    .then((s) => {
      spool = s;
      openSettled = true;
      return s;
    });
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let quiescing = false;

  const spooled = new Map<string, Spooled>();
  const lanes = new Map<string, ReplayLane>();
  /** Lanes with records, not busy and not backing off, in the order they became so. */
  const ready = new Set<ReplayLane>();
  const blocked = new Set<ReplayLane>();
  let heldRecords = 0;
  /** Of `heldRecords`, those in blocked lanes. */
  let blockedRecords = 0;
  let active = 0;
  /** Retryable failures since the last success: above 0 the endpoint may be down, so one request probes it. */
  let failureStreak = 0;
  let probeAtMillis = 0;
  /** After a read found nothing, the next one waits for the idle poll, or for this owner's own appends. */
  let nextReadAtMillis = 0;
  let appendedSinceRead = false;
  let damagedLinesCounted = 0;

  // Wake-ups of the drain loop: a replay settled, this process spooled something, a backoff ended.
  let wakePending = false;
  let wakeWaiter: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timerDueMillis = Number.POSITIVE_INFINITY;

  function wake(): void {
    wakePending = true;
    const waiter = wakeWaiter;
    wakeWaiter = undefined;
    waiter?.();
  }

  function sleepUntilWoken(millis: number): Promise<void> {
    if (wakePending) {
      wakePending = false;
      return Promise.resolve();
    }
    const dueMillis = Date.now() + millis;
    if (dueMillis < timerDueMillis) {
      clearTimeout(timer);
      timerDueMillis = dueMillis;
      timer = setTimeout(() => {
        timer = undefined;
        timerDueMillis = Number.POSITIVE_INFINITY;
        wake();
      }, Math.max(0, millis));
      timer.unref();
    }
    return new Promise<void>((resolve) => {
      wakeWaiter = () => {
        wakePending = false;
        resolve();
      };
    });
  }

  function backoffMillis(failures: number): number {
    const bound = Math.min(options.maxBackoffMillis, options.initialBackoffMillis * 2 ** Math.min(failures - 1, 30));
    return Math.max(MIN_BACKOFF_MILLIS, Math.floor(options.random() * bound));
  }

  async function append(batch: RequestBatch): Promise<number> {
    // Counted before the first await: a batch of this client decided on meanwhile follows this one.
    let entry = spooled.get(batch.clientId);
    if (entry === undefined) spooled.set(batch.clientId, (entry = { writing: 0, last: undefined }));
    entry.writing++;
    try {
      const target = await opened;
      if (target === undefined) return 0;
      // Drops are reported by the spool (once per full episode, and each write error) and, as records not
      // written, by delivery in the export's result and counters: no third warning per append here.
      const result = await target.append(toSerialisedRecords(batch));
      if (result.position !== undefined) entry.last = result.position;
      if (result.written > 0) {
        appendedSinceRead = true;
        wake();
      }
      return result.written;
    } finally {
      entry.writing--;
      if (entry.writing === 0 && entry.last === undefined && spooled.get(batch.clientId) === entry) spooled.delete(batch.clientId);
    }
  }

  function mustFollowNow(clientId: string): boolean {
    const target = spool;
    if (target === undefined) return false;
    const inLanes = lanes.has(clientId);
    const entry = spooled.get(clientId);
    if (entry !== undefined) {
      if (entry.writing > 0 || (entry.last !== undefined && !isSettledThrough(target, entry.last, inLanes))) return true;
      spooled.delete(clientId);
    }
    return inLanes || target.hasUnreadBacklog();
  }

  /**
   * Whether the client's records up to `position` are settled: consumed (acked by the owner, which may wait for
   * other clients' records read before them), or, in the owner, read and none of the client's left in the lanes.
   */
  function isSettledThrough(target: Spool, position: SpoolPosition, inLanes: boolean): boolean {
    return target.isConsumedThrough(position) || (!inLanes && target.isReadThrough(position));
  }

  function mustFollow(clientId: string): boolean | Promise<boolean> {
    return openSettled ? mustFollowNow(clientId) : opened.then(() => mustFollowNow(clientId));
  }

  /** Reads records into the client lanes while the window has room. */
  async function fill(target: Spool): Promise<void> {
    while (heldRecords - blockedRecords < WINDOW_RECORDS && heldRecords < MAX_HELD_RECORDS && !quiescing && !stop.signal.aborted) {
      if (Date.now() < nextReadAtMillis && !(appendedSinceRead && target.isOwner)) return;
      appendedSinceRead = false;
      const batch = await target.readBatch(READ_RECORDS).catch((error: unknown) => {
        log.warn(`reading the spool failed: ${asError(error).message}`);
        return undefined;
      });
      countDamagedLines(target);
      if (batch === undefined) {
        nextReadAtMillis = Date.now() + IDLE_POLL_MILLIS;
        return;
      }
      const tracker: Tracker = { batch, pending: batch.records.length };
      heldRecords += batch.records.length;
      for (const record of batch.records) {
        let lane = lanes.get(record.clientId);
        if (lane === undefined) {
          lane = { clientId: record.clientId, items: [], head: 0, busy: false, failures: 0, retryAtMillis: 0 };
          lanes.set(record.clientId, lane);
        }
        lane.items.push({ clientId: record.clientId, clientIp: record.clientIp, clientUa: record.clientUa, eventJson: record.eventJson, tracker });
        if (blocked.has(lane)) blockedRecords++;
        else if (!lane.busy) ready.add(lane);
      }
    }
  }

  /** Records lost to damaged spool lines (reported by the spool) count as dropped. */
  function countDamagedLines(target: Spool): void {
    const damaged = target.stats().corruptLinesSkipped;
    options.stats.dropped += damaged - damagedLinesCounted;
    damagedLinesCounted = damaged;
  }

  /** Marks the lane's next `count` records settled; acks each read whose records are all settled. */
  function settle(lane: ReplayLane, count: number): void {
    for (let i = lane.head; i < lane.head + count; i++) {
      const { tracker } = lane.items[i]!;
      if (--tracker.pending === 0) void tracker.batch.ack();
    }
    lane.head += count;
    heldRecords -= count;
    if (lane.head > 256 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
  }

  async function replayNext(delivery: Delivery, lane: ReplayLane): Promise<void> {
    lane.busy = true;
    active++;
    let retryable = false;
    try {
      const { batch, taken, oversized } = takeLeadingBatch(lane.items, lane.head, options.limits);
      if (oversized > 0) {
        for (let i = 0; i < oversized; i++) options.stats.reject('record_too_large');
        log.warn(`${oversized} spooled records of client ${JSON.stringify(lane.clientId)} are over maxBatchBytes and were discarded`);
      }
      if (batch === undefined) {
        settle(lane, taken);
        return;
      }
      const result = await delivery.replay(batch, Date.now() + options.requestDeadlineMillis, stop.signal);
      settle(lane, oversized + result.settled);
      retryable = result.retryable;
    } catch (error) {
      log.error(`replaying spooled records failed: ${asError(error).message}`);
      retryable = true;
    } finally {
      active--;
      lane.busy = false;
      if (retryable) failed(lane);
      else succeeded(lane);
      if (lane.head >= lane.items.length) {
        lanes.delete(lane.clientId);
        // Not blocked with records left: `failed` blocks it only when it has some.
        ready.delete(lane);
      } else if (!blocked.has(lane)) {
        ready.add(lane);
      }
      wake();
    }
  }

  function succeeded(lane: ReplayLane): void {
    lane.failures = 0;
    failureStreak = 0;
  }

  function failed(lane: ReplayLane): void {
    const now = Date.now();
    // A failure while others were being delivered is this client's own: it backs off, the others go on. Once
    // failures follow one another, the endpoint may be down: one request at a time probes it, after a backoff.
    if (failureStreak === 0) {
      lane.failures++;
      lane.retryAtMillis = now + backoffMillis(lane.failures);
      ready.delete(lane);
      blocked.add(lane);
      blockedRecords += lane.items.length - lane.head;
    }
    failureStreak++;
    probeAtMillis = now + backoffMillis(failureStreak);
  }

  /** Starts the replays that may start now; returns how long to wait at most before looking again. */
  function schedule(delivery: Delivery): number {
    if (quiescing || stop.signal.aborted) return IDLE_POLL_MILLIS;
    const now = Date.now();
    let waitMillis = IDLE_POLL_MILLIS;
    for (const lane of blocked) {
      if (lane.retryAtMillis <= now) {
        blocked.delete(lane);
        blockedRecords -= lane.items.length - lane.head;
        ready.add(lane);
      } else {
        waitMillis = Math.min(waitMillis, lane.retryAtMillis - now);
      }
    }
    for (const lane of ready) {
      if (active >= options.maxConcurrentRequests) break;
      if (failureStreak > 0 && (active > 0 || now < probeAtMillis)) {
        if (active === 0) waitMillis = Math.min(waitMillis, probeAtMillis - now);
        break;
      }
      ready.delete(lane);
      void replayNext(delivery, lane);
    }
    return Math.max(0, waitMillis);
  }

  /** Forgets clients whose spooled records are all consumed (a client that sends nothing more is never asked about). */
  function pruneSpooled(target: Spool): void {
    for (const [clientId, entry] of spooled) {
      if (entry.writing === 0 && (entry.last === undefined || isSettledThrough(target, entry.last, lanes.has(clientId)))) spooled.delete(clientId);
    }
  }

  async function drain(delivery: Delivery): Promise<void> {
    const target = await opened;
    if (target === undefined) return;
    let prunedAtMillis = Date.now();
    while (!stop.signal.aborted) {
      await fill(target);
      const waitMillis = schedule(delivery);
      if (Date.now() - prunedAtMillis >= PRUNE_INTERVAL_MILLIS) {
        pruneSpooled(target);
        prunedAtMillis = Date.now();
      }
      await sleepUntilWoken(waitMillis);
    }
  }

  return {
    sink: { append, mustFollow },
    ready: opened.then((s) => s !== undefined),
    start(delivery) {
      loop ??= drain(delivery).catch((error: unknown) => log.error(`the spool drainer stopped: ${asError(error).message}`));
    },
    pendingRecords: () => spool?.pendingRecords() ?? 0,
    quiesce() {
      quiescing = true;
    },
    abortReplays() {
      quiescing = true;
      if (!stop.signal.aborted) stop.abort(new GravityShutdownError());
      wake();
    },
    close() {
      closing ??= (async () => {
        quiescing = true;
        if (!stop.signal.aborted) stop.abort(new GravityShutdownError());
        wake();
        await loop;
        // Replays in flight end at once on the abort; their records stay in the spool.
        while (active > 0) await sleepUntilWoken(IDLE_POLL_MILLIS);
        clearTimeout(timer);
        await (await opened)?.close();
      })();
      return closing;
    },
  };
}
