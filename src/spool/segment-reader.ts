/** Reads records and counts lines in a byte range of a segment file (asynchronous, bounded memory). */
import { promises as fsp } from 'node:fs';
import { countLines, parseLines } from './line-format.js';
import type { SpooledRecord } from './types.js';

const READ_CHUNK_BYTES = 1024 * 1024;

/** The result of {@link readRecords}. */
export interface ReadResult {
  readonly records: SpooledRecord[];
  /** Complete lines that were corrupt and skipped. */
  readonly corruptLines: number;
  /** Complete lines consumed (good + corrupt). */
  readonly lines: number;
  /** 1 when the range ended in a partial line (a write torn by a crash), which was consumed too. */
  readonly tornLines: number;
  /** Where the next read starts: always the end of a line or `end`. */
  readonly nextOffset: number;
}

/**
 * Reads up to `maxRecords` good records from `path` starting at `start` (a line start) and not past `end`.
 * A partial line that runs up to `end` counts as torn when the range is `final` (a sealed segment or a writer
 * that is gone: it can never be completed); otherwise (a live writer's) it is left for a later read.
 */
export async function readRecords(path: string, start: number, end: number, maxRecords: number, final = true): Promise<ReadResult> {
  const handle = await fsp.open(path, 'r');
  try {
    const records: SpooledRecord[] = [];
    let corruptLines = 0;
    let tornLines = 0;
    let offset = start;
    let chunkBytes = READ_CHUNK_BYTES;
    while (records.length < maxRecords && offset < end) {
      const length = Math.min(chunkBytes, end - offset);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      const bytes = buffer.subarray(0, bytesRead);
      const parsed = parseLines(bytes, maxRecords - records.length);
      if (parsed.consumedBytes === 0) {
        if (offset + bytesRead >= end || bytesRead < length) {
          if (final) {
            tornLines = 1;
            offset = end;
          }
          break;
        }
        chunkBytes *= 2; // one line longer than the chunk
        continue;
      }
      for (const record of parsed.records) records.push(record);
      corruptLines += parsed.corruptLines;
      offset += parsed.consumedBytes;
    }
    return { records, corruptLines, lines: records.length + corruptLines, tornLines, nextOffset: offset };
  } finally {
    await handle.close();
  }
}

/** Counts the complete lines in `path[start, end)`; `endOfLastLine` is absolute (`start` when there is none). */
export async function countLinesInRange(path: string, start: number, end: number): Promise<{ lines: number; endOfLastLine: number }> {
  const handle = await fsp.open(path, 'r');
  try {
    let lines = 0;
    let endOfLastLine = start;
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, Math.max(end - start, 1)));
    for (let offset = start; offset < end; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - offset), offset);
      if (bytesRead === 0) break;
      const counted = countLines(buffer.subarray(0, bytesRead));
      lines += counted.lines;
      if (counted.lines > 0) endOfLastLine = offset + counted.endOfLastLine;
      offset += bytesRead;
    }
    return { lines, endOfLastLine };
  } finally {
    await handle.close();
  }
}
