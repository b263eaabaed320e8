/** What a spool knows about one segment file, and the ranges of it handed out. */
import type { SpooledRecord } from './types.js';

/** What this process knows about one segment file. */
export interface SegmentState {
  readonly id: string;
  readonly pid: number;
  readonly writerId: string;
  fileName: string;
  sealed: boolean;
  sizeBytes: number;
  /** Complete lines in `[cursor offset at discovery, countedEnd)`. */
  countedLines: number;
  countedEnd: number;
  /** Lines acked (durably consumed) by this process. */
  consumedLines: number;
  /** Next byte to hand out. */
  readOffset: number;
  /** Bytes durably consumed: the cursor's value. */
  ackedOffset: number;
  /** Handed-out ranges not yet folded into `ackedOffset`, in file order. */
  readonly ranges: Range[];
}

export interface Range {
  readonly segment: SegmentState;
  readonly start: number;
  readonly end: number;
  /** Emptied once acked. */
  records: readonly SpooledRecord[];
  readonly lines: number;
  acked: boolean;
}

/** The state of a segment first seen with `sizeBytes`, of which the cursor says `consumedBytes` are consumed. */
export function newSegmentState(
  id: string,
  pid: number,
  writerId: string,
  fileName: string,
  sealed: boolean,
  sizeBytes: number,
  consumedBytes: number,
): SegmentState {
  const offset = Math.min(consumedBytes, sizeBytes);
  return {
    id, pid, writerId, fileName, sealed, sizeBytes,
    countedLines: 0, countedEnd: offset, consumedLines: 0, readOffset: offset, ackedOffset: offset, ranges: [],
  };
}

/** Oldest first: segment ids start with their creation time. */
export function compareSegments(a: SegmentState, b: SegmentState): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
