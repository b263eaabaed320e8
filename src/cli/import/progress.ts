/** The import's progress line: rewritten in place on a terminal, one line per interval otherwise. */

export interface ProgressSnapshot {
  /** Lines handled so far (emitted or rejected). */
  readonly records: number;
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly elapsedMillis: number;
}

function formatDuration(millis: number): string {
  const seconds = Math.max(0, Math.round(millis / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `12000 records (40%), 8000 records/s, ETA 2s`; the ETA comes from the share of the file read. */
export function formatProgress(snapshot: ProgressSnapshot): string {
  const { records, bytesRead, totalBytes, elapsedMillis } = snapshot;
  const share = totalBytes > 0 ? Math.min(1, bytesRead / totalBytes) : 1;
  const rate = elapsedMillis > 0 ? Math.round((records * 1000) / elapsedMillis) : 0;
  const eta = share > 0 ? formatDuration((elapsedMillis * (1 - share)) / share) : '?';
  return `${records} records (${Math.floor(share * 100)}%), ${rate} records/s, ETA ${eta}`;
}

export interface ProgressWriter {
  /** Shows the line now (in place on a terminal). */
  update(snapshot: ProgressSnapshot): void;
  /** Shows the last line and ends it. */
  finish(snapshot: ProgressSnapshot): void;
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
  };
}
