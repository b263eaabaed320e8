/**
 * Delivery of request batches (issue 4): bounded concurrency per attempt, retries through the retrying
 * transport under one deadline, 413 splits, background waits for client initialisation (`code` 2000), a cap
 * on records held in memory, and the hand-off to the durable spool. The export pipeline owns one of these.
 */
import { splitBatch } from './batching.js';
import type { RequestBatch } from './batching.js';
import type { ResolvedConfig } from './config.js';
import { createLogger } from './diag.js';
import { encodeBody, toPayloadJson } from './encode.js';
import { GravityClientNotInitialisedError, GravityExportError, GravityHttpError, GravityShutdownError } from './errors.js';
import type { StatsRecorder } from './stats.js';
import { createRetryingTransport } from './transport/retrying-transport.js';
import type { RetriedSendResult, SleepFunction } from './transport/retrying-transport.js';
import type { SendRequest, SendResult, Transport } from './transport/types.js';

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

/** Where undeliverable records go when a spool is configured (see src/spool). Never rejects. */
export interface SpoolSink {
  /** Resolves with how many of the batch's records were written (the rest were dropped by the spool's cap). */
  append(batch: RequestBatch): Promise<number>;
}

/** What one replay of spooled batches achieved. */
export interface ReplayReport {
  /** Records the service accepted. */
  readonly delivered: number;
  /** Records the service refused for good (reported and counted as failed; not to be replayed). */
  readonly refused: number;
  /** Batches that met a retryable failure and belong back in the spool. */
  readonly undelivered: RequestBatch[];
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

type UnitState = 'queued' | 'sending' | 'waiting' | 'parked';

interface Unit {
  readonly clientId: string;
  records: number;
  state: UnitState;
  /** Aborted to drop the unit (memory cap) or on a shutdown past its deadline; made when the unit starts. */
  controller?: AbortController;
  /** Why the unit was abandoned before it started. */
  abortReason?: Error;
  /** Aborted to end a client-initialisation wait early (shutdown gives it one last attempt); made on parking. */
  wake?: AbortController;
}

function abortUnit(unit: Unit, reason: Error): void {
  if (unit.controller !== undefined) unit.controller.abort(reason);
  else unit.abortReason ??= reason;
}

function isAbandoned(unit: Unit): boolean {
  return unit.abortReason !== undefined || unit.controller?.signal.aborted === true;
}

function signalOf(unit: Unit): AbortSignal {
  unit.controller ??= new AbortController();
  if (unit.abortReason !== undefined) unit.controller.abort(unit.abortReason);
  return unit.controller.signal;
}

const CODE_BUFFER_FULL = 'GRAVITY_BUFFER_FULL';
/** The body is made by `limitedFor` once a connection slot is free. */
const NOT_ENCODED_YET = Buffer.alloc(0);

/** Counts of what is still held, for flush/shutdown reports. */
export interface PendingSummary {
  readonly records: number;
  readonly clients: number;
}

/**
 * Batches beyond this many per connection wait as plain data, before any retry machinery (promises, signals,
 * listeners: several kB each) exists for them; measured at ~7 kB per waiting one-record batch without it.
 */
const ACTIVE_UNITS_PER_CONNECTION = 4;

/** A FIFO gate: at most `limit` holders at once. */
class Gate {
  private _free: number;
  private readonly _waiters: Array<() => void> = [];
  constructor(limit: number) {
    this._free = limit;
  }
  enter(): Promise<void> | undefined {
    if (this._free > 0) {
      this._free--;
      return undefined;
    }
    return new Promise<void>((resolve) => this._waiters.push(resolve));
  }
  leave(): void {
    const next = this._waiters.shift();
    if (next !== undefined) next();
    else this._free++;
  }
}

/** A counting semaphore whose waits can be abandoned. */
class Slots {
  private _free: number;
  private readonly _waiters = new Set<() => void>();
  constructor(limit: number) {
    this._free = limit;
  }
  /** Resolves `true` with a slot, or `false` if `signal` aborted first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    if (this._free > 0) {
      this._free--;
      return true;
    }
    return new Promise<boolean>((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = (): void => {
        this._waiters.delete(grant);
        resolve(false);
      };
      this._waiters.add(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
  release(): void {
    const next = this._waiters.values().next();
    if (next.done === true) {
      this._free++;
      return;
    }
    this._waiters.delete(next.value);
    next.value();
  }
}

export interface Delivery {
  /** Delivers the batches of one export under one deadline; resolves (never rejects) with what became of them. */
  deliver(batches: readonly RequestBatch[], deadlineMillis: number): Promise<Settled[]>;
  /** Records and clients held in memory, optionally without those waiting for client initialisation. */
  pending(includeParked: boolean): PendingSummary;
  /** Resolves when every background wait for client initialisation has ended. */
  parkedIdle(): Promise<void>;
  /** Ends the client-initialisation waits early: each gets one last attempt. */
  wakeParked(): void;
  /** Abandons everything still held: spooled when a spool is configured, else dropped. */
  abortAll(): void;
  /** One attempt per batch of records read back from the spool; never spools again, never parks. */
  replay(batches: readonly RequestBatch[], deadlineMillis: number, signal: AbortSignal): Promise<ReplayReport>;
}

export function createDelivery(deps: DeliveryDependencies): Delivery {
  const { config, transport, stats, now, sleep, random, spool } = deps;
  const log = createLogger('delivery');
  const slots = new Slots(config.maxConcurrentRequests);
  const gate = new Gate(ACTIVE_UNITS_PER_CONNECTION * config.maxConcurrentRequests);
  const live = new Set<Unit>();
  const parkedLoops = new Set<Promise<void>>();
  const compression = config.debug ? 'none' : config.compression;
  const policy = { ...config.retry, backoffMultiplier: 2, now, sleep, random };

  function hold(unit: Unit): void {
    live.add(unit);
    stats.buffered += unit.records;
  }

  function release(unit: Unit): void {
    if (!live.delete(unit)) return;
    stats.buffered -= unit.records;
  }

  /** Makes room for `incoming` records by abandoning the oldest units not on the wire; returns the room left. */
  function makeRoom(incoming: number): number {
    let held = 0;
    for (const unit of live) if (!isAbandoned(unit)) held += unit.records;
    for (const unit of live) {
      if (held + incoming <= config.maxBufferedRecords) break;
      if (unit.state === 'sending' || isAbandoned(unit)) continue;
      held -= unit.records;
      abortUnit(unit, new GravityExportError(`over maxBufferedRecords (${config.maxBufferedRecords})`, CODE_BUFFER_FULL));
    }
    return config.maxBufferedRecords - held;
  }

  /**
   * The one-attempt transport behind a slot, so that a retry's backoff never holds a connection. It encodes
   * the batch itself once it has a slot: only requests on the wire hold a body (and a zlib stream), which
   * keeps memory flat when thousands of batches wait on a stalled endpoint.
   */
  function limitedFor(unit: Unit, batch: RequestBatch): Transport {
    return {
      async send(request: SendRequest): Promise<SendResult> {
        const startMillis = now();
        unit.state = 'queued';
        if (!(await slots.acquire(signalOf(unit)))) {
          return { status: 'retryable', error: new GravityShutdownError('the send was abandoned') };
        }
        try {
          const timeoutMillis = (request.timeoutMillis ?? config.timeoutMillis) - (now() - startMillis);
          if (timeoutMillis <= 0) {
            return { status: 'retryable', error: new GravityExportError('no connection free before the deadline', 'GRAVITY_DEADLINE_EXCEEDED') };
          }
          unit.state = 'sending';
          const { body, compressed } = await encodeBody(toPayloadJson(batch), compression);
          stats.requests++;
          const result = await transport.send({ ...request, body, compressed, timeoutMillis });
          if (result.status !== 'success') stats.failedRequests++;
          return result;
        } finally {
          unit.state = 'waiting';
          slots.release();
        }
      },
      close: () => Promise.resolve(),
    };
  }

  async function toSpoolOr(outcome: 'failed' | 'dropped', batch: RequestBatch, error: Error): Promise<Settled> {
    const records = batch.eventJson.length;
    const written = spool === undefined ? 0 : await spool.append(batch);
    if (written > 0) stats.spooled += written;
    if (written === records) return { outcome: 'spooled', clientId: batch.clientId, records };
    if (written > 0) {
      stats.dropped += records - written;
      return { outcome: 'dropped', clientId: batch.clientId, records: records - written, error: new GravityExportError(`the spool is full: ${records - written} records dropped`, 'GRAVITY_SPOOL_FULL') };
    }
    if (outcome === 'dropped') stats.dropped += records;
    else stats.failed += records;
    return { outcome, clientId: batch.clientId, records, error };
  }

  async function attempt(unit: Unit, batch: RequestBatch, deadlineMillis: number, maxAttempts: number): Promise<RetriedSendResult> {
    const retrying = createRetryingTransport(limitedFor(unit, batch), { ...policy, maxAttempts });
    return retrying.send({
      body: NOT_ENCODED_YET,
      compressed: false,
      recordCount: batch.eventJson.length,
      signal: signalOf(unit),
      deadlineMillis,
      onRetry: () => {
        stats.retried += batch.eventJson.length;
      },
    });
  }

  /** Sends one batch (or, after a 413, its halves) and settles every record of it. */
  async function send(unit: Unit, batch: RequestBatch, deadlineMillis: number): Promise<Settled[]> {
    const records = batch.eventJson.length;
    // With a spool, the first retryable failure goes to disk at once: a crash mid-outage then loses nothing.
    const result = await attempt(unit, batch, deadlineMillis, spool === undefined ? config.retry.maxAttempts : 1);
    if (result.status === 'success') {
      stats.sent += records;
      return [{ outcome: 'sent', clientId: batch.clientId, records }];
    }
    if (result.status === 'retryable') {
      const aborted = result.gaveUp === 'aborted';
      const dropped = aborted && (signalOf(unit).reason as { code?: unknown } | undefined)?.code === CODE_BUFFER_FULL;
      return [await toSpoolOr(aborted ? 'dropped' : 'failed', batch, dropped ? asDropError(unit) : result.error)];
    }
    const { error } = result;
    if (error instanceof GravityHttpError && error.status === 413) {
      const halves = splitBatch(batch);
      if (halves === undefined) {
        stats.failed += records;
        return [{ outcome: 'failed', clientId: batch.clientId, records, error: new GravityExportError(`a single record is too large for the service (HTTP 413)`, 'GRAVITY_RECORD_TOO_LARGE', { cause: error }) }];
      }
      stats.splitRequests += records;
      const first = await send(unit, halves[0], deadlineMillis);
      return first.concat(await send(unit, halves[1], deadlineMillis));
    }
    if (error instanceof GravityClientNotInitialisedError && config.clientInitWaitMillis > 0) {
      park(unit, batch);
      return [{ outcome: 'parked', clientId: batch.clientId, records }];
    }
    stats.failed += records;
    return [{ outcome: 'failed', clientId: batch.clientId, records, error }];
  }

  function asDropError(unit: Unit): Error {
    return signalOf(unit).reason as Error;
  }

  /** Waits in the background for the client to be initialised, then delivers (or reports) the batch. */
  function park(unit: Unit, batch: RequestBatch): void {
    const records = batch.eventJson.length;
    unit.state = 'parked';
    stats.waitingForClientInit += records;
    const untilMillis = now() + config.clientInitWaitMillis;
    const wake = (unit.wake ??= new AbortController());
    const loop = (async (): Promise<Settled> => {
      let backoffMillis = Math.max(1, Math.min(CLIENT_INIT_FIRST_BACKOFF_MILLIS, 2 * config.retry.maxBackoffMillis));
      for (;;) {
        await sleep(Math.max(0, Math.min(backoffMillis, untilMillis - now())), AbortSignal.any([signalOf(unit), wake.signal]));
        const last = wake.signal.aborted || now() >= untilMillis;
        if (isAbandoned(unit)) return toSpoolOr('dropped', batch, asDropError(unit));
        const result = await attempt(unit, batch, now() + config.exportDeadlineMillis, spool === undefined ? config.retry.maxAttempts : 1);
        unit.state = 'parked';
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
    })().then((settled) => {
      stats.waitingForClientInit -= records;
      release(unit);
      if (settled.outcome !== 'sent' && settled.outcome !== 'spooled') {
        log.warn(`${records} records of client ${JSON.stringify(batch.clientId)} were not delivered after waiting for client initialisation: ${settled.error?.message ?? settled.outcome}`);
      }
    });
    parkedLoops.add(loop);
    void loop.finally(() => parkedLoops.delete(loop));
  }

  async function deliverOne(unit: Unit, batch: RequestBatch, deadlineMillis: number): Promise<Settled[]> {
    const entering = gate.enter();
    if (entering !== undefined) await entering;
    try {
      if (isAbandoned(unit)) return [await toSpoolOr('dropped', batch, asDropError(unit))];
      return await send(unit, batch, deadlineMillis);
    } catch (error) {
      // Encoding or a bug: report, never reject (the export callback must be called exactly once).
      stats.failed += batch.eventJson.length;
      return [{ outcome: 'failed', clientId: batch.clientId, records: batch.eventJson.length, error: error as Error }];
    } finally {
      gate.leave();
      if (unit.state !== 'parked') release(unit);
    }
  }

  return {
    async deliver(batches, deadlineMillis) {
      const incoming = batches.reduce((n, b) => n + b.eventJson.length, 0);
      let room = makeRoom(incoming);
      const settled: Array<Promise<Settled[]>> = [];
      // Batches of one client go one after the other, so its records arrive in emit order.
      const chains = new Map<string, Promise<unknown>>();
      for (const batch of batches) {
        const records = batch.eventJson.length;
        if (records > room) {
          const error = new GravityExportError(`over maxBufferedRecords (${config.maxBufferedRecords}) with every held record on the wire`, CODE_BUFFER_FULL);
          settled.push(toSpoolOr('dropped', batch, error).then((s) => [s]));
          continue;
        }
        room -= records;
        const unit: Unit = { clientId: batch.clientId, records, state: 'queued' };
        hold(unit);
        const previous = chains.get(batch.clientId) ?? Promise.resolve();
        const next = previous.then(() => deliverOne(unit, batch, deadlineMillis));
        chains.set(batch.clientId, next);
        settled.push(next);
      }
      return (await Promise.all(settled)).flat();
    },

    pending(includeParked) {
      let records = 0;
      const clients = new Set<string>();
      for (const unit of live) {
        if (!includeParked && unit.state === 'parked') continue;
        records += unit.records;
        clients.add(unit.clientId);
      }
      return { records, clients: clients.size };
    },

    async parkedIdle() {
      while (parkedLoops.size > 0) await Promise.all([...parkedLoops]);
    },

    wakeParked() {
      for (const unit of live) unit.wake?.abort();
    },

    async replay(batches, deadlineMillis, signal) {
      let delivered = 0;
      let refused = 0;
      const undelivered: RequestBatch[] = [];
      await Promise.all(
        batches.map(async (batch) => {
          const records = batch.eventJson.length;
          const unit: Unit = { clientId: batch.clientId, records, state: 'sending' };
          const onAbort = (): void => abortUnit(unit, signal.reason as Error);
          signal.addEventListener('abort', onAbort, { once: true });
          hold(unit);
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
            release(unit);
          }
        }),
      );
      return { delivered, refused, undelivered };
    },

    abortAll() {
      const reason = new GravityShutdownError('the exporter shut down before these records were delivered');
      for (const unit of live) abortUnit(unit, reason);
    },
  };
}
