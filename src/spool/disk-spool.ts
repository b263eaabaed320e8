/** The `Spool` implementation: segment bookkeeping, the cap, ranges handed out and their acks. */
import { promises as fsp, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../common/diag.js';
import type { GravityDiagnostics, GravityLogger } from '../common/diag.js';
import { readCursor, removeCursorTemps, writeCursor } from './cursor.js';
import { encodeLine } from './line-format.js';
import { holdsLock, releaseLock, tryAcquireLock } from './lock.js';
import { countLinesInRange, readRecords } from './segment-reader.js';
import type { ReadResult } from './segment-reader.js';
import {
  createdMillisOf,
  isWriterAlive,
  listSegments,
  measureSegmentBytesSync,
  newWriterId,
  registerLiveWriter,
  sealedFileName,
  unregisterLiveWriter,
} from './segment-files.js';
import { SegmentWriter } from './segment-writer.js';
import { compareSegments, newSegmentState } from './segment-state.js';
import type { Range, SegmentState } from './segment-state.js';
import type { AppendResult, Spool, SpoolBatch, SpooledRecord, SpoolPosition, SpoolStats } from './types.js';

/** Resolved options of a disk spool. */
export interface DiskSpoolOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  readonly diagnostics?: GravityDiagnostics | undefined;
}

export class DiskSpool implements Spool {
  readonly dir: string;
  private readonly _maxBytes: number;
  private readonly _writerId = newWriterId();
  private readonly _writer: SegmentWriter;
  private readonly _log: GravityLogger;
  private readonly _segments = new Map<string, SegmentState>();
  private readonly _released: Array<readonly Range[]> = [];
  private _owner = false;
  private _closed = false;
  /** Whether the last append dropped records for lack of space (we warn once per episode). */
  private _full = false;
  private _closing: Promise<void> | undefined;
  private _serial: Promise<unknown> = Promise.resolve();
  private _appended = 0;
  private _acked = 0;
  private _dropped = 0;
  private _corruptLines = 0;
  /** Where the last line this writer wrote ends. */
  private _lastWritten: SpoolPosition | undefined;
  /**
   * Segments of writers already gone when this spool opened (a previous run of this process among them), with
   * their size then: until the owner has read them (another process: until it has consumed them), they may
   * hold earlier records of any client.
   */
  private readonly _backlog = new Map<string, number>();
  /** A non-owner's view of the owner's progress (the cursor as last read). */
  private _cursorView: ReadonlyMap<string, number> = new Map();

  constructor(options: DiskSpoolOptions) {
    this.dir = options.dir;
    this._maxBytes = options.maxBytes;
    this._log = createLogger('spool', options.diagnostics);
    registerLiveWriter(this._writerId);
    this._writer = new SegmentWriter(options.dir, this._writerId, options.segmentBytes, {
      onOpened: (id, fileName) => this._segments.set(id, newSegmentState(id, process.pid, this._writerId, fileName, false, 0, 0)),
      onWritten: (id, endOffset, lines) => {
        this._lastWritten = { segmentId: id, endOffset };
        const state = this._segments.get(id);
        if (state === undefined) return;
        state.sizeBytes = endOffset;
        state.countedEnd = endOffset;
        state.countedLines += lines;
        this._appended += lines;
      },
      onSealed: (id, fileName) => {
        const state = this._segments.get(id);
        if (state === undefined) return;
        state.fileName = fileName;
        state.sealed = true;
        if (this._owner) this._deleteIfConsumedSync(state);
      },
    });
  }

  /** Takes the lock if free and loads what is on disk. Rejects only if the directory cannot be used. */
  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    this._owner = await tryAcquireLock(this.dir, this._writerId);
    if (this._owner) await removeCursorTemps(this.dir);
    const cursor = await readCursor(this.dir);
    this._cursorView = cursor;
    await this._refresh(cursor);
    for (const state of this._segments.values()) {
      if (!this._isOwn(state) && state.sizeBytes > state.ackedOffset && !isWriterAlive(state.pid, state.writerId, createdMillisOf(state.id))) {
        this._backlog.set(state.id, state.sizeBytes);
      }
    }
  }

  get isOwner(): boolean {
    return this._owner;
  }

  async append(records: readonly SpooledRecord[]): Promise<AppendResult> {
    if (this._closed) return this._drop(records.length, 0);
    const lines: Buffer[] = [];
    let bytes = 0;
    let onDisk = this._bytesOnDisk();
    let measured = false;
    for (const record of records) {
      const line = encodeLine(record);
      if (onDisk + bytes + line.length > this._maxBytes && !measured) {
        measured = true;
        onDisk = this._measureBytesOnDisk(onDisk); // the owner may have drained segments meanwhile
      }
      if (onDisk + bytes + line.length > this._maxBytes) break;
      lines.push(line);
      bytes += line.length;
    }
    if (lines.length < records.length && !this._full) {
      this._log.warn(`spool is full (${this._maxBytes} bytes): dropping new records until it drains (see stats().dropped)`);
    }
    this._full = lines.length < records.length;
    const before = this._appended;
    try {
      this._writer.append(lines);
    } catch (error) {
      const written = this._appended - before;
      this._log.warn(`spool write failed, ${records.length - written} of ${records.length} records dropped`, error);
      return this._drop(records.length - written, written);
    }
    return this._drop(records.length - lines.length, lines.length);
  }

  readBatch(maxRecords: number): Promise<SpoolBatch | undefined> {
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1) {
      throw new RangeError(`readBatch: maxRecords is invalid, expected a positive integer (actual: ${String(maxRecords)})`);
    }
    return this._exclusive(async () => {
      if (this._closed) return undefined;
      try {
        if (!(await this._ensureOwner())) return undefined;
        // Before a released batch too: while deliveries keep failing, this is how the owner keeps seeing what
        // other processes spool (the size cap counts their files).
        await this._refresh();
        const released = this._released.shift();
        if (released !== undefined) return this._issue(released);
        return await this._readNext(maxRecords);
      } catch (error) {
        this._log.warn('spool read failed; will try again on the next read', error);
        return undefined;
      }
    });
  }

  pendingRecords(): number {
    let pending = 0;
    for (const state of this._segments.values()) pending += state.countedLines - state.consumedLines;
    return pending;
  }

  isConsumedThrough(position: SpoolPosition): boolean {
    const state = this._segments.get(position.segmentId);
    // Gone from the directory: only an owner deletes a segment, and only once all of it was consumed.
    if (state === undefined) return true;
    const consumed = this._owner ? state.ackedOffset : Math.max(state.ackedOffset, this._cursorView.get(state.id) ?? 0);
    return consumed >= position.endOffset;
  }

  isReadThrough(position: SpoolPosition): boolean {
    if (!this._owner) return false;
    const state = this._segments.get(position.segmentId);
    return state === undefined || state.readOffset >= position.endOffset;
  }

  hasUnreadBacklog(): boolean {
    for (const [id, endOffset] of this._backlog) {
      const state = this._segments.get(id);
      const passed = state === undefined || (this._owner && state.readOffset >= Math.min(endOffset, state.sizeBytes)) || this.isConsumedThrough({ segmentId: id, endOffset });
      if (!passed) return true;
      this._backlog.delete(id);
    }
    return false;
  }

  stats(): SpoolStats {
    return Object.freeze({
      appended: this._appended,
      acked: this._acked,
      dropped: this._dropped,
      corruptLinesSkipped: this._corruptLines,
      bytesOnDisk: this._bytesOnDisk(),
    });
  }

  close(): Promise<void> {
    this._closing ??= this._close();
    return this._closing;
  }

  private async _close(): Promise<void> {
    this._closed = true;
    await this._exclusive(async () => {
      try {
        this._writer.seal();
      } catch (error) {
        this._log.warn('could not seal the spool segment', error);
      }
      if (!this._owner) return;
      this._owner = false;
      try {
        await this._saveCursor();
      } catch (error) {
        this._log.warn('could not record spool progress on close; acked records may be delivered again', error);
      }
      await releaseLock(this.dir, this._writerId).catch((error: unknown) => this._log.warn('could not release the spool lock', error));
    });
    unregisterLiveWriter(this._writerId);
  }

  private _drop(dropped: number, written: number): AppendResult {
    this._dropped += dropped;
    return written > 0 && this._lastWritten !== undefined ? { written, dropped, position: this._lastWritten } : { written, dropped };
  }

  private _measureBytesOnDisk(fallback: number): number {
    try {
      return measureSegmentBytesSync(this.dir);
    } catch {
      return fallback;
    }
  }

  private _bytesOnDisk(): number {
    let total = 0;
    for (const state of this._segments.values()) total += state.sizeBytes;
    return total;
  }

  /** Runs `task` after every earlier read/ack/close task: they share segment state across awaits. */
  private _exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this._serial.then(task);
    this._serial = result.catch(() => undefined);
    return result;
  }

  private _isOwn(state: SegmentState): boolean {
    return state.writerId === this._writerId;
  }

  /**
   * Whether nothing will be appended to it: sealed, or its writer is gone. Ours counts too, for reading: this
   * process writes whole lines, so its open segment never ends in part of one. A live writer's open segment is
   * read up to its last complete line (a write in progress may show only in part).
   */
  private _isFinalForReading(state: SegmentState): boolean {
    return this._isOwn(state) || state.sealed || !isWriterAlive(state.pid, state.writerId, createdMillisOf(state.id));
  }

  /** A non-owner tries to take the lock over; an owner checks it still has it. */
  private async _ensureOwner(): Promise<boolean> {
    if (this._owner) {
      if (await holdsLock(this.dir, this._writerId)) return true;
      this._log.warn('spool lock lost to another process; this process stops draining');
      this._owner = false;
      this._released.length = 0;
      // What was handed out and not acked is read again if this process owns the spool again (at-least-once).
      for (const state of this._segments.values()) {
        state.readOffset = state.ackedOffset;
        state.ranges.length = 0;
      }
      return false;
    }
    if (!(await tryAcquireLock(this.dir, this._writerId))) {
      // Read before listing: a segment deleted in between then shows as gone, never as unconsumed-and-absent.
      const cursor = await readCursor(this.dir);
      await this._refresh();
      this._cursorView = cursor;
      return false;
    }
    this._owner = true;
    await removeCursorTemps(this.dir);
    // The previous owner moved the cursor: start over from it for everything but our own open segment (our
    // sealed ones included: it may have delivered and acked part of them).
    for (const state of [...this._segments.values()]) if (!this._isOwn(state) || state.sealed) this._segments.delete(state.id);
    const cursor = await readCursor(this.dir);
    await this._refresh(cursor);
    // The previous owner may have delivered part of our open segment too.
    for (const state of this._segments.values()) {
      const offset = cursor.get(state.id) ?? 0;
      if (!this._isOwn(state) || state.sealed || offset <= state.ackedOffset || state.ranges.length > 0) continue;
      const consumed = await countLinesInRange(join(this.dir, state.fileName), state.ackedOffset, Math.min(offset, state.sizeBytes));
      state.consumedLines += consumed.lines;
      state.ackedOffset = state.readOffset = consumed.endOfLastLine;
    }
    return true;
  }

  /** Syncs segment states with the directory: new files, sizes, files deleted elsewhere, lines to count. */
  private async _refresh(cursor?: ReadonlyMap<string, number>): Promise<void> {
    const files = await listSegments(this.dir);
    const seen = new Set<string>();
    for (const file of files) {
      seen.add(file.id);
      let state = this._segments.get(file.id);
      if (state === undefined) {
        const offset = cursor?.get(file.id) ?? 0;
        state = newSegmentState(file.id, file.pid, file.writerId, file.fileName, file.sealed, file.sizeBytes, offset);
        this._segments.set(file.id, state);
      } else if (!this._isOwn(state) || state.sealed) {
        state.fileName = file.fileName;
        state.sealed = file.sealed;
        state.sizeBytes = Math.max(state.sizeBytes, file.sizeBytes);
      }
      if (state.countedEnd < state.sizeBytes) {
        const counted = await countLinesInRange(join(this.dir, state.fileName), state.countedEnd, state.sizeBytes);
        state.countedLines += counted.lines;
        state.countedEnd = counted.endOfLastLine;
      }
      if (this._owner) await this._deleteIfConsumed(state);
    }
    for (const state of [...this._segments.values()]) {
      if (!seen.has(state.id) && !(this._isOwn(state) && !state.sealed)) this._segments.delete(state.id);
    }
  }

  /**
   * Reads up to `maxRecords` records from the oldest segments with something unread (a batch may span
   * segments). Ranges holding only skipped lines are acked at once.
   */
  private async _readNext(maxRecords: number): Promise<SpoolBatch | undefined> {
    const ordered = [...this._segments.values()].sort(compareSegments);
    const ranges: Range[] = [];
    let count = 0;
    for (const state of ordered) {
      while (count < maxRecords && state.readOffset < state.sizeBytes) {
        const result = await this._readRecords(state, maxRecords - count);
        if (result.nextOffset === state.readOffset) break; // a live writer's line not complete yet
        const damaged = result.corruptLines + result.tornLines;
        if (damaged > 0) {
          this._corruptLines += damaged;
          this._log.warn(`${damaged} damaged spool lines (checksum or torn) skipped in segment ${state.id}; their records are lost`);
        }
        const range: Range = { segment: state, start: state.readOffset, end: result.nextOffset, records: result.records, lines: result.lines, acked: false };
        state.readOffset = result.nextOffset;
        state.ranges.push(range);
        if (result.records.length > 0) {
          ranges.push(range);
          count += result.records.length;
        } else {
          range.acked = true;
          await this._advance(state);
        }
      }
    }
    return ranges.length > 0 ? this._issue(ranges) : undefined;
  }

  private async _readRecords(state: SegmentState, maxRecords: number): Promise<ReadResult> {
    const fileName = state.fileName;
    const final = this._isFinalForReading(state);
    try {
      return await readRecords(join(this.dir, fileName), state.readOffset, state.sizeBytes, maxRecords, final);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Sealed (renamed) meanwhile: by an append of ours while the open was in flight, or by its live writer.
      if (state.fileName === fileName && !state.sealed) {
        state.fileName = sealedFileName(state.id);
        state.sealed = true;
      }
      return await readRecords(join(this.dir, state.fileName), state.readOffset, state.sizeBytes, maxRecords, true);
    }
  }

  private _issue(ranges: readonly Range[]): SpoolBatch {
    let settled = false;
    return {
      records: ranges.length === 1 ? ranges[0]!.records : ranges.flatMap((range) => range.records),
      ack: () => {
        if (settled) return Promise.resolve();
        settled = true;
        return this._exclusive(async () => {
          for (const range of ranges) {
            range.acked = true;
            this._acked += range.records.length;
            // Acked ranges wait in `ranges` until those before them are acked too: without their records.
            range.records = [];
            await this._advance(range.segment);
          }
        });
      },
      release: () => {
        if (settled) return;
        settled = true;
        if (this._owner && !this._closed) this._released.push(ranges);
      },
    };
  }

  /** Folds the acked prefix of a segment's ranges into its cursor offset and persists it. Never rejects. */
  private async _advance(state: SegmentState): Promise<void> {
    const before = state.ackedOffset;
    while (state.ranges.length > 0 && state.ranges[0]!.acked) {
      const range = state.ranges.shift()!;
      state.ackedOffset = range.end;
      state.consumedLines += range.lines;
    }
    if (state.ackedOffset === before || !this._owner) return;
    try {
      // deleting first is safe: a segment that is gone cannot be replayed, whatever the cursor says
      await this._deleteIfConsumed(state);
      await this._saveCursor();
    } catch (error) {
      this._log.warn('could not record spool progress; acked records may be delivered again after a restart', error);
    }
  }

  private _isConsumed(state: SegmentState): boolean {
    const final = state.sealed || (!this._isOwn(state) && !isWriterAlive(state.pid, state.writerId, createdMillisOf(state.id)));
    return final && state.ranges.length === 0 && state.ackedOffset >= state.sizeBytes && state.readOffset >= state.sizeBytes;
  }

  private async _deleteIfConsumed(state: SegmentState): Promise<void> {
    if (!this._isConsumed(state)) return;
    if (!state.sealed) {
      // Final only because its writer is gone: it may have appended after our last look, before it died.
      const size = await fsp.stat(join(this.dir, state.fileName)).then((stat) => stat.size, () => state.sizeBytes);
      if (this._grewSinceListed(state, size)) return;
    }
    await fsp.rm(join(this.dir, state.fileName), { force: true });
    this._segments.delete(state.id);
  }

  /** Takes a newer size of an unsealed segment; `true` when it grew (so it is not consumed after all). */
  private _grewSinceListed(state: SegmentState, size: number): boolean {
    if (size <= state.sizeBytes) return false;
    state.sizeBytes = size;
    return true;
  }

  private _deleteIfConsumedSync(state: SegmentState): void {
    if (!this._isConsumed(state)) return;
    try {
      if (!state.sealed && this._grewSinceListed(state, statSync(join(this.dir, state.fileName), { throwIfNoEntry: false })?.size ?? 0)) return;
      unlinkSync(join(this.dir, state.fileName));
      this._segments.delete(state.id);
    } catch (error) {
      this._log.warn('could not delete a consumed spool segment; the next owner will', error);
    }
  }

  private async _saveCursor(): Promise<void> {
    const offsets = new Map<string, number>();
    for (const state of this._segments.values()) if (state.ackedOffset > 0) offsets.set(state.id, state.ackedOffset);
    await writeCursor(this.dir, offsets, this._writerId);
  }
}
