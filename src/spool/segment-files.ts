/**
 * Segment file names and liveness. A segment is `seg-<createdMillis:15>-<sequence:6>-<pid>-<writerId:16 hex>`
 * plus `.open` while its writer may still append to it, `.seg` once sealed. Names sort by creation time.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT_PATTERN = /^(seg-\d{15}-\d{6}-(\d+)-([0-9a-f]{16}))\.(open|seg)$/;
const LIVE_WRITERS_KEY = Symbol.for('gravity-otel-exporter/spool/live-writers');

/** A segment file as found in the directory. */
export interface SegmentFile {
  /** The name without its extension: stable across sealing, the key of the cursor. */
  readonly id: string;
  readonly fileName: string;
  readonly pid: number;
  readonly writerId: string;
  readonly sealed: boolean;
  readonly sizeBytes: number;
}

/**
 * Writer ids of the spools open in this process. Kept on `globalThis` so that the ESM and CJS copies of this
 * package agree; with it a file whose pid is ours but whose writer is not open here (a previous container
 * incarnation with the same pid) counts as gone.
 */
function liveWriters(): Set<string> {
  const holder = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  return (holder[LIVE_WRITERS_KEY] ??= new Set<string>());
}

/** A fresh 16-hex-digit id for a writer or a lock. */
export function newWriterId(): string {
  return randomBytes(8).toString('hex');
}

export function registerLiveWriter(writerId: string): void {
  liveWriters().add(writerId);
}

export function unregisterLiveWriter(writerId: string): void {
  liveWriters().delete(writerId);
}

/** Whether the process `pid` exists (`kill(pid, 0)`: ESRCH means gone, EPERM means alive under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When this process started, in epoch milliseconds, the same in every thread (`process.uptime` is the
 * process's). A little early, for the two clocks read apart.
 */
const PROCESS_STARTED_MILLIS = Date.now() - process.uptime() * 1_000 - 50;

/**
 * Whether the writer (`pid`, `writerId`) that made a segment or lock at `sinceMillis` may still be appending.
 * Another pid: whether that process exists. Our pid: registered here, or made since this process started (by
 * another worker thread, whose registry this thread cannot see); one made before is a previous process that
 * had our pid (a restarted container), so it is gone.
 */
export function isWriterAlive(pid: number, writerId: string, sinceMillis: number): boolean {
  if (pid === process.pid) return liveWriters().has(writerId) || sinceMillis >= PROCESS_STARTED_MILLIS;
  return isProcessAlive(pid);
}

/** The creation time in a segment id (`seg-<createdMillis:15>-…`). */
export function createdMillisOf(segmentId: string): number {
  return Number(segmentId.slice(4, 19));
}

/** The name (without extension) of a new segment. */
export function segmentId(createdMillis: number, sequence: number, writerId: string): string {
  return `seg-${String(createdMillis).padStart(15, '0')}-${String(sequence % 1_000_000).padStart(6, '0')}-${process.pid}-${writerId}`;
}

export function openFileName(id: string): string {
  return `${id}.open`;
}

export function sealedFileName(id: string): string {
  return `${id}.seg`;
}

function parseName(fileName: string, sizeBytes: number): SegmentFile | undefined {
  const match = SEGMENT_PATTERN.exec(fileName);
  if (match === null) return undefined;
  return { id: match[1]!, fileName, pid: Number(match[2]), writerId: match[3]!, sealed: match[4] === 'seg', sizeBytes };
}

function byId(a: SegmentFile, b: SegmentFile): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The segment files in `dir`, oldest first. Files that vanish while listing are left out. */
export async function listSegments(dir: string): Promise<SegmentFile[]> {
  const segments: SegmentFile[] = [];
  for (const fileName of await fsp.readdir(dir)) {
    if (!SEGMENT_PATTERN.test(fileName)) continue;
    try {
      const segment = parseName(fileName, (await fsp.stat(join(dir, fileName))).size);
      if (segment !== undefined) segments.push(segment);
    } catch {
      // deleted or sealed (renamed) meanwhile: the next listing sees it under its new name, or not at all
    }
  }
  return segments.sort(byId);
}

/** Total bytes of the segment files in `dir` (synchronous: used by `append` before it drops records). */
export function measureSegmentBytesSync(dir: string): number {
  let total = 0;
  for (const fileName of readdirSync(dir)) {
    if (!SEGMENT_PATTERN.test(fileName)) continue;
    try {
      total += statSync(join(dir, fileName)).size;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
