/**
 * Historical import: streams JSONL (a file, or stdin) through the exporters' mapping, grouping and delivery
 * (src/mapping, src/pipeline, src/delivery), without an OTel LoggerProvider in between: each line is mapped
 * where its number is known, so every rejection (those a request could not carry too) names its line; records
 * are grouped per client across a large window of the input, so requests carry many records each; and the
 * outcome of every request is traced back to the lines it carried. Memory stays bounded: the input is read
 * in chunks, the window holds at most `maxBufferedRecords` records, and so does delivery (reading waits).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { DEFAULTS, resolveConfig } from '../../config/resolve-config.js';
import { BatchGrouper, serialiseEvent } from '../../batching/request-batch.js';
import type { RequestBatch } from '../../batching/request-batch.js';
import { createExportPipeline, mappingSettings } from '../../pipeline/export-pipeline.js';
import type { ExportPipeline } from '../../pipeline/export-pipeline.js';
import { createHttpTransport } from '../../transport/http-transport.js';
import { watchEndpoint } from './endpoint-watch.js';
import type { EndpointStop } from './endpoint-watch.js';
import { mapImportLine } from './import-record.js';
import { LineLedger } from './line-ledger.js';
import type { FailureCause, ImportRejection } from './line-ledger.js';
import { createProgressWriter } from './progress.js';
import type { ProgressSnapshot } from './progress.js';

export type { FailureCause, ImportRejection } from './line-ledger.js';
export { MAX_LISTED_REJECTIONS } from './line-ledger.js';

/** Requests in flight without --concurrency (as `--help` says). */
export const DEFAULT_CONCURRENCY = 32;
/** How long an interrupted import waits for the requests in flight (a second interrupt ends it at once). */
export const DEFAULT_INTERRUPT_GRACE_MILLIS = 5_000;
/**
 * How long a request of the import is retried. Longer than the exporters' deadline: reading waits for room in
 * delivery, so nothing waits in the import's own queue, and a slow endpoint is no reason to give up on a record.
 */
const IMPORT_DEADLINE_MILLIS = 120_000;
/** Longest line kept in memory; a longer one is rejected and skipped. */
const MAX_LINE_CHARS = 8 * 1024 * 1024;

export interface ImportOptions {
  /** A file path, or `-` for `input`. */
  readonly file: string;
  /** What `-` reads (stdin). */
  readonly input?: NodeJS.ReadableStream;
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
  /**
   * Resolves with a signal name when the user asks to stop (SIGINT, SIGTERM); called once more after that,
   * for a second request that ends the wait for what is in flight.
   */
  readonly waitForStop?: () => Promise<string>;
  /** How long an interrupted import waits for what is in flight. @default 5000 */
  readonly interruptGraceMillis?: number;
}

/** Why an import ended before the end of its input. */
export type ImportStop =
  | { readonly kind: 'interrupted'; readonly signal: string }
  | ({ readonly kind: 'endpoint' } & EndpointStop);

export interface ImportSummary {
  /** Non-blank lines read. */
  readonly records: number;
  /** Records Gravity accepted (0 in a dry run). */
  readonly sent: number;
  /** Lines refused before sending, each with its number (the first are in `rejections`). */
  readonly rejected: number;
  /** Records not delivered: refused by the service, failed in transport, dropped, or not sent after a stop. */
  readonly failed: number;
  /** Records left in the exporter's spool (`GE_SPOOL_DIR`) for a later run. */
  readonly spooled: number;
  /** The first rejected lines, in input order. */
  readonly rejections: readonly ImportRejection[];
  readonly rejectedByReason: Readonly<Record<string, number>>;
  /** The lines of the `failed` records, ascending. */
  readonly unsentLines: readonly number[];
  /** Why the `failed` records were not delivered, the most common cause first. */
  readonly causes: readonly FailureCause[];
  /** Set when the import ended early: interrupted, or the endpoint refused every request. */
  readonly stop: ImportStop | undefined;
  /** The number of the last line read. */
  readonly linesRead: number;
  /** The whole input was read. */
  readonly inputEnded: boolean;
  readonly durationMillis: number;
  readonly dryRun: boolean;
}

interface LineChunk {
  readonly lines: string[];
  readonly bytesRead: number;
}

/** Stands in for a line over MAX_LINE_CHARS (dropped while it is read, so its number stays right). */
const TOO_LONG = '\u0000too-long';
const BYTE_ORDER_MARK = '\uFEFF';

/**
 * The input's lines, a chunk at a time, without holding more than a chunk and one partial line. A UTF-8
 * byte order mark at the start (Windows editors write one) is not part of the first line.
 */
async function* readLineChunks(stream: NodeJS.ReadableStream): AsyncGenerator<LineChunk> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let skipping = false;
  let atStart = true;
  let bytesRead = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    bytesRead += bytes.length;
    let text = rest + decoder.write(bytes);
    if (atStart && text !== '') {
      if (text.startsWith(BYTE_ORDER_MARK)) text = text.slice(1);
      atStart = false;
    }
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
    yield { lines, bytesRead };
  }
  rest += decoder.end();
  if (atStart && rest.startsWith(BYTE_ORDER_MARK)) rest = rest.slice(1);
  if (!skipping && rest !== '') yield { lines: [rest], bytesRead };
}

const isBlank = (text: string): boolean => text.length === 0 || !/\S/.test(text);
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const delay = (millis: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, millis).unref();
  });

/** Runs the import. Throws only for setup errors (unreadable input, bad configuration) and read errors. */
export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  const fromStdin = options.file === '-';
  if (fromStdin && options.input === undefined) throw new TypeError('no standard input to read "-" from');
  const stats = fromStdin ? undefined : await stat(options.file);
  // A pipe or a device named by path has no size to measure progress against.
  const totalBytes = stats?.isFile() === true ? stats.size : undefined;
  const dryRun = options.dryRun === true;

  const ledger = new LineLedger();
  let stop: ImportStop | undefined;
  let finished = false;
  let signalStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (signalStopped = resolve));
  let again: Promise<unknown> | undefined;
  const progress = createProgressWriter(options.progress, options.progressIsTTY);

  let pipeline: ExportPipeline | undefined;
  let settings: ReturnType<typeof mappingSettings>;
  let cap: number;
  if (dryRun) {
    settings = mappingSettings({ ...DEFAULTS, superProperties: undefined, dynamicSuperProperties: undefined });
    cap = DEFAULTS.maxBufferedRecords;
  } else {
    const config = resolveConfig({
      ...(options.url !== undefined && { url: options.url }),
      ...(options.accessToken !== undefined && { accessToken: options.accessToken }),
      maxConcurrentRequests: options.concurrency ?? DEFAULT_CONCURRENCY,
      exportDeadlineMillis: IMPORT_DEADLINE_MILLIS,
      // A client Gravity has not initialised (code 2000) is reported with its lines, for a later run: a
      // background wait would leave its records' fate unknown when the summary is printed.
      clientInitWaitMillis: 0,
      // The summary names every cause with its lines; the exporters' stderr lines would only interleave
      // with the progress line.
      diagnostics: 'off',
    });
    const transport = watchEndpoint(createHttpTransport(config), (endpointStop) => requestStop({ kind: 'endpoint', ...endpointStop }));
    pipeline = createExportPipeline(config, { transport });
    settings = mappingSettings(config);
    cap = config.maxBufferedRecords;
  }
  // Opened once the configuration is known to be good.
  const input = fromStdin ? options.input! : createReadStream(options.file, { highWaterMark: 256 * 1024 });

  function requestStop(why: ImportStop): void {
    if (stop !== undefined || finished) return;
    stop = why;
    progress.note(
      why.kind === 'interrupted'
        ? `interrupted (${why.signal}): reading stopped`
        : `stopping early: ${why.attempts} requests in a row failed: ${why.cause}`,
    );
    signalStopped();
    // The endpoint refuses: not one more request (an interrupt first gives those in flight some time).
    if (why.kind === 'endpoint') pipeline?.abandon();
    (input as { destroy?: () => void }).destroy?.();
    wakeRoom();
  }
  if (options.waitForStop !== undefined) {
    const waitForStop = options.waitForStop;
    void waitForStop().then((signal) => {
      if (stop === undefined && !finished) again = waitForStop();
      requestStop({ kind: 'interrupted', signal });
    });
  }
  const notSentCause = (): string =>
    stop?.kind === 'interrupted' ? `not sent: the import was interrupted (${stop.signal})` : 'not sent: the import stopped early';

  // --- hand-over to delivery, at most `cap` records in it at once ---
  const grouper = new BatchGrouper(settings.limits);
  /** Line numbers of each batch's records, in order, until the batch is handed over. */
  const linesOf = new Map<RequestBatch, number[]>();
  const deliveries = new Set<Promise<void>>();
  let openRecords = 0;
  let inDelivery = 0;
  let roomWaiters: Array<() => void> = [];
  function wakeRoom(): void {
    const waiters = roomWaiters;
    roomWaiters = [];
    for (const wake of waiters) wake();
  }
  async function room(records: number): Promise<void> {
    while (stop === undefined && inDelivery > 0 && inDelivery + records > cap) await new Promise<void>((resolve) => roomWaiters.push(resolve));
  }
  async function allDelivered(): Promise<void> {
    while (deliveries.size > 0) await Promise.all([...deliveries]);
  }

  /**
   * Hands batches to delivery in parts of at most a quarter of what it may hold: the next window's first part
   * goes as soon as one of the previous window's parts is done, not once its last slow request is.
   */
  const partRecords = Math.max(1, Math.floor(cap / 4));
  async function handOver(batches: readonly RequestBatch[]): Promise<void> {
    let start = 0;
    while (start < batches.length) {
      let end = start;
      let records = 0;
      while (end < batches.length && (end === start || records + batches[end]!.eventJson.length <= partRecords)) records += batches[end++]!.eventJson.length;
      const part = batches.slice(start, end);
      start = end;
      openRecords -= records;
      const lines = part.map((batch) => {
        const numbers = linesOf.get(batch)!;
        linesOf.delete(batch);
        return numbers;
      });
      if (pipeline === undefined) continue;
      await room(records);
      if (stop !== undefined) {
        ledger.notDelivered(lines.flat(), notSentCause());
        continue;
      }
      inDelivery += records;
      const delivery: Promise<void> = pipeline
        .deliver(part)
        .then((settled) => ledger.settle(lines, settled))
        .finally(() => {
          inDelivery -= records;
          deliveries.delete(delivery);
          wakeRoom();
        });
      deliveries.add(delivery);
    }
  }

  // --- progress ---
  const started = Date.now();
  let lineNumber = 0;
  let bytesRead = 0;
  let inputEnded = false;
  const snapshot = (): ProgressSnapshot => {
    // Counted per request as it is accepted (the ledger learns per hand-over, once all its requests are done).
    const delivered = dryRun ? ledger.records - ledger.rejected : Math.max(ledger.sent, pipeline?.getStats().sent ?? 0);
    return {
      delivered,
      done: dryRun ? ledger.records : delivered + ledger.rejected + ledger.failed + ledger.spooled,
      rejected: ledger.rejected,
      failed: ledger.failed,
      records: ledger.records,
      bytesRead,
      totalBytes,
      inputEnded,
      elapsedMillis: Date.now() - started,
      dryRun,
    };
  };
  // Kept referenced: it holds the process until the summary is printed. Delivery's own waits (a retry's
  // backoff) hold nothing, and without it the import could end, exit 0 and print nothing mid-run.
  const timer = setInterval(() => progress.update(snapshot()), options.progressIntervalMillis ?? (options.progressIsTTY ? 250 : 2000));

  let completed = false;
  try {
    try {
      for await (const chunk of readLineChunks(input)) {
        for (const text of chunk.lines) {
          lineNumber++;
          if (text === TOO_LONG) {
            ledger.records++;
            ledger.reject(lineNumber, 'invalid_record', `longer than ${MAX_LINE_CHARS} characters`);
            continue;
          }
          if (isBlank(text)) continue;
          ledger.records++;
          const result = mapImportLine(text, settings.context);
          if (!result.ok) {
            ledger.reject(lineNumber, result.reason, result.message);
            continue;
          }
          const record = result.value;
          const json = serialiseEvent(record);
          const batch = grouper.addEvent(record.clientId, record.clientIp, record.clientUa, json);
          if (batch === undefined) {
            grouper.oversized.pop();
            const bytes = Buffer.byteLength(json);
            ledger.reject(lineNumber, 'record_too_large', `its record is ${bytes} bytes of JSON, more than a request may carry (${settings.limits.maxBatchBytes})`);
            continue;
          }
          let lines = linesOf.get(batch);
          if (lines === undefined) linesOf.set(batch, (lines = []));
          lines.push(lineNumber);
          openRecords++;
        }
        bytesRead = chunk.bytesRead;
        // Full requests go at once; the rest wait for the window, so that a client's records share requests.
        await handOver(grouper.takeClosed());
        if (openRecords >= cap) await handOver(grouper.finish());
        if (stop !== undefined) break;
        // Lets the answers to requests in flight in between chunks.
        await yieldToEventLoop();
      }
      inputEnded = stop === undefined;
    } catch (error) {
      // Stopping ends the read by destroying the input; any other error is the input's.
      if (stop === undefined) throw error;
    }
    if (stop === undefined) {
      await handOver(grouper.finish());
    } else {
      for (const batch of grouper.finish()) ledger.notDelivered(linesOf.get(batch)!, notSentCause());
      linesOf.clear();
    }
    await Promise.race([allDelivered(), stopped]);
    if (stop?.kind === 'interrupted' && deliveries.size > 0) {
      const graceMillis = options.interruptGraceMillis ?? DEFAULT_INTERRUPT_GRACE_MILLIS;
      const grace = graceMillis < 1_000 ? `${graceMillis} ms` : `${Math.round(graceMillis / 1000)}s`;
      progress.note(`waiting up to ${grace} for ${inDelivery} records in flight (interrupt again to stop now)`);
      await Promise.race([allDelivered(), delay(graceMillis), ...(again !== undefined ? [again] : [])]);
    }
    if (stop !== undefined) pipeline?.abandon();
    await allDelivered();
    completed = true;
    // Everything is settled: an interrupt from now on changes nothing in the summary.
    finished = true;
  } finally {
    clearInterval(timer);
    // A read error: what is in flight is not waited for (the error is reported instead of a summary).
    if (!completed) pipeline?.abandon();
    await pipeline?.shutdown();
    finished = true;
  }
  progress.finish(snapshot());

  return {
    records: ledger.records,
    sent: ledger.sent,
    rejected: ledger.rejected,
    failed: ledger.failed,
    spooled: ledger.spooled,
    rejections: ledger.rejections,
    rejectedByReason: ledger.rejectedByReason,
    unsentLines: ledger.unsentLines(),
    causes: ledger.causes(),
    stop,
    linesRead: lineNumber,
    inputEnded,
    durationMillis: Date.now() - started,
    dryRun,
  };
}
