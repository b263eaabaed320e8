/** The import's progress line: rewritten in place on a terminal, one line per interval otherwise. */

export interface ProgressSnapshot {
  /** Records Gravity accepted so far (a dry run: records found valid). */
  readonly delivered: number;
  /** Records done with: delivered, rejected, not delivered or spooled. */
  readonly done: number;
  readonly rejected: number;
  /** Records not delivered (refused, failed, dropped). */
  readonly failed: number;
  /** Non-blank lines read so far. */
  readonly records: number;
  readonly bytesRead: number;
  /** Size of the input; `undefined` when unknown (stdin). */
  readonly totalBytes: number | undefined;
  /** The whole input has been read (`records` is the total). */
  readonly inputEnded: boolean;
  readonly elapsedMillis: number;
  readonly dryRun: boolean;
}

function formatDuration(millis: number): string {
  const seconds = Math.max(0, Math.round(millis / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** Records the input holds: known once it is read, else extrapolated from the share of bytes read. */
function expectedRecords(snapshot: ProgressSnapshot): number | undefined {
  const { records, bytesRead, totalBytes, inputEnded } = snapshot;
  if (inputEnded) return records;
  if (totalBytes === undefined || bytesRead === 0) return undefined;
  return Math.max(records, Math.round((records * totalBytes) / bytesRead));
}

/**
 * `4000 records delivered (40%), 8000 records/s, ETA 1s, 3 rejected, 2 not delivered`: the rate is of delivered
 * records; the share and the ETA are of records done with (delivered, rejected or not delivered) against the
 * records expected, and the ETA is `?` while nothing is done yet. Without a known size (stdin, still being
 * read) there is no share and no ETA.
 */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const { delivered, done, rejected, failed, elapsedMillis } = snapshot;
  const rate = elapsedMillis > 0 ? Math.round((delivered * 1000) / elapsedMillis) : 0;
  const expected = expectedRecords(snapshot);
  let text = `${delivered} records ${snapshot.dryRun ? 'valid' : 'delivered'}`;
  if (expected !== undefined) text += ` (${expected > 0 ? Math.floor((Math.min(done, expected) * 100) / expected) : 100}%)`;
  text += `, ${rate} records/s`;
  if (expected !== undefined) {
    const left = Math.max(0, expected - done);
    const eta = left === 0 ? '0s' : done === 0 || elapsedMillis === 0 ? '?' : formatDuration((left * elapsedMillis) / done);
    text += `, ETA ${eta}`;
  }
  if (rejected > 0) text += `, ${rejected} rejected`;
  if (failed > 0) text += `, ${failed} not delivered`;
  return text;
}

export interface ProgressWriter {
  /** Shows the line now (in place on a terminal). */
  update(snapshot: ProgressSnapshot): void;
  /** Shows the last line and ends it. */
  finish(snapshot: ProgressSnapshot): void;
  /** A line of its own about what the import does (stopping, waiting), below the progress line. */
  note(text: string): void;
}

/** Writes `import: <progress>` to `stream`; `\r` + erase-line on a TTY, full lines otherwise. */
export function createProgressWriter(stream: { write(text: string): unknown }, isTTY: boolean): ProgressWriter {
  const prefix = 'import: ';
  return {
    update(snapshot) {
      stream.write(isTTY ? `\r\x1b[2K${prefix}${formatProgress(snapshot)}` : `${prefix}${formatProgress(snapshot)}\n`);
    },
    finish(snapshot) {
      stream.write(isTTY ? `\r\x1b[2K${prefix}${formatProgress(snapshot)}\n` : `${prefix}${formatProgress(snapshot)}\n`);
    },
    note(text) {
      stream.write(isTTY ? `\r\x1b[2K${prefix}${text}\n` : `${prefix}${text}\n`);
    },
  };
}
