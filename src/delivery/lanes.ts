/**
 * Batches waiting for a delivery worker, shared by all exports: one FIFO of lanes, each lane one client's
 * batches, of every export, in the order they were handed over. A lane's batches go one after the other (the
 * next one only once the previous one is settled: sent, or given up after its retries), so that a client's
 * records arrive in emit order, across exports too. An export adds batches while it is still mapping (a
 * client's lane is queued again if a worker had emptied it). A waiting batch
 * is plain data (no promise, function or array exists for it until a worker takes it), and one abandoned
 * before that is taken out at once (`LaneQueue.take`), so a stalled endpoint costs little per held batch.
 */
import type { RequestBatch } from '../batching/request-batch.js';
import type { Settled } from './parking.js';
import type { Unit } from './units.js';

/** One export's batches in delivery and what became of each; resolved once it is sealed and every batch is settled. */
export interface ExportJob {
  /** Exports are numbered in the order they were opened (drop-oldest under the memory cap). */
  readonly seq: number;
  /** What became of each batch, in the order the batches were added (several entries after a 413 split). */
  readonly settled: Settled[][];
  /** Batches added and not settled yet. */
  remaining: number;
  /** No more batches will be added. */
  sealed: boolean;
  readonly deadlineMillis: number;
  readonly resolve: (settled: Settled[][]) => void;
}

export function createJob(seq: number, deadlineMillis: number, resolve: (settled: Settled[][]) => void): ExportJob {
  return { seq, settled: [], remaining: 0, sealed: false, deadlineMillis, resolve };
}

/** No more batches will be added to the job; it resolves now if every batch it had is settled. */
export function seal(job: ExportJob): void {
  job.sealed = true;
  if (job.remaining === 0) job.resolve(job.settled);
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

/** One client's batches, in order (a linked list of entries). */
export interface Lane {
  readonly clientId: string;
  /** The first entry no worker has taken yet (possibly taken out already). */
  first: Entry | undefined;
  last: Entry | undefined;
  /** Entries neither taken by a worker nor taken out. */
  untaken: number;
  /** Neighbours in the queue; both `undefined` and `queued` false once a worker took the lane or it emptied. */
  before: Lane | undefined;
  after: Lane | undefined;
  queued: boolean;
  /** A worker holds the lane: it takes the entries added meanwhile too. */
  working: boolean;
}

function createLane(clientId: string): Lane {
  return { clientId, first: undefined, last: undefined, untaken: 0, before: undefined, after: undefined, queued: false, working: false };
}

/** Counts one more batch of the job and returns its position, where its outcome goes (`settle`). */
export function reserve(job: ExportJob): number {
  job.remaining++;
  return job.settled.push([]) - 1;
}

/** Records what became of the export's batch at `index`; the last one of a sealed job resolves the export. */
export function settle(job: ExportJob, index: number, settled: Settled[]): void {
  job.settled[index] = settled;
  if (--job.remaining === 0 && job.sealed) job.resolve(job.settled);
}

/** The lanes waiting for a worker (a linked list: a lane that empties leaves it in constant time). */
export class LaneQueue {
  private _head: Lane | undefined;
  private _tail: Lane | undefined;
  /** The lanes that have entries or a worker, by client id. */
  private readonly _lanes = new Map<string, Lane>();
  /** Entries not taken yet, by unit (lanes being worked on included). */
  private readonly _untaken = new Map<Unit, Entry>();

  isEmpty(): boolean {
    return this._head === undefined;
  }

  /** Appends a batch to its client's lane, and queues the lane unless it is queued already or a worker holds it. */
  add(job: ExportJob, unit: Unit, batch: RequestBatch): void {
    let lane = this._lanes.get(batch.clientId);
    if (lane === undefined) this._lanes.set(batch.clientId, (lane = createLane(batch.clientId)));
    const entry: Entry = { unit, batch, job, index: reserve(job), lane, next: undefined };
    if (lane.last === undefined) lane.first = entry;
    else lane.last.next = entry;
    lane.last = entry;
    this._untaken.set(unit, entry);
    lane.untaken++;
    if (!lane.queued && !lane.working) this._push(lane);
  }

  private _push(lane: Lane): void {
    lane.before = this._tail;
    lane.after = undefined;
    lane.queued = true;
    if (this._tail === undefined) this._head = lane;
    else this._tail.after = lane;
    this._tail = lane;
  }

  /** The oldest lane with an entry left, now out of the queue and held by the calling worker (`nextOf`, then `finished`). */
  shift(): Lane | undefined {
    const lane = this._head;
    if (lane !== undefined) {
      this._unlink(lane);
      lane.working = true;
    }
    return lane;
  }

  /** The worker is done with the lane (`nextOf` found nothing left); entries added later queue it again. */
  finished(lane: Lane): void {
    lane.working = false;
    this._forgetIfIdle(lane);
  }

  /** The next entry of a lane a worker holds, now taken; `undefined` once none is left. */
  nextOf(lane: Lane): Entry | undefined {
    for (let entry = lane.first; entry !== undefined; entry = lane.first) {
      lane.first = entry.next;
      // Unlinked: a worker holds its entry for as long as the request takes (a hung endpoint: until the
      // deadline), and through `next` it would keep every later batch of the client alive, dropped ones too.
      entry.next = undefined;
      if (lane.first === undefined) lane.last = undefined;
      if (this._untaken.delete(entry.unit)) {
        lane.untaken--;
        return entry;
      }
    }
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
    while (lane.first !== undefined && !this._untaken.has(lane.first.unit)) {
      const gone = lane.first;
      lane.first = gone.next;
      gone.next = undefined;
    }
    if (lane.first === undefined) lane.last = undefined;
    if (--lane.untaken === 0 && lane.queued) this._unlink(lane);
    this._forgetIfIdle(lane);
    return entry;
  }

  /**
   * Takes a unit's entry out like `take`, but only when it is its lane's next one and no worker holds the
   * lane (nothing of its client is in delivery before it); `undefined` otherwise.
   */
  takeIfFirst(unit: Unit): Entry | undefined {
    const entry = this._untaken.get(unit);
    if (entry === undefined) return undefined;
    const { lane } = entry;
    if (lane.working) return undefined;
    while (lane.first !== undefined && !this._untaken.has(lane.first.unit)) {
      const gone = lane.first;
      lane.first = gone.next;
      gone.next = undefined;
    }
    if (lane.first === undefined) lane.last = undefined;
    return lane.first === entry ? this.take(unit) : undefined;
  }

  /** Whether the client has batches in delivery: waiting in its lane, or with a worker. */
  hasWork(clientId: string): boolean {
    const lane = this._lanes.get(clientId);
    return lane !== undefined && (lane.working || lane.untaken > 0);
  }

  private _forgetIfIdle(lane: Lane): void {
    if (lane.untaken === 0 && !lane.working && !lane.queued && this._lanes.get(lane.clientId) === lane) this._lanes.delete(lane.clientId);
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
