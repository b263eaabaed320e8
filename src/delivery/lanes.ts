/**
 * Batches waiting for a delivery worker, shared by all exports: one FIFO of lanes, each lane one client's
 * batches of one export (sent one after the other, so that its records arrive in emit order). A waiting batch
 * is plain data (no promise, function or array exists for it until a worker takes it), and one abandoned
 * before that is taken out at once (`LaneQueue.take`), so a stalled endpoint costs little per held batch.
 */
import type { RequestBatch } from '../batching.js';
import type { Settled } from './parking.js';
import type { Unit } from './units.js';

/** One export's batches in delivery and what became of each; resolved once every batch is settled. */
export interface ExportJob {
  readonly settled: Settled[][];
  remaining: number;
  readonly deadlineMillis: number;
  readonly resolve: (settled: Settled[]) => void;
}

/** One batch of an export, from the moment it is held until it is settled. */
export interface Entry {
  readonly unit: Unit;
  readonly batch: RequestBatch;
  readonly job: ExportJob;
  /** The batch's position in its export, where its outcome goes. */
  readonly index: number;
  readonly lane: Lane;
  /** The lane's next batch. */
  next: Entry | undefined;
}

/** One client's batches of one export, in order (a linked list of entries). */
export interface Lane {
  /** The first entry no worker has taken yet (possibly taken out already). */
  first: Entry | undefined;
  last: Entry | undefined;
  /** Entries neither taken by a worker nor taken out. */
  untaken: number;
  /** Neighbours in the queue; both `undefined` and `queued` false once a worker took the lane or it emptied. */
  before: Lane | undefined;
  after: Lane | undefined;
  queued: boolean;
}

export function createLane(): Lane {
  return { first: undefined, last: undefined, untaken: 0, before: undefined, after: undefined, queued: false };
}

/** Appends a batch to its lane (not queued yet). */
export function addEntry(lane: Lane, unit: Unit, batch: RequestBatch, job: ExportJob, index: number): void {
  const entry: Entry = { unit, batch, job, index, lane, next: undefined };
  if (lane.last === undefined) lane.first = entry;
  else lane.last.next = entry;
  lane.last = entry;
}

/** Records what became of the export's batch at `index`; the last one resolves the export. */
export function settle(job: ExportJob, index: number, settled: Settled[]): void {
  job.settled[index] = settled;
  if (--job.remaining === 0) job.resolve(job.settled.flat());
}

/** The lanes waiting for a worker (a linked list: a lane that empties leaves it in constant time). */
export class LaneQueue {
  private _head: Lane | undefined;
  private _tail: Lane | undefined;
  /** Entries not taken yet, by unit (lanes being worked on included). */
  private readonly _untaken = new Map<Unit, Entry>();

  isEmpty(): boolean {
    return this._head === undefined;
  }

  /** Queues a lane with its entries. */
  push(lane: Lane): void {
    for (let entry = lane.first; entry !== undefined; entry = entry.next) {
      this._untaken.set(entry.unit, entry);
      lane.untaken++;
    }
    lane.before = this._tail;
    lane.after = undefined;
    lane.queued = true;
    if (this._tail === undefined) this._head = lane;
    else this._tail.after = lane;
    this._tail = lane;
  }

  /** The oldest lane with an entry left, now out of the queue (its worker calls `nextOf`). */
  shift(): Lane | undefined {
    const lane = this._head;
    if (lane !== undefined) this._unlink(lane);
    return lane;
  }

  /** The next entry of a lane a worker holds, now taken; `undefined` once none is left. */
  nextOf(lane: Lane): Entry | undefined {
    for (let entry = lane.first; entry !== undefined; entry = lane.first) {
      lane.first = entry.next;
      if (this._untaken.delete(entry.unit)) {
        lane.untaken--;
        return entry;
      }
    }
    lane.last = undefined;
    return undefined;
  }

  /**
   * Takes a unit's entry out before any worker took it (the unit was abandoned), so that it can be settled
   * at once; `undefined` if a worker has it already (its abort signal ends that work).
   */
  take(unit: Unit): Entry | undefined {
    const entry = this._untaken.get(unit);
    if (entry === undefined) return undefined;
    this._untaken.delete(unit);
    const { lane } = entry;
    // The oldest go first, so taken-out entries are mostly at the front: drop them from the lane now.
    while (lane.first !== undefined && !this._untaken.has(lane.first.unit)) lane.first = lane.first.next;
    if (lane.first === undefined) lane.last = undefined;
    if (--lane.untaken === 0 && lane.queued) this._unlink(lane);
    return entry;
  }

  private _unlink(lane: Lane): void {
    if (lane.before === undefined) this._head = lane.after;
    else lane.before.after = lane.after;
    if (lane.after === undefined) this._tail = lane.before;
    else lane.after.before = lane.before;
    lane.before = undefined;
    lane.after = undefined;
    lane.queued = false;
  }
}
