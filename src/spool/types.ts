/** Public types of the durable spool; see `index.ts` for the on-disk format and guarantees. */
import type { GravityDiagnostics } from '../common/diag.js';

/** One record as the spool keeps it: the request envelope fields plus the event's JSON text. */
export interface SpooledRecord {
  /** Gravity client id (the request's `client_id`). */
  clientId: string;
  /** The request's top-level `client_ip`, when the record had one. */
  clientIp?: string;
  /** The request's top-level `client_ua`, when the record had one. */
  clientUa?: string;
  /** The JSON text of one Gravity `event_list` item, kept byte for byte (so it keeps its original `time`). */
  eventJson: string;
}

/** Where a record ends in the spool: its segment (the file name without extension) and the byte after its line. */
export interface SpoolPosition {
  readonly segmentId: string;
  readonly endOffset: number;
}

/** What `Spool.append` did. */
export interface AppendResult {
  readonly written: number;
  readonly dropped: number;
  /** Where the last record written ends (absent when none was written). */
  readonly position?: SpoolPosition;
}

/** Options of `openSpool`. */
export interface SpoolOptions {
  /** The spool directory; created (recursively) when missing. Processes that share it share the spool. */
  dir: string;
  /**
   * Cap on the bytes of segment files in the directory (all writers, as last observed). An append that would
   * pass it drops the records that do not fit and counts them in `stats().dropped`.
   * @default 268435456 (256 MiB)
   */
  maxBytes?: number;
  /** A writer starts a new segment file once its current one would grow past this. @default 8388608 (8 MiB) */
  segmentBytes?: number;
  /** Where the spool's warnings go while no OTel diag logger is registered. @default `GE_DIAGNOSTICS`, else stderr */
  diagnostics?: GravityDiagnostics;
}

/** Records handed out by `Spool.readBatch`; they stay in the spool until acked. */
export interface SpoolBatch {
  /** The records, oldest first; never empty. At most the `maxRecords` asked for (a released batch comes back whole). */
  readonly records: readonly SpooledRecord[];
  /**
   * Durably marks the records consumed (cursor file written and fsynced, then renamed into place). Never
   * rejects: if the cursor cannot be written the failure is logged and the records may be replayed after a
   * restart. Acking twice, or after `release()`, does nothing.
   */
  ack(): Promise<void>;
  /**
   * Gives the records back: the next `readBatch` returns them again (before anything newer). For a delivery
   * that failed and is to be retried later. Does nothing after `ack()`.
   */
  release(): void;
}

/** Counters of one open spool (counts of records unless named otherwise), for this process only. */
export interface SpoolStats {
  /** Records this process wrote to its segments. */
  readonly appended: number;
  /** Records this process acked (delivered). */
  readonly acked: number;
  /** Records refused by `append`: over `maxBytes`, after `close()`, or on a write error. */
  readonly dropped: number;
  /** Lines skipped while reading: failed checksum, torn by a crash, or not in the spool format. */
  readonly corruptLinesSkipped: number;
  /** Bytes of all segment files in the directory, as last observed by this process. */
  readonly bytesOnDisk: number;
}

/** A durable, append-only outbox in one directory. */
export interface Spool {
  /** The directory, as given. */
  readonly dir: string;
  /** Whether this instance holds the directory's lock and so may read and ack (drain). */
  readonly isOwner: boolean;
  /**
   * Writes the records to this instance's current segment with one `write(2)` (two when it rotates), so that
   * once the promise resolves a SIGKILL loses none of them. Records that would pass `maxBytes` are dropped and
   * counted, as are all records after `close()` or on a write error (logged). Never rejects.
   */
  append(records: readonly SpooledRecord[]): Promise<AppendResult>;
  /**
   * Up to `maxRecords` records, oldest first (a batch may span segments), that no earlier batch of this
   * instance handed out; a batch given back by `release()` comes first, whole. Acks may come in any order: the
   * cursor advances over the acked prefix, so after a crash a later acked batch may be replayed, never lost.
   * Acks after `close()` are not recorded. `undefined` when there is nothing to read or this instance is not the
   * owner. A non-owner first tries to take the lock over if its holder has gone, so every process may call
   * this from its drain loop. Throws `RangeError` if `maxRecords` is not a positive integer.
   */
  readBatch(maxRecords: number): Promise<SpoolBatch | undefined>;
  /** Records in the spool not yet acked, as known to this process: found on disk (at open or since) + appended − acked. */
  pendingRecords(): number;
  /**
   * Whether everything up to `position` (of a record this instance appended, say) has been consumed: acked by
   * the owner, durably. A non-owner answers from the cursor as of its last `readBatch` (it may lag, never lead).
   */
  isConsumedThrough(position: SpoolPosition): boolean;
  /** Whether this instance, the owner, has handed out everything up to `position` (`false` for a non-owner). */
  isReadThrough(position: SpoolPosition): boolean;
  /**
   * Whether records that were in the directory when this instance opened, in segments of writers gone by then
   * (such as a previous run of this process), are still ahead: not yet handed out by `readBatch` (the owner),
   * or not yet consumed (another process, as of its last `readBatch`).
   */
  hasUnreadBacklog(): boolean;
  /** A snapshot of the counters. */
  stats(): SpoolStats;
  /** Seals this instance's segment, writes the cursor and releases the lock. Idempotent; never rejects. */
  close(): Promise<void>;
}
