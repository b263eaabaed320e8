/**
 * One bench run in a fresh process (forked by run.ts, config as JSON in argv[2], result over IPC), so that
 * CPU time (`process.cpuUsage`) and peak RSS (`maxRSS`) belong to this runner alone.
 *
 * Runners run on plain node, not tsx (whose loader adds ~55 MB of RSS): run.ts transpiles this file and
 * workload.ts into .bench-out/ and points the `../src/*.js` imports at a snapshot of the BUILT package
 * (dist/esm, copied at bench start so a rebuild during a run cannot change it). The imports below name src/
 * only so that this file type-checks without a build.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OTLPProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import * as gravity from '../src/index.js';
import { main as cliMain } from '../src/cli/main.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { createExportPipeline } from '../src/pipeline/export-pipeline.js';
import { mapLogRecord } from '../src/mapping/map-log-record.js';
import type { Transport } from '../src/transport/types.js';
import { VERSION } from '../src/common/version.js';
import type { LogBody, Logger } from '../test/helpers/otel-line.js';
import { createWorkload, generateWorkload, stampEmitTime, toImportLine, toLogRecord, toWireEvent } from './workload.js';
import type { BenchRecord, BenchUserOp } from './workload.js';

export type RunnerKind =
  | 'gravity-default'
  | 'gravity-tuned'
  | 'otlp-default'
  | 'otlp-tuned'
  | 'gravity-whatif'
  | 'otel-noop'
  | 'encode-floor'
  | 'gravity-encode'
  | 'gravity-import'
  | 'undici-floor'
  | 'gateway-otlp'
  | 'otel-floor';

/** Overrides of the tuned processor settings (`gravity.GRAVITY_PROCESSOR_DEFAULTS` otherwise). */
export interface ProcessorSettings {
  readonly maxQueueSize?: number;
  readonly maxExportBatchSize?: number;
  readonly scheduledDelayMillis?: number;
}

export interface RunnerConfig {
  readonly kind: RunnerKind | 'emit';
  readonly mode: 'burst' | 'sustained';
  readonly sinkOrigin: string;
  readonly seed: number;
  readonly clients: number;
  /** Burst: records emitted at once. Sustained: rate × duration. */
  readonly records: number;
  readonly ratePerSecond: number;
  /** Requests in flight of the undici floor. */
  readonly concurrency: number;
  /** `maxConcurrentRequests` of our tuned and what-if runners; `undefined` = the exporter's default. */
  readonly exporterConcurrency?: number;
  readonly tuned: ProcessorSettings;
  /** `gravity-whatif` only: extra exporter options, and whether to acknowledge exports before delivery. */
  readonly whatif?: { readonly options: Record<string, unknown>; readonly earlyAck: boolean };
  /** `--profile`: write a CPU profile of the measured phase (main thread) into this directory. */
  readonly profileDir?: string;
  /** `gateway-otlp`: origin of the gateway process the OTLP exporter sends to. */
  readonly gatewayOrigin?: string;
}

/**
 * The sender of `gateway-otlp`: OTel's OTLP/HTTP protobuf exporter (uncompressed, its default) behind a batch
 * processor with the tuned runner's sizes (createGravityLogRecordProcessor's defaults), so both paths get the
 * same batches: a burst goes out as one request (~17.5 MB of protobuf for S1, under the gateway's 20 MiB limit).
 * Batches of 8,192 reached 0.3-0.5× the in-process runner's records/s (one batch: 0.7-0.9×): the processor sends
 * one batch at a time, and each batch's records of a client become a request of their own (5,067 requests
 * instead of 1,142). The timeout covers a burst.
 */
export const GATEWAY_SENDER = Object.freeze({ maxQueueSize: 65_536, maxExportBatchSize: 65_536, scheduledDelayMillis: 500, timeoutMillis: 120_000 });

export interface RunnerResult {
  readonly kind: string;
  readonly emitted: number;
  /** First emit → everything flushed (or sent, for the floors). */
  readonly wallMillis: number;
  /** Time spent emitting (sustained: the offered period). */
  readonly emitMillis: number;
  readonly cpuMicros: number;
  /** RSS just before the measured phase (includes the pre-generated workload of burst runs). */
  readonly baselineRssBytes: number;
  readonly peakRssBytes: number;
  /** Our exporter: records the processor never handed over (dropped at its queue). */
  readonly processorDropped?: number;
  readonly exporterStats?: unknown;
  /** The import: its exit code and the first line of its summary. */
  readonly importExitCode?: number;
  readonly importSummary?: string;
  /** Floors: requests made and compressed bytes produced. */
  readonly floorRequests?: number;
  readonly floorBytes?: number;
  readonly warnings: number;
  readonly firstWarning?: string;
}

export interface EmitResult {
  readonly kind: 'emit';
  readonly recordsPerRound: number;
  readonly rounds: number;
  readonly noopNanosPerEmit: number;
  readonly gravityNanosPerEmit: number;
  readonly facadeNanosPerCall?: number;
  readonly plainForFacadeNanosPerEmit?: number;
  readonly facadeNote: string;
}

let warnings = 0;
let firstWarning: string | undefined;
diag.setLogger(
  {
    error: (m: string) => note(m),
    warn: (m: string) => note(m),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  },
  DiagLogLevel.WARN,
);
function note(message: string): void {
  warnings++;
  firstWarning ??= message.slice(0, 300);
}

const noopExporter: LogRecordExporter = {
  export(_logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
    resultCallback({ code: ExportResultCode.SUCCESS });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};

const FLUSH_TIMEOUT = { timeoutMillis: 600_000 };

function gravityExporter(config: RunnerConfig, tuned: boolean): gravity.GravityLogRecordExporter {
  return new gravity.GravityLogRecordExporter({
    url: config.sinkOrigin,
    accessToken: 'bench-token',
    ...(tuned && config.exporterConcurrency !== undefined ? { maxConcurrentRequests: config.exporterConcurrency } : {}),
  });
}

/** The tuned processor settings: the helper's defaults, with the bench's overrides. */
function tunedSettings(config: RunnerConfig): Required<ProcessorSettings> {
  const settings = { ...config.tuned };
  for (const key of Object.keys(settings) as Array<keyof ProcessorSettings>) if (settings[key] === undefined) delete settings[key];
  const { maxQueueSize, maxExportBatchSize, scheduledDelayMillis } = gravity.GRAVITY_PROCESSOR_DEFAULTS;
  return { maxQueueSize, maxExportBatchSize, scheduledDelayMillis, ...settings };
}

/**
 * A what-if of a change to src/ (not a product feature): the exporter acknowledges an export as soon as the
 * batch is handed over (at most `MAX_UNACKED_EXPORTS` outstanding), so the processor's next batch is mapped
 * and sent while the previous one's slow requests are still in flight; forceFlush still waits for all.
 */
const MAX_UNACKED_EXPORTS = 4;
function earlyAck(inner: gravity.GravityLogRecordExporter): LogRecordExporter {
  let outstanding = 0;
  const waiting: Array<() => void> = [];
  return {
    export(logs: ReadableLogRecord[], resultCallback: (result: ExportResult) => void): void {
      outstanding++;
      inner.export(logs, () => {
        outstanding--;
        waiting.shift()?.();
      });
      if (outstanding <= MAX_UNACKED_EXPORTS) resultCallback({ code: ExportResultCode.SUCCESS });
      else waiting.push(() => resultCallback({ code: ExportResultCode.SUCCESS }));
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
}

/**
 * The OTel floor's exporter: the least a hand-written Gravity exporter must do per export, with no checks,
 * retries, deadlines or memory cap. Each log record becomes the wire event the bench expects (`toWireEvent`),
 * the export is grouped per client (≤ 200 records per request), and each request is `JSON.stringify` + `gzipSync`
 * + a POST over an undici `Pool` of `concurrency` connections, `concurrency` requests in flight.
 */
function floorExporter(config: RunnerConfig): LogRecordExporter & { requests(): number } {
  const pool = new Pool(config.sinkOrigin, { connections: config.concurrency, keepAliveTimeout: 4_000 });
  let requests = 0;
  const post = async (clientId: string, events: Record<string, unknown>[]): Promise<void> => {
    requests++;
    const body = gzipSync(Buffer.from(JSON.stringify({ client_id: clientId, event_list: events }), 'utf8'));
    const response = await pool.request({
      path: COLLECT_PATH,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'gravity-content-compress': 'gzip' },
      body,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200 || !text.includes('"code":0')) throw new Error(`HTTP ${response.statusCode} ${text.slice(0, 100)}`);
  };
  return {
    requests: () => requests,
    export(logs, resultCallback) {
      const groups = new Map<string, Record<string, unknown>[]>();
      for (const log of logs) {
        const attributes = log.attributes;
        const clientId = attributes['ge.client_id'] as string;
        const userOp = attributes['ge.user_op'] as BenchUserOp | undefined;
        const timeMillis = log.hrTime[0] * 1000 + Math.round(log.hrTime[1] / 1e6);
        const record = { eventName: log.eventName, userOp, body: log.body as LogBody } as unknown as BenchRecord;
        let list = groups.get(clientId);
        if (list === undefined) groups.set(clientId, (list = []));
        list.push(toWireEvent(record, timeMillis, VERSION));
      }
      const jobs: Array<[string, Record<string, unknown>[]]> = [];
      for (const [clientId, events] of groups) {
        for (let i = 0; i < events.length; i += MAX_RECORDS_PER_REQUEST) jobs.push([clientId, events.slice(i, i + MAX_RECORDS_PER_REQUEST)]);
      }
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < jobs.length) {
          const [clientId, events] = jobs[next++]!;
          await post(clientId, events);
        }
      };
      Promise.all(Array.from({ length: config.concurrency }, worker)).then(
        () => resultCallback({ code: ExportResultCode.SUCCESS }),
        (error: unknown) => {
          note(`otel-floor: ${String(error)}`);
          resultCallback({ code: ExportResultCode.FAILED, error: error as Error });
        },
      );
    },
    shutdown: () => pool.close(),
    forceFlush: () => Promise.resolve(),
  };
}

function buildPipeline(config: RunnerConfig): {
  provider: LoggerProvider;
  logger: Logger;
  exporter: LogRecordExporter;
} {
  const tuned = config.kind.endsWith('-tuned') || config.kind === 'otel-noop' || config.kind === 'otel-floor' || config.kind === 'gravity-whatif';
  let exporter: LogRecordExporter;
  if (config.kind === 'gravity-whatif') {
    const inner = new gravity.GravityLogRecordExporter({
      url: config.sinkOrigin,
      accessToken: 'bench-token',
      ...(config.exporterConcurrency !== undefined ? { maxConcurrentRequests: config.exporterConcurrency } : {}),
      ...config.whatif?.options,
    });
    exporter = config.whatif?.earlyAck === true ? earlyAck(inner) : inner;
    statsOf = () => inner.getStats();
  } else if (config.kind.startsWith('gravity')) exporter = gravityExporter(config, tuned);
  else if (config.kind.startsWith('otlp')) exporter = new OTLPLogExporter({ url: `${config.sinkOrigin}/v1/logs`, compression: 'gzip' as never });
  else if (config.kind === 'gateway-otlp') exporter = new OTLPProtoLogExporter({ url: `${config.gatewayOrigin}/v1/logs`, timeoutMillis: GATEWAY_SENDER.timeoutMillis });
  else if (config.kind === 'otel-floor') exporter = floorExporter(config);
  else exporter = noopExporter;
  // The tuned runner is exactly what the README recommends: the helper, with the exporter it wraps.
  const { maxQueueSize, maxExportBatchSize, scheduledDelayMillis } = GATEWAY_SENDER;
  const processor =
    config.kind === 'gravity-tuned'
      ? gravity.createGravityLogRecordProcessor(exporter as gravity.GravityLogRecordExporter, config.tuned)
      : config.kind === 'gateway-otlp'
        ? new BatchLogRecordProcessor({ exporter, maxQueueSize, maxExportBatchSize, scheduledDelayMillis })
        : new BatchLogRecordProcessor({ exporter, ...(tuned ? tunedSettings(config) : {}) });
  const provider = new LoggerProvider({ processors: [processor] });
  return { provider, logger: provider.getLogger('bench'), exporter };
}

let statsOf: (() => gravity.GravityExporterStats) | undefined;

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Starts a V8 CPU profile of the main thread when `config.profileDir` is set, so that a profile shows the
 * measured phase only (not module loading or workload generation); the returned function stops it and
 * writes `<kind>.cpuprofile`.
 */
async function profileMeasuredPhase(config: RunnerConfig): Promise<() => Promise<void>> {
  const dir = config.profileDir;
  if (dir === undefined) return () => Promise.resolve();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (error, result) => (error === null ? resolve(result) : reject(error))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(join(dir, `${config.kind}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

async function runOtel(config: RunnerConfig): Promise<RunnerResult> {
  const { provider, logger, exporter } = buildPipeline(config);
  let emitted = 0;
  let records: BenchRecord[] = [];
  let logRecords: ReturnType<typeof toLogRecord>[] = [];
  if (config.mode === 'burst') {
    records = generateWorkload({ seed: config.seed, clients: config.clients, records: config.records });
    logRecords = records.map(toLogRecord);
  }
  const baselineRssBytes = process.memoryUsage.rss();
  const stopProfile = await profileMeasuredPhase(config);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (config.mode === 'burst') {
    for (let i = 0; i < records.length; i++) {
      stampEmitTime(records[i]!, Date.now());
      logger.emit(logRecords[i]!);
    }
    emitted = records.length;
  } else {
    const stream = createWorkload({ seed: config.seed, clients: config.clients });
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(config.records, Math.floor((config.ratePerSecond * (performance.now() - t0)) / 1000));
        while (emitted < due) {
          const record = stream.next();
          stampEmitTime(record, Date.now());
          logger.emit(toLogRecord(record));
          emitted++;
        }
        if (emitted >= config.records) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
  }
  const emitMillis = performance.now() - t0;
  await provider.forceFlush(FLUSH_TIMEOUT);
  const wallMillis = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await stopProfile();
  const stats = exporter instanceof gravity.GravityLogRecordExporter ? exporter.getStats() : statsOf?.();
  await provider.shutdown();
  return {
    kind: config.kind,
    emitted,
    wallMillis,
    emitMillis,
    cpuMicros: cpu.user + cpu.system,
    baselineRssBytes,
    peakRssBytes: peakRss(),
    ...(stats !== undefined ? { processorDropped: emitted - stats.received, exporterStats: stats } : {}),
    warnings,
    ...(firstWarning !== undefined ? { firstWarning } : {}),
  };
}

const MAX_RECORDS_PER_REQUEST = 200;
const COLLECT_PATH = '/event_center/api/v1/event/collect/?access_token=bench-token';

/** JSON + gzip of the per-client bodies alone; with `post`, the same POSTed over an undici pool. */
async function runFloor(config: RunnerConfig, post: boolean): Promise<RunnerResult> {
  const records = generateWorkload({ seed: config.seed, clients: config.clients, records: config.records });
  const baselineRssBytes = process.memoryUsage.rss();
  const pool = post ? new Pool(config.sinkOrigin, { connections: config.concurrency, keepAliveTimeout: 4_000 }) : undefined;
  const stopProfile = await profileMeasuredPhase(config);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const record of records) {
    const now = Date.now();
    stampEmitTime(record, now);
    let list = groups.get(record.clientId);
    if (list === undefined) groups.set(record.clientId, (list = []));
    list.push(toWireEvent(record, now, VERSION));
  }
  const jobs: Array<{ clientId: string; events: Record<string, unknown>[] }> = [];
  for (const [clientId, events] of groups) {
    for (let i = 0; i < events.length; i += MAX_RECORDS_PER_REQUEST) jobs.push({ clientId, events: events.slice(i, i + MAX_RECORDS_PER_REQUEST) });
  }
  const emitMillis = performance.now() - t0;
  let next = 0;
  let bytes = 0;
  const encode = (job: (typeof jobs)[number]): Buffer => {
    const body = gzipSync(Buffer.from(JSON.stringify({ client_id: job.clientId, event_list: job.events }), 'utf8'));
    bytes += body.length;
    return body;
  };
  if (pool === undefined) {
    for (const job of jobs) encode(job);
  } else {
    const worker = async (): Promise<void> => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        const response = await pool.request({
          path: COLLECT_PATH,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'gravity-content-compress': 'gzip' },
          body: encode(job),
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || !text.includes('"code":0')) note(`floor: HTTP ${response.statusCode} ${text.slice(0, 100)}`);
      }
    };
    await Promise.all(Array.from({ length: config.concurrency }, worker));
  }
  const wallMillis = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await stopProfile();
  await pool?.close();
  return {
    kind: config.kind,
    emitted: records.length,
    wallMillis,
    emitMillis,
    cpuMicros: cpu.user + cpu.system,
    baselineRssBytes,
    peakRssBytes: peakRss(),
    floorRequests: jobs.length,
    floorBytes: bytes,
    warnings,
    ...(firstWarning !== undefined ? { firstWarning } : {}),
  };
}

/**
 * Our exporter's own work, side by side with the encode floor's (no OTel SDK, no network): the workload's
 * log records are emitted through the OTel SDK and captured before the clock starts; timed is one export of
 * all of them through the exporter's pipeline (mapping, validation, grouping, JSON, gzip, the delivery
 * machinery) with the socket replaced by an immediate `{"code":0}`. The same per-record stamping the floor
 * does in its timed loop is done here too.
 */
async function runEncode(config: RunnerConfig): Promise<RunnerResult> {
  const records = generateWorkload({ seed: config.seed, clients: config.clients, records: config.records });
  const captured: ReadableLogRecord[] = [];
  const capture: LogRecordExporter = {
    export(logs, resultCallback) {
      captured.push(...logs);
      resultCallback({ code: ExportResultCode.SUCCESS });
    },
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  const provider = new LoggerProvider({
    processors: [new BatchLogRecordProcessor({ exporter: capture, maxQueueSize: records.length, maxExportBatchSize: records.length, scheduledDelayMillis: 600_000 })],
  });
  const logger = provider.getLogger('bench');
  const now = Date.now();
  for (const record of records) {
    stampEmitTime(record, now);
    logger.emit(toLogRecord(record));
  }
  await provider.forceFlush(FLUSH_TIMEOUT);
  await provider.shutdown();
  let requests = 0;
  let bytes = 0;
  const transport: Transport = {
    send(request) {
      requests++;
      bytes += request.body.length;
      return Promise.resolve({ status: 'success', response: { code: 0 } });
    },
    close: () => Promise.resolve(),
  };
  const pipeline = createExportPipeline(resolveConfig({ url: config.sinkOrigin, accessToken: 'bench-token' }), { transport });
  const baselineRssBytes = process.memoryUsage.rss();
  const stopProfile = await profileMeasuredPhase(config);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const record of records) stampEmitTime(record, Date.now());
  const result = await new Promise<ExportResult>((resolve) => pipeline.export(captured, mapLogRecord, resolve));
  const wallMillis = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await stopProfile();
  if (result.code !== ExportResultCode.SUCCESS) note(`gravity-encode: ${String(result.error)}`);
  await pipeline.shutdown();
  return {
    kind: config.kind,
    emitted: records.length,
    wallMillis,
    emitMillis: 0,
    cpuMicros: cpu.user + cpu.system,
    baselineRssBytes,
    peakRssBytes: peakRss(),
    floorRequests: requests,
    floorBytes: bytes,
    warnings,
    ...(firstWarning !== undefined ? { firstWarning } : {}),
  };
}

/** The time of every import line: history, far outside the service's 10-day window (the import sets time_free). */
const IMPORT_TIME_MILLIS = Date.UTC(2023, 10, 14, 22, 13, 20);

/**
 * The import CLI path: the workload written as a JSONL file before the clock starts (its markers stamped at
 * that moment), then `gravity-otel import FILE` run in this process through the CLI's own entry (`main`, as
 * bin.js calls it; not timed: node's start-up), from argument parsing to the printed summary.
 */
async function runImport(config: RunnerConfig): Promise<RunnerResult> {
  const records = generateWorkload({ seed: config.seed, clients: config.clients, records: config.records });
  const dir = mkdtempSync(join(tmpdir(), 'gravity-bench-import-'));
  const file = join(dir, 'history.jsonl');
  const now = Date.now();
  const lines = records.map((record) => {
    stampEmitTime(record, now);
    return toImportLine(record, IMPORT_TIME_MILLIS);
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    waitForStop: () => new Promise<string>(() => undefined),
  };
  const argv = ['import', file, '--url', config.sinkOrigin, '--token', 'bench-token'];
  if (config.exporterConcurrency !== undefined) argv.push('--concurrency', String(config.exporterConcurrency));
  const baselineRssBytes = process.memoryUsage.rss();
  const stopProfile = await profileMeasuredPhase(config);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const exitCode = await cliMain(argv, io);
  const wallMillis = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await stopProfile();
  rmSync(dir, { recursive: true, force: true });
  if (exitCode !== 0) note(`import exited with ${exitCode}: ${(stdout + stderr).slice(0, 300)}`);
  return {
    kind: config.kind,
    emitted: records.length,
    wallMillis,
    emitMillis: 0,
    cpuMicros: cpu.user + cpu.system,
    baselineRssBytes,
    peakRssBytes: peakRss(),
    importExitCode: exitCode,
    importSummary: stdout.split('\n', 1)[0] ?? '',
    warnings,
    ...(firstWarning !== undefined ? { firstWarning } : {}),
  };
}

/**
 * The emit path: the same analytics record emitted through a BatchLogRecordProcessor whose exporter is a
 * no-op vs ours (ours must add nothing there), alternating rounds, flushing between rounds untimed.
 */
async function runEmit(config: RunnerConfig): Promise<EmitResult> {
  const recordsPerRound = config.records;
  const rounds = 7;
  const settings = { maxQueueSize: recordsPerRound, maxExportBatchSize: recordsPerRound, scheduledDelayMillis: 60_000 };
  const make = (exporter: LogRecordExporter): { provider: LoggerProvider; logger: Logger } => {
    const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter, ...settings })] });
    return { provider, logger: provider.getLogger('bench') };
  };
  const noop = make(noopExporter);
  const ours = make(gravityExporter(config, true));
  const workload = generateWorkload({ seed: config.seed, clients: config.clients, records: recordsPerRound });
  const logRecords = workload.map(toLogRecord);
  const timeRound = async (logger: Logger, provider: LoggerProvider, emit?: (i: number) => void): Promise<number> => {
    const t0 = performance.now();
    if (emit !== undefined) for (let i = 0; i < recordsPerRound; i++) emit(i);
    else for (let i = 0; i < recordsPerRound; i++) logger.emit(logRecords[i]!);
    const nanos = ((performance.now() - t0) * 1e6) / recordsPerRound;
    await provider.forceFlush(FLUSH_TIMEOUT);
    return nanos;
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const noopTimes: number[] = [];
  const oursTimes: number[] = [];
  await timeRound(noop.logger, noop.provider);
  await timeRound(ours.logger, ours.provider);
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      noopTimes.push(await timeRound(noop.logger, noop.provider));
      oursTimes.push(await timeRound(ours.logger, ours.provider));
    } else {
      oursTimes.push(await timeRound(ours.logger, ours.provider));
      noopTimes.push(await timeRound(noop.logger, noop.provider));
    }
  }

  // The facade (GravityAnalytics), when src/ has one: its track call vs a plain emit of the same record.
  let facade: { facadeNanosPerCall?: number; plainForFacadeNanosPerEmit?: number; facadeNote: string } = {
    facadeNote: 'src/ exports no GravityAnalytics facade yet',
  };
  const Facade = (gravity as unknown as Record<string, unknown>).GravityAnalytics as
    | (new (options: { logger: Logger }) => { track(clientId: string, eventName: string, properties?: Record<string, unknown>): void })
    | undefined;
  if (typeof Facade === 'function') {
    try {
      const analytics = new Facade({ logger: noop.logger });
      const tracks = workload.filter((w) => w.userOp === undefined);
      const trackLogs = tracks.map(toLogRecord);
      const n = tracks.length;
      const facadeTimes: number[] = [];
      const plainTimes: number[] = [];
      const facadeEmit = (i: number): void => analytics.track(tracks[i % n]!.clientId, tracks[i % n]!.eventName!, tracks[i % n]!.body as Record<string, unknown>);
      const plainEmit = (i: number): void => noop.logger.emit(trackLogs[i % n]!);
      await timeRound(noop.logger, noop.provider, facadeEmit);
      for (let r = 0; r < rounds; r++) {
        facadeTimes.push(await timeRound(noop.logger, noop.provider, facadeEmit));
        plainTimes.push(await timeRound(noop.logger, noop.provider, plainEmit));
      }
      facade = {
        facadeNanosPerCall: median(facadeTimes),
        plainForFacadeNanosPerEmit: median(plainTimes),
        facadeNote: 'GravityAnalytics.track(clientId, eventName, properties) through the same no-op pipeline',
      };
    } catch (error) {
      facade = { facadeNote: `facade present but could not be driven: ${String(error).slice(0, 200)}` };
    }
  }
  await noop.provider.shutdown();
  await ours.provider.shutdown();
  return {
    kind: 'emit',
    recordsPerRound,
    rounds,
    noopNanosPerEmit: median(noopTimes),
    gravityNanosPerEmit: median(oursTimes),
    ...facade,
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as RunnerConfig;
  let result: RunnerResult | EmitResult;
  switch (config.kind) {
    case 'emit':
      result = await runEmit(config);
      break;
    case 'encode-floor':
      result = await runFloor(config, false);
      break;
    case 'undici-floor':
      result = await runFloor(config, true);
      break;
    case 'gravity-encode':
      result = await runEncode(config);
      break;
    case 'gravity-import':
      result = await runImport(config);
      break;
    default:
      result = await runOtel(config);
  }
  process.send?.({ result }, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1));
});
