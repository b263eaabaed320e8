/**
 * What became of each line of an import: rejected (with its number and why), sent, spooled, or not delivered
 * (with its number and the cause). The summary and the progress line read it.
 */
import type { Settled } from '../../delivery/delivery.js';
import { describeFailure } from './causes.js';

/** Rejected lines kept for the summary with their message (the rest are only counted). */
export const MAX_LISTED_REJECTIONS = 50;

/** One rejected line. */
export interface ImportRejection {
  /** 1-based line number in the input. */
  readonly line: number;
  /** Reason code: `invalid_json`, `invalid_record`, `record_too_large`, or the mapping's (`invalid_key`, ...). */
  readonly reason: string;
  readonly message: string;
}

/** Records not delivered for one cause. */
export interface FailureCause {
  readonly cause: string;
  readonly records: number;
}

export class LineLedger {
  /** Non-blank lines read. */
  records = 0;
  sent = 0;
  rejected = 0;
  /** Not delivered: refused by the service, failed in transport, dropped, or never sent after a stop. */
  failed = 0;
  /** Written to the exporter's spool for a later run. */
  spooled = 0;
  readonly rejections: ImportRejection[] = [];
  readonly rejectedByReason: Record<string, number> = {};
  private readonly _unsentLines: number[] = [];
  private readonly _causes = new Map<string, number>();

  reject(line: number, reason: string, message: string): void {
    this.rejected++;
    this.rejectedByReason[reason] = (this.rejectedByReason[reason] ?? 0) + 1;
    if (this.rejections.length < MAX_LISTED_REJECTIONS) this.rejections.push({ line, reason, message });
  }

  /** Lines that were not delivered, for one cause. */
  notDelivered(lines: readonly number[], cause: string): void {
    if (lines.length === 0) return;
    this.failed += lines.length;
    for (const line of lines) this._unsentLines.push(line);
    this._causes.set(cause, (this._causes.get(cause) ?? 0) + lines.length);
  }

  /**
   * Records the outcome of delivered batches: `lines[i]` are the line numbers of batch i's records in order,
   * `settled[i]` what became of them (one entry per part after a 413 split, each covering the next records).
   */
  settle(lines: readonly (readonly number[])[], settled: readonly (readonly Settled[])[]): void {
    for (let i = 0; i < lines.length; i++) {
      const batchLines = lines[i]!;
      let at = 0;
      for (const part of settled[i] ?? []) {
        const take = Math.min(part.records, batchLines.length - at);
        const partLines = batchLines.slice(at, at + take);
        at += take;
        if (part.outcome === 'sent') this.sent += take;
        else if (part.outcome === 'spooled') this.spooled += take;
        else this.notDelivered(partLines, describeFailure(part.error, part.outcome));
      }
      // A batch the spool took only in part reports the dropped part alone: the rest was written.
      if (at < batchLines.length) this.spooled += batchLines.length - at;
    }
  }

  /** Line numbers not delivered, ascending. */
  unsentLines(): number[] {
    return [...this._unsentLines].sort((a, b) => a - b);
  }

  /** Distinct causes, the most records first. */
  causes(): FailureCause[] {
    return [...this._causes].map(([cause, records]) => ({ cause, records })).sort((a, b) => b.records - a.records);
  }
}

/** `3-5, 17, 40-48`; past `maxRanges` ranges, `... and N more lines`. `lines` ascending. */
export function formatLineRanges(lines: readonly number[], maxRanges = 20): string {
  const parts: string[] = [];
  let i = 0;
  while (i < lines.length && parts.length < maxRanges) {
    const start = lines[i]!;
    let end = start;
    while (i + 1 < lines.length && lines[i + 1]! <= end + 1) end = lines[++i]!;
    i++;
    parts.push(end === start ? `${start}` : `${start}-${end}`);
  }
  const rest = lines.length - i;
  return rest > 0 ? `${parts.join(', ')} ... and ${rest} more lines` : parts.join(', ');
}
