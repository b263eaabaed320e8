/**
 * What delivery holds in memory: one unit per request batch, the cap on the records they hold
 * (`maxBufferedRecords`: the oldest units not on the wire are abandoned first), and the connection slots.
 */
import { GravityExportError } from '../common/errors.js';
import type { StatsRecorder } from '../observability/stats.js';

export const CODE_BUFFER_FULL = 'GRAVITY_BUFFER_FULL';

export type UnitState = 'queued' | 'sending' | 'waiting' | 'parked';

/** The export a unit belongs to; exports are numbered in the order they were opened. */
export interface UnitOwner {
  readonly seq: number;
}

/** One request batch in delivery (or, after a 413, one of the halves it was split into). */
export interface Unit {
  readonly clientId: string;
  readonly records: number;
  state: UnitState;
  /**
   * The export the unit belongs to; none for spool replays. The cap makes room for an export only with the
   * records of exports opened before it: never its own, a newer export's, or a replay (still in the spool).
   */
  readonly owner?: UnitOwner;
  /** Aborted to drop the unit (memory cap) or on a shutdown past its deadline; made when the unit starts. */
  controller?: AbortController;
  /** Why the unit was abandoned before it started. */
  abortReason?: Error;
  /** Aborted to end a client-initialisation wait early (shutdown gives it one last attempt); made on parking. */
  wake?: AbortController;
  /** Set once parked: its background wait releases it, not the worker that sent it (whatever `state` says then). */
  parked?: boolean;
}

export function abortUnit(unit: Unit, reason: Error): void {
  if (unit.controller !== undefined) unit.controller.abort(reason);
  else unit.abortReason ??= reason;
}

export function isAbandoned(unit: Unit): boolean {
  return unit.abortReason !== undefined || unit.controller?.signal.aborted === true;
}

export function signalOf(unit: Unit): AbortSignal {
  unit.controller ??= new AbortController();
  if (unit.abortReason !== undefined) unit.controller.abort(unit.abortReason);
  return unit.controller.signal;
}

/** Why an abandoned unit was abandoned. */
export function abandonReason(unit: Unit): Error {
  return signalOf(unit).reason as Error;
}

/** Whether the unit was abandoned to honour `maxBufferedRecords` (dropped) rather than by a shutdown. */
export function wasDroppedForRoom(unit: Unit): boolean {
  return (abandonReason(unit) as { code?: unknown } | undefined)?.code === CODE_BUFFER_FULL;
}

/** Counts of what is still held, for flush/shutdown reports. */
export interface PendingSummary {
  readonly records: number;
  readonly clients: number;
}

/** The units held in memory, oldest first, and the cap on their records. */
export class HeldUnits {
  private readonly _live = new Set<Unit>();
  /** Records of the live units. */
  private _records = 0;
  /** Told on every release, to check for room again (see `waitForRoom`). */
  private readonly _roomWaiters = new Set<() => void>();
  private readonly _maxRecords: number;
  private readonly _stats: StatsRecorder;
  private readonly _onAbandon: (unit: Unit) => void;
  /**
   * Made once: an error keeps the functions on its stack alive until its stack is read, and with them their
   * closures' data; one made per drop kept whole exports' batches alive for as long as its records' results.
   */
  private readonly _overCap: Error;

  /** `onAbandon` is told of each unit the cap or `abortAll` abandons (a unit not started yet is settled there). */
  constructor(maxRecords: number, stats: StatsRecorder, onAbandon: (unit: Unit) => void) {
    this._maxRecords = maxRecords;
    this._stats = stats;
    this._onAbandon = onAbandon;
    this._overCap = new GravityExportError(`over maxBufferedRecords (${maxRecords})`, CODE_BUFFER_FULL);
  }

  hold(unit: Unit): void {
    this._live.add(unit);
    this._records += unit.records;
    this._stats.buffered += unit.records;
  }

  release(unit: Unit): void {
    if (!this._live.delete(unit)) return;
    this._records -= unit.records;
    this._stats.buffered -= unit.records;
    this.recheckRoom();
  }

  /** Whether `incoming` more records fit under the cap now. */
  fits(incoming: number): boolean {
    return this._records + incoming <= this._maxRecords;
  }

  /**
   * Makes room for `incoming` records of `claimer` by abandoning the oldest units not on the wire of exports
   * opened before it (drop-oldest: an export never pushes out its own records, nor a newer export's); returns
   * the room left, possibly less than asked.
   */
  makeRoom(incoming: number, claimer: UnitOwner): number {
    // Abandoned units count until released: when that fits already, the exact count below would too.
    if (this.fits(incoming)) return this._maxRecords - this._records;
    let held = 0;
    for (const unit of this._live) if (!isAbandoned(unit)) held += unit.records;
    if (held + incoming <= this._maxRecords) return this._maxRecords - held;
    for (const unit of this._live) {
      if (held + incoming <= this._maxRecords) break;
      if (unit.state === 'sending' || isAbandoned(unit) || unit.owner === undefined || unit.owner.seq >= claimer.seq) continue;
      held -= unit.records;
      abortUnit(unit, this._overCap);
      this._onAbandon(unit);
    }
    return Math.max(0, this._maxRecords - held);
  }

  /**
   * Resolves once `incoming` more records fit under the cap, or none of `owner`'s units is in delivery any
   * more (waiting would free no room), or at `deadlineMillis`, whichever comes first: an export whose own
   * earlier requests fill the cap waits for them. Resolves at once when one of these holds already.
   */
  waitForRoom(incoming: number, owner: UnitOwner, deadlineMillis: number, now: () => number): Promise<void> {
    const ready = (): boolean => this.fits(incoming) || now() >= deadlineMillis || !this.inDelivery(owner);
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this._roomWaiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const check = (): void => {
        if (ready()) done();
      };
      const timer = setTimeout(done, Math.max(0, deadlineMillis - now()));
      timer.unref();
      this._roomWaiters.add(check);
    });
  }

  /** Tells the exports waiting for room to look again (a unit left delivery without being released: parked). */
  recheckRoom(): void {
    if (this._roomWaiters.size === 0) return;
    for (const check of this._roomWaiters) check();
  }

  /** Whether one of `owner`'s units is being delivered (held, not waiting for client initialisation, not abandoned). */
  inDelivery(owner: UnitOwner): boolean {
    for (const unit of this._live) if (unit.owner === owner && unit.state !== 'parked' && !isAbandoned(unit)) return true;
    return false;
  }

  pending(includeParked: boolean): PendingSummary {
    let records = 0;
    const clients = new Set<string>();
    for (const unit of this._live) {
      if (!includeParked && unit.state === 'parked') continue;
      records += unit.records;
      clients.add(unit.clientId);
    }
    return { records, clients: clients.size };
  }

  abortAll(reason: Error): void {
    for (const unit of this._live) {
      abortUnit(unit, reason);
      this._onAbandon(unit);
    }
  }
}

/** A counting semaphore whose waits can be abandoned. */
export class Slots {
  private _free: number;
  private readonly _waiters = new Set<() => void>();
  constructor(limit: number) {
    this._free = limit;
  }
  /** `true` when a slot was free and is now held; no promise is made then (the common case). */
  tryAcquire(): boolean {
    if (this._free <= 0) return false;
    this._free--;
    return true;
  }
  /** Resolves with a slot, once one is free (first come, first served). */
  next(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve) => this._waiters.add(resolve));
  }
  /** Resolves `true` with a slot, or `false` if `signal` aborted first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    if (this.tryAcquire()) return true;
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
    if (this._waiters.size === 0) {
      this._free++;
      return;
    }
    const grant = this._waiters.values().next().value!;
    this._waiters.delete(grant);
    grant();
  }
}
