/**
 * Durable spool: an append-only outbox on disk for records that could not be delivered (yet).
 *
 * ## On-disk format (version 1), all in one directory
 * - Segments `seg-<createdMillis:15 digits>-<sequence:6>-<pid>-<writerId:16 hex>.open` while their writer may
 *   append, renamed to `.seg` when sealed (at `segmentBytes`, or on `close()`). Every writer (each open
 *   spool, in any process) writes only its own segments, and creates a fresh one after every open, so a torn
 *   tail left by a crash is never appended to. Names sort by creation time: that is the drain order.
 * - One record per line: `<crc32 of the JSON's UTF-8 bytes, 8 lowercase hex> <json>\n` with
 *   `json = {"c":clientId,"i"?:clientIp,"u"?:clientUa,"e":"<event JSON text>"}`. The event JSON is kept as a
 *   string, so it comes back byte for byte, original `time` included. A line that fails its checksum or shape
 *   is skipped and counted (`corruptLinesSkipped`); so is a partial last line of a final segment.
 * - `CURSOR`: `{"version":1,"offsets":{"<segment name without extension>":<bytes consumed>}}` for partly
 *   consumed segments; written to a temp file, fsynced and renamed into place. Fully consumed segments are
 *   deleted (before the cursor drops them, so a crash in between cannot replay them).
 * - `LOCK`: `{"version":1,"pid":…,"lockId":…,"acquiredAtMillis":…}`, the owner's; put in place whole (a
 *   complete temp file renamed over it) by the holder of the `O_EXCL` mutex `LOCK.takeover`, only while it is
 *   absent or its holder is gone (`kill(pid, 0)` fails with ESRCH, or the pid is ours but the holder is not
 *   open in this process: a restarted container reuses pids). No hard links needed.
 *
 * ## Guarantees
 * - `append` returns after `write(2)`: a SIGKILL afterwards loses nothing; a SIGKILL during it loses at most
 *   the line being written (one write per append; a torn line is detected by its checksum or missing
 *   newline). Lines are not fsynced: a power loss may lose what the kernel had not flushed.
 * - At-least-once: records stay on disk until acked; a crash between delivery and `ack()` replays them.
 *   Acked records are never replayed by a later owner (the cursor is fsynced before it is renamed).
 * - One owner at a time reads and acks (the lock holder); others only append. The owner drains every segment,
 *   oldest first: those of live writers up to their last complete line (a write in progress may show in part),
 *   and deletes a segment once it is consumed and final (sealed, or its writer gone). An owner re-checks the
 *   lock before every read, so a lost lock stops it draining. Any instance can tell whether the owner has
 *   consumed up to a position it appended (`isConsumedThrough`; a non-owner reads the cursor on `readBatch`),
 *   and whether records left by writers gone when it opened are still ahead (`hasUnreadBacklog`).
 * - Bounded: the segment files in the directory never pass `maxBytes` by this process's count (other
 *   processes are measured when the cap is reached); records that do not fit are dropped and counted.
 *
 * Known limits: if the pid of a dead writer has been reused by another process, its segment is drained but not
 * deleted until that one exits. Order is by segment creation time, so records of two concurrent writers
 * interleave by segment, not by time; each writer's records stay in its order.
 */
import { configurationError } from '../common/errors.js';
import { DiskSpool } from './disk-spool.js';
import type { Spool, SpoolOptions } from './types.js';

export type { AppendResult, Spool, SpoolBatch, SpooledRecord, SpoolOptions, SpoolPosition, SpoolStats } from './types.js';

/** Default of `SpoolOptions.maxBytes`: 256 MiB. */
export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;
/** Default of `SpoolOptions.segmentBytes`: 8 MiB. */
export const DEFAULT_SPOOL_SEGMENT_BYTES = 8 * 1024 * 1024;

function checkPositiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw configurationError('range', name, 'a positive integer number of bytes', value);
  }
  return value;
}

/**
 * Opens (creating it if needed) the spool in `options.dir`: takes the lock when it is free or stale, reads the
 * cursor and counts the records waiting on disk. Rejects with `TypeError`/`RangeError` for invalid options,
 * and with the file-system error if the directory cannot be created or read.
 *
 * @example
 * const spool = await openSpool({ dir: '/var/spool/my-app-gravity' });
 * await spool.append([{ clientId: 'u1', eventJson: '{"type":"track","event":"buy","time":1700000000000,"properties":{}}' }]);
 * const batch = await spool.readBatch(500); // owner only
 * if (batch) { await deliver(batch.records); await batch.ack(); }
 * await spool.close();
 */
export async function openSpool(options: SpoolOptions): Promise<Spool> {
  if (typeof options.dir !== 'string' || options.dir.trim() === '') {
    throw configurationError('type', 'spoolDir', 'a directory path', options.dir);
  }
  const spool = new DiskSpool({
    dir: options.dir,
    maxBytes: checkPositiveInteger('spool maxBytes', options.maxBytes, DEFAULT_SPOOL_MAX_BYTES),
    segmentBytes: checkPositiveInteger('spool segmentBytes', options.segmentBytes, DEFAULT_SPOOL_SEGMENT_BYTES),
    diagnostics: options.diagnostics,
  });
  try {
    await spool.init();
  } catch (error) {
    await spool.close();
    throw error;
  }
  return spool;
}
