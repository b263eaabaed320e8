/**
 * Historical import: streams a JSONL file through the facade into the normal exporter pipeline
 * (LoggerProvider → BatchLogRecordProcessor → GravityLogRecordExporter), so mapping, batching, retry and
 * transport are the exporter's own. Memory stays bounded: the file is read in chunks and the provider is
 * flushed before its queue can fill.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { GravityValidationError } from '../../common/errors.js';
import { GravityAnalytics } from '../../facade/gravity-analytics.js';
import { GravityLogRecordExporter } from '../../exporters/log-record-exporter.js';
import { createGravityLogRecordProcessor } from '../../exporters/processors.js';
import type { GravityExporterStats } from '../../observability/stats.js';
import { importLine } from './import-record.js';
import { createProgressWriter } from './progress.js';
import type { ProgressSnapshot } from './progress.js';

/** Records emitted between two provider flushes; also the processor's queue size, so none is dropped. */
const RECORDS_PER_FLUSH = 10_000;
const RECORDS_PER_EXPORT = 2_000;
/** Requests in flight without --concurrency (as `--help` says). */
export const DEFAULT_CONCURRENCY = 32;
/** Longest line kept in memory; a longer one is rejected and skipped. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;
/** Rejected lines kept for the summary (the rest are only counted). */
export const MAX_LISTED_REJECTIONS = 50;

export interface ImportOptions {
  readonly file: string;
  /** Collect URL (else `GE_SERVER_URL`, else Gravity's). */
  readonly url?: string;
  /** Access token (else `GE_ACCESS_TOKEN` or the URL's `access_token`). */
  readonly accessToken?: string;
  /** Requests in flight at once (`maxConcurrentRequests`). */
  readonly concurrency?: number;
  /** Validate every line, send nothing. */
  readonly dryRun?: boolean;
  /** Where the progress line goes. */
  readonly progress: { write(text: string): unknown };
  /** Rewrite the progress line in place (a terminal) instead of printing one line per interval. */
  readonly progressIsTTY: boolean;
  /** How often the progress line is updated. @default 250 on a terminal, 2000 otherwise */
  readonly progressIntervalMillis?: number;
}

/** One rejected line. */
export interface ImportRejection {
  /** 1-based line number in the file. */
  readonly line: number;
  /** Reason code: `invalid_json`, `invalid_record`, or the mapping's (`invalid_key`, ...). */
  readonly reason: string;
  readonly message: string;
}

export interface ImportSummary {
  /** Non-blank lines read. */
  readonly records: number;
  /** Records Gravity accepted (0 in a dry run). */
  readonly sent: number;
  /** Lines refused before sending plus records the exporter refused. */
  readonly rejected: number;
  /** Records not delivered (refused by the service, failed in transport, or dropped). */
  readonly failed: number;
  /** Records left in the exporter's spool (`spoolDir`) for a later run. */
  readonly spooled: number;
  /** Of `rejected`, the lines refused before sending (they have line numbers; the first are in `rejections`). */
  readonly rejectedLines: number;
  /** The first rejected lines, in file order. */
  readonly rejections: readonly ImportRejection[];
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly durationMillis: number;
  readonly dryRun: boolean;
}

interface LineChunk {
  readonly lines: string[];
  readonly bytesRead: number;
}

/** Stands in for a line over MAX_LINE_CHARS (dropped while it is read, so its number stays right). */
const TOO_LONG = '\u0000too-long';

/** The file's lines, a chunk at a time, without holding more than a chunk and one partial line. */
async function* readLineChunks(file: string): AsyncGenerator<LineChunk> {
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 });
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let skipping = false;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = rest + decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      if (skipping) skipping = false;
      else lines.push(text.slice(start, newline));
      start = newline + 1;
    }
    rest = text.slice(start);
    if (rest.length > MAX_LINE_CHARS) {
      if (!skipping) lines.push(TOO_LONG);
      skipping = true;
      rest = '';
    }
    yield { lines, bytesRead: stream.bytesRead };
  }
  rest += decoder.end();
  if (!skipping && rest !== '') yield { lines: [rest], bytesRead: stream.bytesRead };
}

/** Runs the import. Throws only for setup errors (unreadable file, bad configuration). */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const totalBytes = (await stat(options.file)).size;
  const dryRun = options.dryRun === true;
  let exporter: GravityLogRecordExporter | undefined;
  let provider: LoggerProvider | undefined;
  let ge: GravityAnalytics;
  if (dryRun) {
    // Validates every line through the facade and emits nowhere.
    ge = new GravityAnalytics({ logger: { emit: () => undefined } });
  } else {
    exporter = new GravityLogRecordExporter({
      ...(options.url !== undefined && { url: options.url }),
      ...(options.accessToken !== undefined && { accessToken: options.accessToken }),
      maxConcurrentRequests: options.concurrency ?? DEFAULT_CONCURRENCY,
    });
    // The helper builds the processor for whichever sdk-logs constructor shape is installed (0.200-0.219 take
    // the exporter first).
    provider = new LoggerProvider({
      processors: [
        createGravityLogRecordProcessor(exporter, {
          maxQueueSize: RECORDS_PER_FLUSH,
          maxExportBatchSize: RECORDS_PER_EXPORT,
          scheduledDelayMillis: 200,
        }),
      ],
    });
    ge = new GravityAnalytics({ loggerProvider: provider });
  }

  const started = Date.now();
  const rejections: ImportRejection[] = [];
  const rejectedByReason: Record<string, number> = {};
  let rejected = 0;
  let records = 0;
  let lineNumber = 0;
  let bytesRead = 0;
  const snapshot = (): ProgressSnapshot => ({ records, bytesRead, totalBytes, elapsedMillis: Date.now() - started });
  const progress = createProgressWriter(options.progress, options.progressIsTTY);
  const timer = setInterval(
    () => progress.update(snapshot()),
    options.progressIntervalMillis ?? (options.progressIsTTY ? 250 : 2000),
  );
  timer.unref();

  const reject = (line: number, reason: string, message: string): void => {
    rejected++;
    rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + 1;
    if (rejections.length < MAX_LISTED_REJECTIONS) rejections.push({ line, reason, message });
  };

  try {
    let sinceFlush = 0;
    for await (const chunk of readLineChunks(options.file)) {
      for (const text of chunk.lines) {
        lineNumber++;
        if (text === TOO_LONG) {
          records++;
          reject(lineNumber, 'invalid_record', `line longer than ${MAX_LINE_CHARS} characters`);
          continue;
        }
        if (text.trim() === '') continue;
        records++;
        try {
          importLine(ge, text);
          sinceFlush++;
        } catch (error) {
          if (!(error instanceof GravityValidationError)) throw error;
          reject(lineNumber, error.reason, error.message);
        }
        // The processor drops records beyond its queue: wait for it before the queue can fill.
        if (provider !== undefined && sinceFlush >= RECORDS_PER_FLUSH) {
          await provider.forceFlush();
          sinceFlush = 0;
        }
      }
      bytesRead = chunk.bytesRead;
    }
    bytesRead = totalBytes;
    if (provider !== undefined) await provider.shutdown();
  } finally {
    clearInterval(timer);
  }
  progress.finish(snapshot());

  const stats: Partial<GravityExporterStats> = exporter?.getStats() ?? {};
  for (const [reason, count] of Object.entries(stats.rejectedByReason ?? {})) {
    rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + (count ?? 0);
  }
  return {
    records,
    sent: stats.sent ?? 0,
    rejected: rejected + (stats.rejected ?? 0),
    rejectedLines: rejected,
    failed: (stats.failed ?? 0) + (stats.dropped ?? 0),
    spooled: stats.spooled ?? 0,
    rejections,
    rejectedByReason,
    durationMillis: Date.now() - started,
    dryRun,
  };
}
