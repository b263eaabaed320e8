/**
 * This process's own segment: created lazily on the first append (never an old file, so a torn tail left by
 * a crash cannot run into new lines), appended to with synchronous `write(2)` calls, sealed (renamed
 * `.open` → `.seg`) when it reaches the segment size or the spool closes.
 */
import { closeSync, constants, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openFileName, sealedFileName, segmentId } from './segment-files.js';

/** How the writer tells the spool what happened on disk. */
export interface SegmentWriterEvents {
  onOpened(id: string, fileName: string): void;
  /** `lines` more complete lines are on disk; the segment now ends at `endOffset`. */
  onWritten(id: string, endOffset: number, lines: number): void;
  onSealed(id: string, fileName: string): void;
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND;

export class SegmentWriter {
  private readonly _dir: string;
  private readonly _writerId: string;
  private readonly _segmentBytes: number;
  private readonly _events: SegmentWriterEvents;
  private _sequence = 0;
  /** Creation time of the last segment: a clock stepping back must not sort a later segment first. */
  private _createdMillis = 0;
  private _fd: number | undefined;
  private _id = '';
  private _sizeBytes = 0;

  constructor(dir: string, writerId: string, segmentBytes: number, events: SegmentWriterEvents) {
    this._dir = dir;
    this._writerId = writerId;
    this._segmentBytes = segmentBytes;
    this._events = events;
  }

  /**
   * Writes the lines in order: one `write(2)` per segment they land in. Throws on an I/O error, after sealing
   * the segment it broke (so later appends start a fresh file); lines reported by `onWritten` are on disk.
   */
  append(lines: readonly Buffer[]): void {
    let index = 0;
    while (index < lines.length) {
      if (this._fd === undefined) this._open();
      let bytes = 0;
      let stop = index;
      while (stop < lines.length && (this._sizeBytes + bytes + lines[stop]!.length <= this._segmentBytes || (this._sizeBytes === 0 && stop === index))) {
        bytes += lines[stop]!.length;
        stop++;
      }
      if (stop === index) {
        this.seal();
        continue;
      }
      const chunk = stop - index === 1 ? lines[index]! : Buffer.concat(lines.slice(index, stop), bytes);
      try {
        writeFully(this._fd!, chunk);
      } catch (error) {
        this.seal();
        throw error;
      }
      this._sizeBytes += bytes;
      this._events.onWritten(this._id, this._sizeBytes, stop - index);
      index = stop;
      if (this._sizeBytes >= this._segmentBytes) this.seal();
    }
  }

  /** Closes and renames the current segment, if any; the segment counts as sealed even if that throws. */
  seal(): void {
    const fd = this._fd;
    if (fd === undefined) return;
    this._fd = undefined;
    try {
      closeSync(fd);
      renameSync(join(this._dir, openFileName(this._id)), join(this._dir, sealedFileName(this._id)));
    } catch (error) {
      // still final: nothing will be appended to it, whatever its name says
      this._events.onSealed(this._id, openFileName(this._id));
      throw error;
    }
    this._events.onSealed(this._id, sealedFileName(this._id));
  }

  private _open(): void {
    this._createdMillis = Math.max(Date.now(), this._createdMillis);
    this._id = segmentId(this._createdMillis, this._sequence++, this._writerId);
    this._fd = openSync(join(this._dir, openFileName(this._id)), CREATE_FLAGS, 0o644);
    this._sizeBytes = 0;
    this._events.onOpened(this._id, openFileName(this._id));
  }
}

function writeFully(fd: number, chunk: Buffer): void {
  for (let offset = 0; offset < chunk.length; ) offset += writeSync(fd, chunk, offset, chunk.length - offset);
}
