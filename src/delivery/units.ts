/**
 * What delivery holds in memory: one unit per request batch, the cap on the records they hold
 * (`maxBufferedRecords`: the oldest units not on the wire are abandoned first), and the connection slots.
 */
import { GravityExportError } from '../errors.js';
import type { StatsRecorder } from '../stats.js';

export const CODE_BUFFER_FULL = 'GRAVITY_BUFFER_FULL';

export type UnitState = 'queued' | 'sending' | 'waiting' | 'parked';

/** One request batch in delivery (or, after a 413, the halves it was split into). */
export interface Unit {
  readonly clientId: string;
  readonly records: number;
  state: UnitState;
  /** Aborted to drop the unit (memory cap) or on a shutdown past its deadline; made when the unit starts. */
  controller?: AbortController;
  /** Why the unit was abandoned before it started. */
  abortReason?: Error;
  /** Aborted to end a client-initialisation wait early (shutdown gives it one last attempt); made on parking. */
  wake?: AbortController;
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
    this._stats.buffered += unit.records;
  }

  release(unit: Unit): void {
    if (!this._live.delete(unit)) return;
    this._stats.buffered -= unit.records;
  }

  /** Makes room for `incoming` records by abandoning the oldest units not on the wire; returns the room left. */
  makeRoom(incoming: number): number {
    let held = 0;
    for (const unit of this._live) if (!isAbandoned(unit)) held += unit.records;
    if (held + incoming <= this._maxRecords) return this._maxRecords - held;
    for (const unit of this._live) {
      if (held + incoming <= this._maxRecords) break;
      if (unit.state === 'sending' || isAbandoned(unit)) continue;
      held -= unit.records;
      abortUnit(unit, this._overCap);
      this._onAbandon(unit);
    }
    return this._maxRecords - held;
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

  wakeParked(): void {
    for (const unit of this._live) unit.wake?.abort();
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
    const next = this._waiters.values().next();
    if (next.done === true) {
      this._free++;
      return;
    }
    this._waiters.delete(next.value);
    next.value();
  }
}
