/**
 * Delivery of request batches: bounded concurrency per attempt, retries through the retrying
 * transport under one deadline, 413 splits, background waits for client initialisation (`code` 2000,
 * delivery/parking.ts), a cap on records held in memory (delivery/units.ts), one queue of waiting batches and
 * one pool of workers shared by all exports (delivery/lanes.ts), and the hand-off to the durable spool and its
 * replay (delivery/replay.ts). The export pipeline owns one of these.
 */
import { splitBatch } from '../batching/request-batch.js';
import type { RequestBatch } from '../batching/request-batch.js';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { createParking } from './parking.js';
import type { Settled } from './parking.js';
import { replayBatch } from './replay.js';
import type { ReplayResult } from './replay.js';
import { createJob, LaneQueue, reserve, seal, settle } from './lanes.js';
import type { ExportJob } from './lanes.js';
import { abandonReason, abortUnit, CODE_BUFFER_FULL, HeldUnits, isAbandoned, signalOf, Slots, wasDroppedForRoom } from './units.js';
import type { PendingSummary, Unit } from './units.js';
import { encodeBody, toPayloadJson } from '../batching/encode.js';
import { causeOf, GravityClientNotInitialisedError, GravityExportError, GravityHttpError, GravityRejectedError, GravityShutdownError } from '../common/errors.js';
import { createLogger } from '../common/diag.js';
import type { StatsRecorder } from '../observability/stats.js';
import { createRetryingTransport } from '../transport/retrying-transport.js';
import type { RetriedSendResult, RetryingSendRequest, SleepFunction } from '../transport/retrying-transport.js';
import type { SendResult, Transport } from '../transport/types.js';

export type { Outcome, Settled } from './parking.js';
export type { ReplayResult } from './replay.js';
export type { PendingSummary } from './units.js';

/** Where undeliverable records go when a spool is configured (see src/spool). Never rejects. */
export interface SpoolSink {
  /** Resolves with how many of the batch's records were written (the rest were dropped by the spool's cap). */
  append(batch: RequestBatch): Promise<number>;
  /**
   * Whether the client's next batch must follow its earlier records into the spool (some of them are still
   * there, or being written), rather than overtake them live. A promise only until the spool is open.
   */
  mustFollow(clientId: string): boolean | Promise<boolean>;
}

export interface DeliveryDependencies {
  readonly config: ResolvedConfig;
  readonly transport: Transport;
  readonly stats: StatsRecorder;
  readonly now: () => number;
  readonly sleep: SleepFunction;
  readonly random: () => number;
  /** `undefined`: no spool. */
  readonly spool: SpoolSink | undefined;
}

/** One export's delivery, fed while the export is still mapping. */
export interface DeliveryJob {
  /** Epoch milliseconds by which the export's records must be delivered. */
  readonly deadlineMillis: number;
  /**
   * Makes room for up to `records` more under `maxBufferedRecords` by dropping the oldest held records of
   * earlier exports that are not on the wire; returns how many fit now (possibly fewer).
   */
  claim(records: number): number;
  /** Whether some of this export's requests are still in delivery (waiting for them would free room). */
  inDelivery(): boolean;
  /**
   * Resolves when `records` more fit under `maxBufferedRecords`, when none of this export's requests is in
   * delivery any more, or at its deadline.
   */
  room(records: number): Promise<void>;
  /**
   * Starts delivering more of the export's batches (a client's batches go in the order they are added);
   * batches beyond the room left are dropped and reported.
   */
  add(batches: readonly RequestBatch[]): void;
  /**
   * Writes the batches to the spool instead of delivering them (the spool's drainer sends them later); a batch
   * the spool does not take whole is settled as dropped.
   */
  spool(batches: readonly RequestBatch[]): void;
  /**
   * No more batches; resolves (never rejects) with what became of every batch added: one list per batch, in
   * the order they were added (a batch split after a 413 has an entry per part, in order).
   */
  seal(): Promise<Settled[][]>;
}

export interface Delivery {
  /** Opens the delivery of one export; all its batches share one deadline. */
  open(deadlineMillis: number): DeliveryJob;
  /** Records and clients held in memory, optionally without those waiting for client initialisation. */
  pending(includeParked: boolean): PendingSummary;
  /** Resolves when every background wait for client initialisation has ended. */
  parkedIdle(): Promise<void>;
  /** Ends the client-initialisation waits early, those that start later too: each gets one last attempt. */
  wakeParked(): void;
  /** Abandons everything still held: spooled when a spool is configured, else dropped. */
  abortAll(): void;
  /** One attempt for a batch of records read back from the spool (halves after a 413, in order); code 2000 parks it. */
  replay(batch: RequestBatch, deadlineMillis: number, signal: AbortSignal): Promise<ReplayResult>;
}

/**
 * Workers (shared by all exports) per connection: a worker waiting out a retry's backoff holds no connection.
 * Batches beyond what the workers hold wait as plain data in delivery/lanes.ts, before any retry machinery
 * (promises, signals, listeners: several kB each) exists for them.
 */
const WORKERS_PER_CONNECTION = 4;
/** The body is made once a connection slot is free (see `sendWithSlot`). */
const NOT_ENCODED_YET = Buffer.alloc(0);

/** A retried send of one unit's batch. */
interface UnitSendRequest extends RetryingSendRequest {
  readonly unit: Unit;
  readonly batch: RequestBatch;
}

/**
 * Whether the endpoint answered the attempt (any HTTP status, or HTTP 200 with or without a Gravity response),
 * rather than the attempt ending without an answer (connection refused or reset, a timeout, an abort).
 */
function wasAnswered(result: SendResult): boolean {
  if (result.status === 'success') return true;
  const { error } = result;
  return error instanceof GravityHttpError || error instanceof GravityRejectedError || (error as GravityExportError).code === 'GRAVITY_BAD_RESPONSE';
}

export function createDelivery(deps: DeliveryDependencies): Delivery {
  const { config, transport, stats, now, sleep, random, spool } = deps;
  const log = createLogger('delivery', config.diagnostics);
  const slots = new Slots(config.maxConcurrentRequests);
  const activeLimit = WORKERS_PER_CONNECTION * config.maxConcurrentRequests;
  const queue = new LaneQueue();
  let workers = 0;
  let jobsOpened = 0;
  /** Set once shutdown abandoned everything held (`abortAll`): later hand-overs are set aside at once. */
  let abandonedAll: Error | undefined;
  const held = new HeldUnits(config.maxBufferedRecords, stats, settleAbandoned);
  // Made once, not per export: see HeldUnits' error for the same cause.
  const overCapOnTheWire = new GravityExportError(`over maxBufferedRecords (${config.maxBufferedRecords}) with every held record on the wire or newer`, CODE_BUFFER_FULL);
  const spoolRefused = new GravityExportError(
    'earlier records of this client wait in the spool, and the spool could not take these (full, or not writable)',
    'GRAVITY_SPOOL_FULL',
  );
  const spoolUnavailable = new GravityExportError('the spool did not take these records (not open, full, or a write error)', 'GRAVITY_SPOOL_UNAVAILABLE');
  const compression = config.debug ? 'none' : config.compression;
  // With a spool, the first retryable failure goes to disk at once: a crash mid-outage then loses nothing.
  const maxAttempts = spool === undefined ? config.retry.maxAttempts : 1;
  const retrying = createRetryingTransport<UnitSendRequest>(
    { send: sendWithSlot, close: () => Promise.resolve() },
    { ...config.retry, backoffMultiplier: 2, now, sleep, random },
  );
  /** The abort signal of every first attempt (see `firstAttempt`): aborted by `abortAll`. */
  const abandonAll = new AbortController();
  const parking = createParking({ config, stats, now, sleep, maxAttempts, attempt, toSpoolOr, release: (unit) => held.release(unit), reparked: () => held.recheckRoom() });

  /**
   * One attempt by the holder of a connection slot, which it releases. The batch is encoded only now: only
   * requests on the wire hold a body, which keeps memory flat when thousands of batches wait on a stalled endpoint.
   */
  async function sendHoldingSlot(unit: Unit, batch: RequestBatch, timeoutMillis: number, signal: AbortSignal): Promise<SendResult> {
    try {
      unit.state = 'sending';
      const { body, compressed } = encodeBody(toPayloadJson(batch), compression);
      stats.attempts++;
      const result = await transport.send({ body, compressed, recordCount: batch.eventJson.length, signal, timeoutMillis });
      if (wasAnswered(result)) {
        stats.requests++;
        if (result.status !== 'success') stats.failedRequests++;
      }
      return result;
    } finally {
      unit.state = 'waiting';
      slots.release();
    }
  }

  /** A retry's attempt (or a replay's, or a parked batch's): behind a connection slot, so that a backoff never holds one. */
  async function sendWithSlot(request: UnitSendRequest): Promise<SendResult> {
    const { unit, batch } = request;
    const startMillis = now();
    unit.state = 'queued';
    if (isAbandoned(unit) || (!slots.tryAcquire() && !(await slots.acquire(signalOf(unit))))) {
      unit.state = 'waiting';
      return { status: 'retryable', error: new GravityShutdownError('the send was abandoned') };
    }
    const timeoutMillis = (request.timeoutMillis ?? config.timeoutMillis) - (now() - startMillis);
    if (timeoutMillis <= 0) {
      unit.state = 'waiting';
      slots.release();
      return { status: 'retryable', error: new GravityExportError('no connection free before the deadline', 'GRAVITY_DEADLINE_EXCEEDED') };
    }
    return sendHoldingSlot(unit, batch, timeoutMillis, signalOf(unit));
  }

  function retryingRequest(unit: Unit, batch: RequestBatch, deadlineMillis: number, attempts: number, made?: UnitSendRequest['made']): UnitSendRequest {
    const records = batch.eventJson.length;
    return {
      unit,
      batch,
      body: NOT_ENCODED_YET,
      compressed: false,
      recordCount: records,
      signal: signalOf(unit),
      deadlineMillis,
      maxAttempts: attempts,
      onRetry: ({ result }) => {
        stats.retried += records;
        // Said at the first failure, not only when the deadline ends the retries (a user may wait ~25 s for that).
        const leftMillis = Math.max(0, deadlineMillis - now());
        const left = leftMillis >= 10_000 ? `${Math.round(leftMillis / 1000)} s` : `${leftMillis} ms`;
        log.report(
          `attempt_failed:${causeOf(result.error)}`,
          `delivery to ${config.endpoint.displayUrl} failed: ${result.error.message}; retrying for up to ${left}`,
          'debug',
        );
      },
      ...(made === undefined ? {} : { made }),
    };
  }

  function attempt(unit: Unit, batch: RequestBatch, deadlineMillis: number, attempts: number): Promise<RetriedSendResult> {
    return retrying.send(retryingRequest(unit, batch, deadlineMillis, attempts));
  }

  /**
   * A batch's first attempt, by a worker that holds a connection slot already (released here). The common
   * case, one attempt that succeeds, makes no abort controller, request object or retry loop: its request
   * shares one abort signal with every first attempt (`abortAll` aborts it; the memory cap never drops a
   * batch on the wire). Anything else goes on through the retrying transport as if it had made the attempt.
   */
  async function firstAttempt(unit: Unit, batch: RequestBatch, deadlineMillis: number, attempts: number): Promise<RetriedSendResult> {
    const remainingMillis = deadlineMillis - now();
    if (isAbandoned(unit) || remainingMillis <= 0 || attempts < 1) {
      slots.release();
      return attempt(unit, batch, deadlineMillis, attempts);
    }
    const result = await sendHoldingSlot(unit, batch, remainingMillis, abandonAll.signal);
    if (result.status === 'success') return { status: 'success', response: result.response, attempts: 1 };
    if (result.status === 'failure' && !isAbandoned(unit)) return { status: 'failure', error: result.error, attempts: 1 };
    return retrying.send(retryingRequest(unit, batch, deadlineMillis, attempts, { attempts: 1, result }));
  }

  async function toSpoolOr(outcome: 'failed' | 'dropped', batch: RequestBatch, error: Error): Promise<Settled> {
    const records = batch.eventJson.length;
    const written = spool === undefined ? 0 : await spool.append(batch);
    if (written > 0) stats.spooled += written;
    if (written === records) return { outcome: 'spooled', clientId: batch.clientId, records, error };
    if (written > 0) {
      stats.dropped += records - written;
      return { outcome: 'dropped', clientId: batch.clientId, records: records - written, error: new GravityExportError(`the spool is full: ${records - written} records dropped`, 'GRAVITY_SPOOL_FULL') };
    }
    if (outcome === 'dropped') stats.dropped += records;
    else stats.failed += records;
    return { outcome, clientId: batch.clientId, records, error };
  }

  /**
   * Sends one batch (or, after a 413, its halves) and settles every record of it. `holdingSlot`: the caller
   * holds a connection slot for its first attempt.
   */
  async function send(unit: Unit, batch: RequestBatch, deadlineMillis: number, holdingSlot = false): Promise<Settled[]> {
    const records = batch.eventJson.length;
    const result = holdingSlot ? await firstAttempt(unit, batch, deadlineMillis, maxAttempts) : await attempt(unit, batch, deadlineMillis, maxAttempts);
    if (result.status === 'success') {
      stats.sent += records;
      return [{ outcome: 'sent', clientId: batch.clientId, records }];
    }
    if (result.status === 'retryable') {
      const aborted = result.gaveUp === 'aborted';
      const dropped = aborted && wasDroppedForRoom(unit);
      return [await toSpoolOr(aborted ? 'dropped' : 'failed', batch, dropped ? abandonReason(unit) : result.error)];
    }
    const { error } = result;
    if (error instanceof GravityHttpError && error.status === 413) {
      const halves = splitBatch(batch);
      if (halves === undefined) {
        stats.failed += records;
        return [{ outcome: 'failed', clientId: batch.clientId, records, error: new GravityExportError(`a single record is too large for the service (HTTP 413)`, 'GRAVITY_RECORD_TOO_LARGE', { cause: error }) }];
      }
      stats.splitRequests += records;
      // Each half becomes a unit of its own, held in the whole's place: one half may wait for client
      // initialisation (and be released by that wait) while the other is settled.
      const parts = halves.map((half) => partOf(unit, half));
      for (const part of parts) held.hold(part);
      held.release(unit);
      const first = await sendPart(parts[0]!, halves[0], deadlineMillis);
      return first.concat(await sendPart(parts[1]!, halves[1], deadlineMillis));
    }
    if (error instanceof GravityClientNotInitialisedError && config.clientInitWaitMillis > 0) {
      parking.park(unit, batch);
      held.recheckRoom();
      return [{ outcome: 'parked', clientId: batch.clientId, records }];
    }
    stats.failed += records;
    return [{ outcome: 'failed', clientId: batch.clientId, records, error }];
  }

  /** A unit for half of `whole`'s batch, abandoned already if `whole` was (memory cap, shutdown). */
  function partOf(whole: Unit, half: RequestBatch): Unit {
    const fields: Unit = { clientId: whole.clientId, records: half.eventJson.length, state: 'waiting' };
    const part = whole.owner === undefined ? fields : { ...fields, owner: whole.owner };
    if (isAbandoned(whole)) abortUnit(part, abandonReason(whole));
    return part;
  }

  /** Sends one part of a split batch; releases it once settled, unless it was parked. */
  async function sendPart(part: Unit, half: RequestBatch, deadlineMillis: number): Promise<Settled[]> {
    try {
      return await send(part, half, deadlineMillis);
    } finally {
      if (part.parked !== true) held.release(part);
    }
  }

  /**
   * Sends one batch a worker took and settles every record of it; never rejects. `holdingSlot`: the worker
   * holds a connection slot for it (given up here when the batch is not sent).
   */
  async function deliverOne(unit: Unit, batch: RequestBatch, deadlineMillis: number, holdingSlot = false): Promise<Settled[]> {
    try {
      if (isAbandoned(unit)) {
        if (holdingSlot) slots.release();
        return [await toSpoolOr('dropped', batch, abandonReason(unit))];
      }
      // Its client's earlier records are in the spool: this batch goes after them, never ahead of them live.
      const follow = spool?.mustFollow(batch.clientId) ?? false;
      if (follow === true || (follow !== false && (await follow))) {
        if (holdingSlot) slots.release();
        return [await toSpoolOr('dropped', batch, spoolRefused)];
      }
      return await send(unit, batch, deadlineMillis, holdingSlot);
    } catch (error) {
      // Encoding or a bug: report, never reject (the export callback must be called exactly once).
      stats.failed += batch.eventJson.length;
      return [{ outcome: 'failed', clientId: batch.clientId, records: batch.eventJson.length, error: error as Error }];
    } finally {
      if (unit.parked !== true) held.release(unit);
    }
  }

  /**
   * Settles, at once, a unit abandoned before any worker took it (memory cap or shutdown). With a spool, only
   * when nothing of its client comes before it: the spool must get a client's batches in order, so one behind
   * a batch still in delivery stays in its lane, and its worker spools it when it gets there.
   */
  function settleAbandoned(unit: Unit): void {
    const entry = spool === undefined ? queue.take(unit) : queue.takeIfFirst(unit);
    if (entry === undefined) return;
    void deliverOne(unit, entry.batch, entry.job.deadlineMillis).then((settled) => settle(entry.job, entry.index, settled));
  }

  /**
   * One of at most `activeLimit` workers shared by all exports: takes the oldest lane until none is left. It
   * waits for a connection slot before it takes each batch, so a batch waiting for a connection stays plain
   * data in its lane (dropped or abandoned there at once), and the wait needs no abort signal.
   */
  async function work(): Promise<void> {
    try {
      for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) {
        try {
          for (;;) {
            if (!slots.tryAcquire()) await slots.next();
            const entry = queue.nextOf(lane);
            if (entry === undefined) {
              slots.release();
              break;
            }
            settle(entry.job, entry.index, await deliverOne(entry.unit, entry.batch, entry.job.deadlineMillis, true));
          }
        } finally {
          queue.finished(lane);
        }
      }
    } finally {
      workers--;
    }
  }

  /** Settles a batch of the job at once, without sending it: spooled when a spool is configured, else dropped. */
  function setAside(job: ExportJob, batch: RequestBatch, reason: Error): void {
    const index = reserve(job);
    void toSpoolOr('dropped', batch, reason).then((settled) => settle(job, index, [settled]));
  }

  /**
   * Settles a batch without sending it (spooled, else dropped). With a spool, a batch whose client has
   * batches in delivery joins their lane, abandoned, and is spooled after them: in order.
   */
  function setAsideInOrder(job: ExportJob, batch: RequestBatch, reason: Error): void {
    if (spool === undefined || !queue.hasWork(batch.clientId)) {
      setAside(job, batch, reason);
      return;
    }
    const unit: Unit = { clientId: batch.clientId, records: batch.eventJson.length, state: 'queued', owner: job, abortReason: reason };
    held.hold(unit);
    queue.add(job, unit, batch);
  }

  /** Holds and queues the batches (within `maxBufferedRecords`; the rest are dropped and settled), and starts workers. */
  function addTo(job: ExportJob, batches: readonly RequestBatch[]): void {
    if (batches.length === 0) return;
    if (abandonedAll !== undefined) {
      // Handed over after shutdown gave up on what was held (an export still mapping): nothing more is sent.
      for (const batch of batches) setAsideInOrder(job, batch, abandonedAll);
      startWorkers();
      return;
    }
    const incoming = batches.reduce((n, b) => n + b.eventJson.length, 0);
    let room = held.makeRoom(incoming, job);
    for (const batch of batches) {
      const records = batch.eventJson.length;
      if (records > room) {
        setAsideInOrder(job, batch, overCapOnTheWire);
        continue;
      }
      room -= records;
      const unit: Unit = { clientId: batch.clientId, records, state: 'queued', owner: job };
      held.hold(unit);
      // One lane per client: its batches go one after the other, so its records arrive in emit order.
      queue.add(job, unit, batch);
    }
    startWorkers();
  }

  function startWorkers(): void {
    while (workers < activeLimit && !queue.isEmpty()) {
      workers++;
      void work();
    }
  }

  function open(deadlineMillis: number): DeliveryJob {
    let resolveJob!: (settled: Settled[][]) => void;
    const done = new Promise<Settled[][]>((resolve) => (resolveJob = resolve));
    const job = createJob(jobsOpened++, deadlineMillis, resolveJob);
    return {
      deadlineMillis,
      claim: (records) => held.makeRoom(records, job),
      inDelivery: () => held.inDelivery(job),
      room: (records) => held.waitForRoom(records, job, deadlineMillis, now),
      add: (batches) => addTo(job, batches),
      spool: (batches) => {
        for (const batch of batches) setAside(job, batch, spoolUnavailable);
      },
      seal: () => {
        seal(job);
        return done;
      },
    };
  }

  return {
    open,

    pending: (includeParked) => held.pending(includeParked),
    parkedIdle: () => parking.idle(),
    wakeParked: () => parking.wakeAll(),
    abortAll: () => {
      abandonedAll = new GravityShutdownError('the exporter shut down before these records were delivered');
      held.abortAll(abandonedAll);
      abandonAll.abort(abandonedAll);
    },
    replay: (batch, deadlineMillis, signal) =>
      replayBatch(
        { stats, held, attempt, park: config.clientInitWaitMillis > 0 ? (unit, batch) => parking.park(unit, batch) : undefined, log },
        batch,
        deadlineMillis,
        signal,
      ),
  };
}
