/**
 * `npm run bench`: starts the sink in its own process, replays the same deterministic workload through each
 * runner (each run a fresh process), verifies delivery per client at the sink, prints a table and writes
 * BENCHMARKS.md (full runs only, or with --write).
 *
 *   npm run bench                                   full run (S1, S2, IMPORT ×3 runs; S3 60 s ×1; EMIT; GATEWAY ×3)
 *   npm run bench -- --scenario S1 --runs 1         one scenario, one run
 *   npm run bench -- --scenario IMPORT --write      one scenario, its section of BENCHMARKS.md replaced
 *   npm run bench -- --scenario S3 --duration 10    shorter sustained run
 *   npm run bench -- --scenario S1 --runners gravity-tuned,undici-floor --profile gravity-tuned
 *   npm run bench -- --scenario REQ                 per-request CPU of each layer (bench/request-micro.ts)
 *
 *   npm run bench -- --scenario GATEWAY --runs 3     S1's workload through the OTLP gateway beside the in-process runner
 *
 * Flags: --scenario S1,S2,S3,IMPORT,EMIT,GATEWAY,REQ  --runs N  --s3-runs N  --duration SECONDS  --runners a,b  --concurrency N
 *        --batch N (tuned maxExportBatchSize)  --queue N  --delay-ms N (tuned scheduledDelayMillis)
 *        --profile kind[,kind] (CPU profile of the measured phase into bench/profiles/; `gateway`: of the gateway process)  --write | --no-write  --out FILE
 *        --runners ...,gravity-whatif --whatif '{"compression":"none"}' [--early-ack]: what-if of a src/ change
 */
import { execFile, fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import ts from 'typescript';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { EmitResult, ProcessorSettings, RunnerConfig, RunnerKind, RunnerResult } from './runner.js';
import type { SinkStats } from './sink.js';
import { expectedCountsPerClient } from './workload.js';

interface Scenario {
  readonly id: 'S1' | 'S2' | 'S3' | 'IMPORT' | 'GATEWAY';
  readonly title: string;
  /** Said under the scenario's table (what its runners do beyond the Setup section). */
  readonly note?: string;
  /** A runner whose records/s every other one is also compared with, in a column of its own. */
  readonly compareTo?: RunnerKind;
  readonly mode: 'burst' | 'sustained';
  readonly records: number;
  readonly clients: number;
  readonly responseDelayMillis: number;
  readonly ratePerSecond: number;
  readonly runners: readonly RunnerKind[];
}

const SEED = 20_240_601;
const ALL_RUNNERS: readonly RunnerKind[] = [
  'gravity-default',
  'gravity-tuned',
  'otlp-default',
  'otlp-tuned',
  'otel-noop',
  'encode-floor',
  'gravity-encode',
  'undici-floor',
  'otel-floor',
];
const NETWORK_RUNNERS = new Set<RunnerKind>([
  'gravity-default',
  'gravity-tuned',
  'gravity-whatif',
  'gravity-import',
  'otlp-default',
  'otlp-tuned',
  'undici-floor',
  'gateway-otlp',
  'otel-floor',
]);

function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) args.set(key, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) args.set(key, argv[++i]!);
    else args.set(key, 'true');
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const num = (name: string, fallback: number): number => {
  const value = args.get(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number (actual: ${value})`);
  return n;
};
const runs = num('runs', 3);
const s3Runs = num('s3-runs', 1);
const durationSeconds = num('duration', 60);
// --concurrency sets the undici floor's connections (64 by default) and, when given, our tuned runner's
// maxConcurrentRequests (otherwise the exporter's default: the tuned runner measures the shipped settings).
const concurrency = num('concurrency', 64);
const exporterConcurrency = args.has('concurrency') ? concurrency : undefined;
const optional = (name: string): number | undefined => (args.has(name) ? num(name, 1) : undefined);
const tuned: ProcessorSettings = {
  maxQueueSize: optional('queue'),
  maxExportBatchSize: optional('batch'),
  scheduledDelayMillis: optional('delay-ms'),
};
const selectedScenarios = (args.get('scenario') ?? 'S1,S2,S3,IMPORT,EMIT,GATEWAY,REQ').toUpperCase().split(',');
const runnerFilter = args.get('runners')?.split(',') as RunnerKind[] | undefined;
const withWhatif = (kinds: readonly RunnerKind[]): readonly RunnerKind[] =>
  runnerFilter?.includes('gravity-whatif') === true ? [...kinds, 'gravity-whatif'] : kinds;
// `--whatif '{"compression":"none"}' --early-ack`: the gravity-whatif runner (opt-in, for diagnosis only).
const whatif = { options: JSON.parse(args.get('whatif') ?? '{}') as Record<string, unknown>, earlyAck: args.has('early-ack') };
const profileKinds = new Set(args.get('profile')?.split(',') ?? []);
const isFullRun =
  args.get('scenario') === undefined && args.get('runners') === undefined && runs >= 3 && durationSeconds >= 60;
const write = args.has('write') || (isFullRun && !args.has('no-write'));
const outFile = args.get('out') ?? 'BENCHMARKS.md';

const SCENARIOS: readonly Scenario[] = [
  {
    id: 'S1',
    title: 'S1: 50,000 records, 1,000 clients, no delay (loopback)',
    mode: 'burst',
    records: 50_000,
    clients: 1_000,
    responseDelayMillis: 0,
    ratePerSecond: 0,
    runners: ALL_RUNNERS,
  },
  {
    id: 'S2',
    title: 'S2: 20,000 records, 10,000 clients, 20 ms response delay',
    mode: 'burst',
    records: 20_000,
    clients: 10_000,
    responseDelayMillis: 20,
    ratePerSecond: 0,
    runners: ['gravity-default', 'gravity-tuned', 'otlp-default', 'otlp-tuned', 'undici-floor', 'otel-floor'],
  },
  {
    id: 'S3',
    title: `S3: 5,000 records/s offered for ${durationSeconds} s, 1,000 clients, 20 ms response delay`,
    mode: 'sustained',
    records: 5_000 * durationSeconds,
    clients: 1_000,
    responseDelayMillis: 20,
    ratePerSecond: 5_000,
    runners: ['gravity-default', 'gravity-tuned', 'otlp-tuned'],
  },
  {
    id: 'IMPORT',
    title: 'IMPORT: 10,000 lines, 500 clients, no delay (loopback): the import CLI vs the raw exporter',
    note:
      '`gravity-import` runs `gravity-otel import FILE --url SINK --token T` through the CLI\'s entry (`main`, in the ' +
      'runner\'s process: node\'s start-up is not timed) on the workload written as JSONL before the clock starts ' +
      '(`toImportLine`: a historical `time`, so every record goes out with `time_free`); records/s = lines ' +
      'accepted by the sink ÷ (argument parsing → summary printed). `gravity-tuned` and `undici-floor` send the ' +
      'same 10,000 records the way they do in S1 (log records emitted at once; grouped by hand).',
    mode: 'burst',
    records: 10_000,
    clients: 500,
    responseDelayMillis: 0,
    ratePerSecond: 0,
    runners: ['gravity-import', 'gravity-tuned', 'undici-floor'],
    compareTo: 'gravity-tuned',
  },
  {
    id: 'GATEWAY',
    title: "GATEWAY: S1's workload (50,000 records, 1,000 clients, loopback) through the OTLP gateway, beside the in-process exporter",
    mode: 'burst',
    records: 50_000,
    clients: 1_000,
    responseDelayMillis: 0,
    ratePerSecond: 0,
    runners: ['gravity-tuned', 'gateway-otlp'],
  },
];

// --- processes -------------------------------------------------------------------------------------

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

function startSink(): Promise<{ child: ChildProcess; origin: string }> {
  const child = fork(here('./sink.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ child, origin: `http://127.0.0.1:${message.port}` }));
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
}

interface GatewayProcess {
  readonly origin: string;
  /** The gateway's CPU seconds so far (its /metrics `process_cpu_seconds_total`). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * `gravity-otel gateway` from the snapshot of the built package, on plain node (like the runners), delivering
 * to the sink; OTLP/HTTP only, on a free port.
 */
async function startGateway(sinkOrigin: string, profile: boolean): Promise<GatewayProcess> {
  const profileArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${here(`./profiles/gateway-${Date.now()}`)}`] : [];
  const child = spawn(process.execPath, [...profileArgs, `${OUT_DIR}gravity/cli/bin.js`, 'gateway', '--http', '127.0.0.1:0', '--grpc', 'none'], {
    // Only the settings below: a GE_* variable of the shell (a spool, a deadline) would change what is measured.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GE_'))),
      GE_SERVER_URL: sinkOrigin,
      GE_ACCESS_TOKEN: 'bench-token',
      OTEL_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  let origin: string | undefined;
  while (origin === undefined) {
    origin = /OTLP\/HTTP\s+(http:\/\/\S+?)\/v1\/logs/.exec(output)?.[1];
    if (origin !== undefined) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the gateway did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const gatewayOrigin = origin;
  return {
    origin: gatewayOrigin,
    async cpuSeconds() {
      const text = await (await fetch(`${gatewayOrigin}/metrics`)).text();
      return Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function sinkCall<T>(origin: string, path: string, method: 'GET' | 'POST'): Promise<T> {
  const response = await fetch(`${origin}${path}`, { method });
  return (await response.json()) as T;
}

const OUT_DIR = here('../.bench-out/');

/**
 * Runners run on plain node against the built package, so that their RSS and CPU are the product's (tsx's
 * loader added ~55 MB of RSS to each): dist/esm is snapshotted into .bench-out/gravity/ (a rebuild during a
 * run cannot change it), and runner.ts and workload.ts are transpiled beside it with their src/ imports
 * pointed at the snapshot.
 */
function prepareRunners(): void {
  rmSync(OUT_DIR, { recursive: true, force: true });
  mkdirSync(OUT_DIR, { recursive: true });
  cpSync(here('../dist/esm/'), `${OUT_DIR}gravity/`, { recursive: true });
  for (const name of ['runner', 'workload']) {
    const source = readFileSync(here(`./${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      fileName: `${name}.ts`,
    });
    writeFileSync(`${OUT_DIR}${name}.js`, outputText.replaceAll("'../src/", "'./gravity/"));
  }
}

function runChild<T>(config: RunnerConfig, profile: boolean): Promise<T> {
  let profileDir: string | undefined;
  if (profile) {
    profileDir = here(`./profiles/${config.kind}-${Date.now()}`);
    mkdirSync(profileDir, { recursive: true });
  }
  // execArgv: [] so that the runner does not inherit the --import tsx of this process (~55 MB of RSS).
  const child = fork(`${OUT_DIR}runner.js`, [JSON.stringify({ ...config, profileDir })], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let settled = false;
    child.once('message', (message: { result?: T; error?: string }) => {
      settled = true;
      if (message.result !== undefined) resolve(message.result);
      else reject(new Error(`${config.kind}: ${message.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`${config.kind} exited with ${code} before reporting`));
    });
  });
}

/** bench/request-micro.ts in its own process (it starts its own sink); resolves with its markdown table. */
function runRequestMicro(): Promise<string> {
  const micro = here('./request-micro.ts');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', micro, '--rounds', String(Math.max(5, runs)), '--concurrency', String(concurrency)], { maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error !== null) reject(error);
      else resolve(stdout.split('\n').filter((line) => line.startsWith('|')).join('\n'));
    });
  });
}

function requestSection(table: string): string {
  return [
    '### Per-request CPU of each layer (S2\'s 3,456 request batches, 20 ms answers)',
    '',
    '`bench/request-micro.ts` sends the same batches through each layer of the exporter, in one process beside the',
    'sink\'s, and reads `process.cpuUsage()` per request (medians of rounds in rotating order). What each layer adds',
    'is the price of the guarantees it holds:',
    `- \`undici\`: a bare loop, the exporter's encoding (JSON, gzip level 1) and \`pool.request()\` + \`body.text()\`, ${concurrency} connections.`,
    '- `transport`: one attempt of the exporter\'s HTTP transport instead: the whole-attempt deadline (one sweep',
    '  timer for all attempts), abort, the wire headers (`GE-Integration-*`), the response cap and its classification.',
    '- `delivery`, `delivery-128`: `createDelivery` at the same and at the default 128 connections: order per client',
    '  (lanes), the memory cap\'s accounting, connection slots, the retry machinery (engaged only after a retryable',
    '  result), settling each batch.',
    '- `encode-loop` / `delivery-instant`: no network (a transport that answers on the next turn of the event loop):',
    '  the delivery machinery\'s own cost per batch, without the network\'s noise.',
    '',
    table,
    '',
  ].join('\n');
}

// --- measurement -----------------------------------------------------------------------------------

interface Measurement {
  readonly result: RunnerResult;
  readonly delivered: number | undefined;
  readonly requests: number | undefined;
  readonly lost: number | undefined;
  /** Records filed under the wrong client, duplicated, or beyond a client's expected count. */
  readonly misattributed: number | undefined;
  readonly p50Millis: number | undefined;
  readonly p99Millis: number | undefined;
  /** The sink's CPU time ÷ the runner's wall time (1.0: the sink's one core was busy throughout). */
  readonly sinkBusy: number | undefined;
  /** `gateway-otlp`: the gateway process's CPU seconds per 1,000 delivered records (the runner's are the sender's). */
  readonly gatewayCpuSecondsPer1k: number | undefined;
  readonly recordsPerSecond: number;
  readonly cpuSecondsPer1k: number;
}

function verify(stats: SinkStats, expected: ReadonlyMap<string, number>): { lost: number; extra: number } {
  let lost = 0;
  let extra = 0;
  for (const [clientId, want] of expected) {
    const got = stats.perClient[clientId] ?? 0;
    if (got < want) lost += want - got;
    else extra += got - want;
  }
  for (const [clientId, got] of Object.entries(stats.perClient)) if (!expected.has(clientId)) extra += got;
  return { lost, extra };
}

async function measure(scenario: Scenario, kind: RunnerKind, sinkOrigin: string, expectedBurst: ReadonlyMap<string, number> | undefined): Promise<Measurement> {
  await sinkCall(sinkOrigin, `/__reset?delayMillis=${scenario.responseDelayMillis}`, 'POST');
  const gateway = kind === 'gateway-otlp' ? await startGateway(sinkOrigin, profileKinds.has('gateway')) : undefined;
  const gatewayCpuBefore = await gateway?.cpuSeconds();
  const config: RunnerConfig = {
    kind,
    mode: scenario.mode,
    sinkOrigin,
    ...(gateway !== undefined ? { gatewayOrigin: gateway.origin } : {}),
    seed: SEED,
    clients: scenario.clients,
    records: scenario.records,
    ratePerSecond: scenario.ratePerSecond,
    concurrency,
    ...(exporterConcurrency !== undefined ? { exporterConcurrency } : {}),
    tuned,
    whatif,
  };
  let result: RunnerResult;
  let gatewayCpuSeconds: number | undefined;
  try {
    result = await runChild<RunnerResult>(config, profileKinds.has(kind));
    if (gateway !== undefined) gatewayCpuSeconds = (await gateway.cpuSeconds()) - gatewayCpuBefore!;
  } finally {
    await gateway?.stop();
  }
  const network = NETWORK_RUNNERS.has(kind);
  let delivered: number | undefined;
  let requests: number | undefined;
  let lost: number | undefined;
  let misattributed: number | undefined;
  let p50Millis: number | undefined;
  let p99Millis: number | undefined;
  let sinkBusy: number | undefined;
  if (network) {
    const stats = await sinkCall<SinkStats>(sinkOrigin, '/__stats', 'GET');
    const expected = expectedBurst ?? expectedCountsPerClient({ seed: SEED, clients: scenario.clients, records: result.emitted });
    const check = verify(stats, expected);
    delivered = stats.records;
    requests = stats.requests;
    lost = check.lost;
    misattributed = stats.misattributed + stats.duplicates + check.extra;
    p50Millis = stats.latency.p50Millis;
    p99Millis = stats.latency.p99Millis;
    sinkBusy = stats.cpuMicros / 1000 / result.wallMillis;
    if (stats.badRequests > 0) console.error(`  ! sink could not parse ${stats.badRequests} requests from ${kind}`);
  }
  const counted = delivered ?? result.emitted;
  const measurement: Measurement = {
    result,
    delivered,
    requests: requests ?? result.floorRequests,
    lost,
    misattributed,
    p50Millis,
    p99Millis,
    sinkBusy,
    recordsPerSecond: counted / (result.wallMillis / 1000),
    cpuSecondsPer1k: counted === 0 ? Number.NaN : result.cpuMicros / 1e6 / (counted / 1000),
    gatewayCpuSecondsPer1k: gatewayCpuSeconds === undefined || counted === 0 ? undefined : gatewayCpuSeconds / (counted / 1000),
  };
  const warn = result.warnings > 0 ? ` warnings=${result.warnings} (${result.firstWarning})` : '';
  console.log(
    `  ${scenario.id} ${kind.padEnd(16)} ${fmt(measurement.recordsPerSecond, 0).padStart(7)} rec/s  ` +
      `delivered ${delivered ?? '—'}/${result.emitted}  lost ${lost ?? '—'}  misattr ${misattributed ?? '—'}  ` +
      `req ${measurement.requests ?? '—'}  cpu ${fmt(measurement.cpuSecondsPer1k, 3)} s/1k  ` +
      `emit ${fmt(result.emitMillis, 0)}/${fmt(result.wallMillis, 0)} ms  rss ${mb(result.peakRssBytes)} MB  p50/p99 ${p50Millis ?? '—'}/${p99Millis ?? '—'} ms` +
      (sinkBusy !== undefined ? `  sink busy ${Math.round(sinkBusy * 100)}%` : '') +
      (measurement.gatewayCpuSecondsPer1k !== undefined ? `  gateway cpu ${fmt(measurement.gatewayCpuSecondsPer1k, 3)} s/1k` : '') +
      (result.processorDropped !== undefined ? `  processor-dropped ${result.processorDropped}` : '') +
      (result.importSummary !== undefined ? `  exit ${result.importExitCode}: ${result.importSummary}` : '') +
      warn,
  );
  return measurement;
}

// --- formatting ------------------------------------------------------------------------------------

function fmt(n: number | undefined, digits: number): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
function range(xs: readonly number[], digits: number): string {
  if (xs.length < 2) return fmt(xs[0], digits);
  return `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;
}
function defined(xs: ReadonlyArray<number | undefined>): number[] {
  return xs.filter((x): x is number => x !== undefined);
}

interface RunnerSummary {
  readonly kind: RunnerKind;
  readonly runs: readonly Measurement[];
  readonly recordsPerSecond: number;
  readonly cpuSecondsPer1k: number;
  readonly lostMax: number | undefined;
  readonly misattributedMax: number | undefined;
  readonly p99Millis: number | undefined;
  readonly peakRssBytes: number;
  readonly processorDroppedMax: number | undefined;
}

function summarise(kind: RunnerKind, measurements: readonly Measurement[]): RunnerSummary {
  const lost = defined(measurements.map((m) => m.lost));
  const mis = defined(measurements.map((m) => m.misattributed));
  const p99 = defined(measurements.map((m) => m.p99Millis));
  const dropped = defined(measurements.map((m) => m.result.processorDropped));
  return {
    kind,
    runs: measurements,
    recordsPerSecond: median(measurements.map((m) => m.recordsPerSecond)),
    cpuSecondsPer1k: median(measurements.map((m) => m.cpuSecondsPer1k)),
    lostMax: lost.length > 0 ? Math.max(...lost) : undefined,
    misattributedMax: mis.length > 0 ? Math.max(...mis) : undefined,
    p99Millis: p99.length > 0 ? median(p99) : undefined,
    peakRssBytes: Math.max(...measurements.map((m) => m.result.peakRssBytes)),
    processorDroppedMax: dropped.length > 0 ? Math.max(...dropped) : undefined,
  };
}

function scenarioTable(scenario: Scenario, summaries: readonly RunnerSummary[]): string {
  const floor = summaries.find((s) => s.kind === 'undici-floor');
  const encodeFloor = summaries.find((s) => s.kind === 'encode-floor');
  const cpuReference = encodeFloor ?? floor;
  const cpuRefName = encodeFloor !== undefined ? 'encode floor' : 'undici floor';
  const compared = scenario.compareTo === undefined ? undefined : summaries.find((s) => s.kind === scenario.compareTo);
  const lines = [
    `| runner | records/s median (min–max) | × undici floor |${compared !== undefined ? ` × ${compared.kind} |` : ''} delivered / emitted | lost | misattr. | requests | CPU s / 1k rec | × ${cpuRefName} CPU | peak RSS MB | p50 / p99 emit→accepted ms |`,
    `|---|---:|---:|${compared !== undefined ? '---:|' : ''}---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const s of summaries) {
    const m = s.runs;
    const last = m[Math.floor(m.length / 2)]!;
    const delivered = defined(m.map((x) => x.delivered));
    const p50 = defined(m.map((x) => x.p50Millis));
    const dropNote = s.processorDroppedMax !== undefined && s.processorDroppedMax > 0 ? ` (processor dropped ≤ ${fmt(s.processorDroppedMax, 0)})` : '';
    lines.push(
      [
        `| ${s.kind}`,
        range(m.map((x) => x.recordsPerSecond), 0),
        floor !== undefined && NETWORK_RUNNERS.has(s.kind) ? `${(s.recordsPerSecond / floor.recordsPerSecond).toFixed(2)}×` : '—',
        ...(compared !== undefined ? [`${(s.recordsPerSecond / compared.recordsPerSecond).toFixed(2)}×`] : []),
        delivered.length > 0 ? `${fmt(median(delivered), 0)} / ${fmt(last.result.emitted, 0)}${dropNote}` : `— / ${fmt(last.result.emitted, 0)}`,
        fmt(s.lostMax, 0),
        fmt(s.misattributedMax, 0),
        fmt(median(defined(m.map((x) => x.requests))), 0),
        range(m.map((x) => x.cpuSecondsPer1k), 3),
        cpuReference !== undefined ? `${(s.cpuSecondsPer1k / cpuReference.cpuSecondsPer1k).toFixed(2)}×` : '—',
        mb(s.peakRssBytes),
        p50.length > 0 ? `${fmt(median(p50), 0)} / ${fmt(s.p99Millis, 0)}` : '—',
      ].join(' | ') + ' |',
    );
  }
  const gateway = summaries.find((s) => s.kind === 'gateway-otlp');
  const gatewayCpu = gateway === undefined ? [] : defined(gateway.runs.map((m) => m.gatewayCpuSecondsPer1k));
  const notes = [
    ...(scenario.note === undefined ? [] : [scenario.note]),
    ...(gatewayCpu.length === 0
      ? []
      : [
          `The \`gateway-otlp\` row's CPU is the sender's (OTel SDK and OTLP encoding); the gateway process used ` +
            `${range(gatewayCpu, 3)} CPU s per 1,000 records (decoding, mapping, JSON, gzip, HTTP to the sink).`,
        ]),
  ];
  const note = notes.map((text) => `\n${text}\n`).join('');
  return `### ${scenario.title}\n\n${lines.join('\n')}\n${note}`;
}

interface TargetLine {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

function evaluateTargets(results: Map<string, RunnerSummary[]>, emit: EmitResult | undefined): TargetLine[] {
  const lines: TargetLine[] = [];
  const find = (id: string, kind: RunnerKind): RunnerSummary | undefined => results.get(id)?.find((s) => s.kind === kind);
  const s2 = find('S2', 'gravity-tuned');
  const s2Floor = find('S2', 'undici-floor');
  if (s2 !== undefined) {
    const cpu = s2Floor !== undefined ? s2.cpuSecondsPer1k / s2Floor.cpuSecondsPer1k : undefined;
    const speed = s2Floor !== undefined ? s2.recordsPerSecond / s2Floor.recordsPerSecond : undefined;
    lines.push({
      target: 'S2: CPU per 1k records ≤ 1.2× the undici floor\'s, records/s ≥ 0.95× the floor\'s, 0 lost, 0 misattributed (gravity-tuned)',
      measured:
        (cpu !== undefined && speed !== undefined
          ? `CPU ${cpu.toFixed(2)}× (${fmt(s2.cpuSecondsPer1k, 3)} vs ${fmt(s2Floor!.cpuSecondsPer1k, 3)} s/1k), records/s ${speed.toFixed(2)}× (${fmt(s2.recordsPerSecond, 0)} vs ${fmt(s2Floor!.recordsPerSecond, 0)}), `
          : `${fmt(s2.recordsPerSecond, 0)} records/s (no undici floor in this run), `) +
        `lost ${fmt(s2.lostMax, 0)}, misattributed ${fmt(s2.misattributedMax, 0)}`,
      met:
        cpu !== undefined && speed !== undefined ? cpu <= 1.2 && speed >= 0.95 && s2.lostMax === 0 && s2.misattributedMax === 0 : undefined,
    });
  }
  const s1 = find('S1', 'gravity-tuned');
  const s1Floor = find('S1', 'undici-floor');
  const s1OtelFloor = find('S1', 'otel-floor');
  const s1Encode = find('S1', 'encode-floor');
  const s1Noop = find('S1', 'otel-noop');
  if (s1 !== undefined && s1OtelFloor !== undefined) {
    const ratio = s1.recordsPerSecond / s1OtelFloor.recordsPerSecond;
    lines.push({
      target: 'S1: records/s ≥ 1.0× the OTel floor (same processor, hand-written JSON + gzip + undici exporter) (gravity-tuned)',
      measured:
        `${ratio.toFixed(2)}× (${fmt(s1.recordsPerSecond, 0)} vs ${fmt(s1OtelFloor.recordsPerSecond, 0)} records/s; CPU ` +
        `${(s1.cpuSecondsPer1k / s1OtelFloor.cpuSecondsPer1k).toFixed(2)}× the OTel floor's` +
        (s1Floor !== undefined ? `; the undici floor, which pays no OTel SDK: ${(s1.recordsPerSecond / s1Floor.recordsPerSecond).toFixed(2)}×` : '') +
        ')',
      met: ratio >= 1,
    });
  }
  const s1Alone = find('S1', 'gravity-encode');
  if (s1Encode !== undefined && (s1 !== undefined || s1Alone !== undefined)) {
    const parts: string[] = [];
    const alone = s1Alone !== undefined ? s1Alone.cpuSecondsPer1k / s1Encode.cpuSecondsPer1k : undefined;
    if (alone !== undefined) {
      parts.push(`the exporter alone (gravity-encode: the encode floor's work through our pipeline) ${alone.toFixed(2)}× (${fmt(s1Alone!.cpuSecondsPer1k, 3)} vs ${fmt(s1Encode.cpuSecondsPer1k, 3)} CPU s/1k)`);
    }
    if (s1 !== undefined) {
      const whole = s1.cpuSecondsPer1k / s1Encode.cpuSecondsPer1k;
      const minusSdk = s1Noop !== undefined ? (s1.cpuSecondsPer1k - s1Noop.cpuSecondsPer1k) / s1Encode.cpuSecondsPer1k : undefined;
      parts.push(
        `with its HTTP and the OTel SDK (gravity-tuned) ${whole.toFixed(2)}×` +
          (minusSdk !== undefined ? `, minus the OTel SDK's own cost (otel-noop) ${minusSdk.toFixed(2)}×` : '') +
          (s1Floor !== undefined ? ` (the undici floor's own HTTP puts it at ${(s1Floor.cpuSecondsPer1k / s1Encode.cpuSecondsPer1k).toFixed(2)}×)` : ''),
      );
    }
    lines.push({
      target: 'S1: exporter CPU ≤ 1.2× the encode floor per record',
      measured: parts.join('; '),
      met: alone !== undefined ? alone <= 1.2 : undefined,
    });
  }
  const gatewayRun = find('GATEWAY', 'gateway-otlp');
  const gatewayInProcess = find('GATEWAY', 'gravity-tuned');
  if (gatewayRun !== undefined && gatewayInProcess !== undefined) {
    const ratio = gatewayRun.recordsPerSecond / gatewayInProcess.recordsPerSecond;
    lines.push({
      target: "GATEWAY: ≥ 0.5× the in-process exporter's S1 records/s, p99 emit→accepted ≤ 2 s, 0 lost",
      measured:
        `${ratio.toFixed(2)}× (${fmt(gatewayRun.recordsPerSecond, 0)} vs ${fmt(gatewayInProcess.recordsPerSecond, 0)} records/s), ` +
        `p99 ${fmt(gatewayRun.p99Millis, 0)} ms, lost ${fmt(gatewayRun.lostMax, 0)}, misattributed ${fmt(gatewayRun.misattributedMax, 0)}`,
      met: ratio >= 0.5 && (gatewayRun.p99Millis ?? Infinity) <= 2_000 && gatewayRun.lostMax === 0 && gatewayRun.misattributedMax === 0,
    });
  }
  const s3 = find('S3', 'gravity-tuned');
  if (s3 !== undefined) {
    const lost = s3.lostMax ?? 0;
    lines.push({
      target: 'S3: 0 dropped with the documented settings, p99 emit→accepted ≤ 2 s, peak RSS ≤ 200 MB (gravity-tuned)',
      measured: `${fmt(lost, 0)} lost (processor dropped ${fmt(s3.processorDroppedMax, 0)}), p99 ${fmt(s3.p99Millis, 0)} ms, peak RSS ${mb(s3.peakRssBytes)} MB`,
      met: lost === 0 && (s3.p99Millis ?? Infinity) <= 2_000 && s3.peakRssBytes <= 200 * 1024 * 1024,
    });
  }
  const imported = find('IMPORT', 'gravity-import');
  if (imported !== undefined) {
    const raw = find('IMPORT', 'gravity-tuned');
    const importFloor = find('IMPORT', 'undici-floor');
    const versus = [
      raw !== undefined ? `${(imported.recordsPerSecond / raw.recordsPerSecond).toFixed(2)}× the raw exporter (gravity-tuned, ${fmt(raw.recordsPerSecond, 0)} records/s)` : undefined,
      importFloor !== undefined ? `${(imported.recordsPerSecond / importFloor.recordsPerSecond).toFixed(2)}× the undici floor` : undefined,
    ].filter((x) => x !== undefined);
    lines.push({
      target: 'IMPORT: ≥ 20,000 lines/s for 10,000 lines over 500 clients on loopback, 0 lost, 0 misattributed (gravity-import)',
      measured:
        `${fmt(imported.recordsPerSecond, 0)} lines/s${versus.length > 0 ? ` (${versus.join('; ')})` : ''}, ` +
        `lost ${fmt(imported.lostMax, 0)}, misattributed ${fmt(imported.misattributedMax, 0)}`,
      met: imported.recordsPerSecond >= 20_000 && imported.lostMax === 0 && imported.misattributedMax === 0,
    });
  }
  if (emit !== undefined) {
    const ratio = emit.gravityNanosPerEmit / emit.noopNanosPerEmit;
    lines.push({
      target: 'Emit path: ≤ 1.2× a plain emit (same record, no-op exporter)',
      measured: `${ratio.toFixed(2)}× (${fmt(emit.gravityNanosPerEmit, 0)} vs ${fmt(emit.noopNanosPerEmit, 0)} ns/emit)`,
      met: ratio <= 1.2,
    });
    if (emit.facadeNanosPerCall !== undefined && emit.plainForFacadeNanosPerEmit !== undefined) {
      const facadeRatio = emit.facadeNanosPerCall / emit.plainForFacadeNanosPerEmit;
      lines.push({
        target: "Facade: GravityAnalytics.track ≤ 2× a plain emit",
        measured: `${facadeRatio.toFixed(2)}× (${fmt(emit.facadeNanosPerCall, 0)} vs ${fmt(emit.plainForFacadeNanosPerEmit, 0)} ns/call)`,
        met: facadeRatio <= 2,
      });
    } else {
      lines.push({ target: 'Facade: GravityAnalytics.track ≤ 2× a plain emit', measured: emit.facadeNote, met: undefined });
    }
  }
  return lines;
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus[0]?.model ?? 'unknown'} × ${cpus.length} logical cores`,
    `- Memory: ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node.js ${process.version}`,
  ].join('\n');
}

function emitSection(emit: EmitResult): string {
  const lines = [
    '| emit path | ns per call (median of 7 rounds) | ratio |',
    '|---|---:|---:|',
    `| plain \`logger.emit\`, BatchLogRecordProcessor + no-op exporter | ${fmt(emit.noopNanosPerEmit, 0)} | 1.00× |`,
    `| same record, BatchLogRecordProcessor + GravityLogRecordExporter | ${fmt(emit.gravityNanosPerEmit, 0)} | ${(emit.gravityNanosPerEmit / emit.noopNanosPerEmit).toFixed(2)}× |`,
  ];
  if (emit.facadeNanosPerCall !== undefined && emit.plainForFacadeNanosPerEmit !== undefined) {
    lines.push(`| plain \`logger.emit\` of the track records (facade baseline) | ${fmt(emit.plainForFacadeNanosPerEmit, 0)} | 1.00× |`);
    lines.push(
      `| \`GravityAnalytics.track\` | ${fmt(emit.facadeNanosPerCall, 0)} | ${(emit.facadeNanosPerCall / emit.plainForFacadeNanosPerEmit).toFixed(2)}× |`,
    );
  }
  return `### Emit path (${fmt(emit.recordsPerRound, 0)} records per round)\n\n${lines.join('\n')}\n\nFacade: ${emit.facadeNote}.\n`;
}

/**
 * A partial run written into an existing BENCHMARKS.md: each of its sections replaces the section with the same
 * heading (up to the first `:` or `(`), or goes in before the emit path section (else before the targets); each
 * of its target rows replaces the row with the same target, or is added to the table. The rest stays as it was.
 */
function mergeIntoDocument(doc: string, sections: readonly string[], targets: readonly TargetLine[]): string {
  let lines = doc.split('\n');
  const headingKey = (line: string): string => line.replace(/^### /, '').split(/[:(]/, 1)[0]!.trim();
  const sectionEnd = (start: number): number => {
    let end = start + 1;
    while (end < lines.length && !lines[end]!.startsWith('### ') && !lines[end]!.startsWith('## ')) end++;
    return end;
  };
  for (const section of sections) {
    const body = section.replace(/\n+$/, '').split('\n').concat('');
    const key = headingKey(body[0]!);
    const start = lines.findIndex((line) => line.startsWith('### ') && headingKey(line) === key);
    if (start !== -1) {
      lines.splice(start, sectionEnd(start) - start, ...body);
      continue;
    }
    let at = lines.findIndex((line) => line.startsWith('### Emit path'));
    if (at === -1) at = lines.findIndex((line) => line.startsWith('## Targets'));
    if (at === -1) at = lines.length;
    lines.splice(at, 0, ...body);
  }
  for (const t of targets) {
    const row = `| ${t.target} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`;
    const existing = lines.findIndex((line) => line.startsWith(`| ${t.target} |`));
    if (existing !== -1) {
      lines[existing] = row;
      continue;
    }
    const header = lines.findIndex((line) => line === '| target | measured | met |');
    if (header === -1) continue;
    let end = header + 2;
    while (end < lines.length && lines[end]!.startsWith('|')) end++;
    lines = [...lines.slice(0, end), row, ...lines.slice(end)];
  }
  return lines.join('\n');
}

// --- main ------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const startedAt = new Date();
  prepareRunners();
  const { child: sink, origin } = await startSink();
  const results = new Map<string, RunnerSummary[]>();
  const sections: string[] = [];
  let emit: EmitResult | undefined;
  try {
    for (const scenario of SCENARIOS) {
      if (!selectedScenarios.includes(scenario.id)) continue;
      const kinds = withWhatif(scenario.runners).filter((k) => runnerFilter === undefined || runnerFilter.includes(k));
      if (kinds.length === 0) continue;
      const scenarioRuns = scenario.mode === 'sustained' ? s3Runs : runs;
      console.log(`\n${scenario.title} — ${scenarioRuns} run(s) of ${kinds.join(', ')}`);
      const expected =
        scenario.mode === 'burst' ? expectedCountsPerClient({ seed: SEED, clients: scenario.clients, records: scenario.records }) : undefined;
      const perKind = new Map<RunnerKind, Measurement[]>(kinds.map((k) => [k, []]));
      for (let r = 0; r < scenarioRuns; r++) {
        // Rotate the order so no runner always goes first (warm caches, other engineers' load).
        const order = kinds.map((_, i) => kinds[(i + r) % kinds.length]!);
        for (const kind of order) perKind.get(kind)!.push(await measure(scenario, kind, origin, expected));
      }
      const summaries = kinds.map((k) => summarise(k, perKind.get(k)!));
      results.set(scenario.id, summaries);
      const table = scenarioTable(scenario, summaries);
      sections.push(table);
      console.log(`\n${table}`);
    }
    if (selectedScenarios.includes('EMIT')) {
      console.log('\nEmit path micro-benchmark');
      emit = await runChild<EmitResult>(
        { kind: 'emit', mode: 'burst', sinkOrigin: origin, seed: SEED, clients: 1_000, records: 20_000, ratePerSecond: 0, concurrency, tuned, ...(exporterConcurrency !== undefined ? { exporterConcurrency } : {}) },
        false,
      );
      const section = emitSection(emit);
      sections.push(section);
      console.log(`\n${section}`);
    }
    if (selectedScenarios.includes('REQ')) {
      console.log('\nPer-request CPU of each layer (bench/request-micro.ts)');
      const section = requestSection(await runRequestMicro());
      sections.push(section);
      console.log(`\n${section}`);
    }
  } finally {
    sink.disconnect();
    sink.kill();
  }
  const targets = evaluateTargets(results, emit);
  const targetTable = [
    '| target | measured | met |',
    '|---|---|---|',
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`),
  ].join('\n');
  console.log(`\nTargets\n\n${targetTable}\n`);
  const loadAfter = os.loadavg();
  if (!write) {
    console.log(`(not writing ${outFile}: partial run; pass --write to replace its sections of this run)`);
    return;
  }
  if (!isFullRun && existsSync(outFile)) {
    const stamp =
      `_Measured on ${startedAt.toISOString()} by \`npm run bench -- ${process.argv.slice(2).join(' ')}\`; load average (1/5/15 min) ` +
      `at start ${loadBefore.map((x) => x.toFixed(2)).join(' / ')}, at end ${loadAfter.map((x) => x.toFixed(2)).join(' / ')}._\n`;
    writeFileSync(outFile, mergeIntoDocument(readFileSync(outFile, 'utf8'), sections.map((section) => `${section}\n${stamp}`), targets));
    console.log(`updated ${outFile}: ${sections.map((section) => section.split('\n', 1)[0]).join('; ')}`);
    return;
  }
  const doc = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` on ${startedAt.toISOString()} (${process.argv.slice(2).join(' ') || 'full run'}). Do not edit by hand.`,
    '',
    '## Machine',
    '',
    machine(),
    `- Load average (1/5/15 min) at start ${loadBefore.map((x) => x.toFixed(2)).join(' / ')}, at end ${loadAfter.map((x) => x.toFixed(2)).join(' / ')}`,
    '',
    'This machine is shared with other engineers running builds and tests, so absolute figures are noisy; read the',
    'ratios between runners measured side by side in the same run.',
    '',
    '## Setup',
    '',
    '- Sink: a separate Node process (`bench/sink.ts`, node:http on 127.0.0.1) that gunzips, parses and counts every',
    '  record per client, checks each record\'s markers (client index, sequence number) and measures emit→accepted',
    '  latency when it answers. The response delay (S2, S3) is applied to every request concurrently.',
    `- Workload (\`bench/workload.ts\`): seed ${SEED}; client ids Zipf(1.1) over K clients; 80% track events with 9`,
    '  properties (strings, numbers, a boolean, an array and a nested object) plus 3 numeric markers; 20% user',
    '  operations spread uniformly over set, set_once, increment, max, min, append, uniq_append, unset and delete.',
    '  Properties travel in the log record body, `ge.client_id` / `ge.user_op` in its attributes.',
    '- Every run is a fresh process (`bench/runner.ts`). Burst scenarios (S1, S2) pre-generate the workload, then emit',
    '  it in one synchronous loop and `forceFlush`; records/s = records accepted by the sink ÷ (first emit → flush',
    '  done). S3 emits on a 5 ms tick at the offered rate. CPU = `process.cpuUsage()` of the runner over the measured',
    '  phase (all threads, including zlib\'s thread pool) per 1,000 delivered records (per emitted record for runners',
    '  that send nothing). Peak RSS is the process\'s `maxRSS` and includes the pre-generated workload in S1/S2',
  '  (runners run on plain node against a snapshot of the built package, dist/esm; no tsx loader).',
    '- Runners:',
    '  - `gravity-default`: `LoggerProvider` → `BatchLogRecordProcessor` (OTel defaults: queue 2048, batch 512, 1 s)',
    '    → `GravityLogRecordExporter` (its defaults).',
    '  - `gravity-tuned`: `createGravityLogRecordProcessor(exporter)`, the shipped helper (src/exporters/processors.ts:',
    '    `GRAVITY_PROCESSOR_DEFAULTS`), around a `GravityLogRecordExporter` with its default options' +
      (exporterConcurrency !== undefined ? ` except maxConcurrentRequests ${exporterConcurrency}` : '') +
      (Object.values(tuned).some((v) => v !== undefined) ? `; processor overrides ${JSON.stringify(tuned)}` : '') +
      '.',
    '  - `otlp-default` / `otlp-tuned`: the same processor settings with `@opentelemetry/exporter-logs-otlp-http` (JSON, gzip)',
    '    → the sink\'s `/v1/logs`.',
    '  - `otel-noop`: the tuned processor with a no-op exporter: the OTel SDK\'s own cost (emit, queue, batches).',
    '  - `encode-floor`: build each record\'s wire event, group the whole workload per client (≤ 200 per request),',
    '    `JSON.stringify` + `gzipSync` each body. No OTel, no network.',
    '  - `gravity-encode`: the encode floor\'s work through our code: the workload\'s log records, emitted and captured',
    '    before the clock starts, go through the exporter\'s pipeline in one export (mapping, validation, grouping,',
    '    JSON, gzip, the delivery machinery) with the socket replaced by an immediate `{"code":0}`. No OTel SDK, no network.',
    '  - `gravity-import`: the import CLI (`gravity-otel import FILE`) on the workload written as a JSONL file (IMPORT).',
    `  - \`undici-floor\`: the encode floor POSTed with an undici \`Pool\` of ${concurrency} connections, ${concurrency} requests in flight.`,
    '  - `otel-floor`: the OTel SDK plus the least a Gravity exporter must do: the tuned processor settings feeding a',
    '    hand-written exporter that builds each record\'s wire event, groups the export per client (≤ 200 per request)',
    `    and POSTs \`JSON.stringify\` + \`gzipSync\` bodies over an undici \`Pool\` (${concurrency} connections, ${concurrency} in flight); no checks,`,
    '    retries, deadlines or memory cap. `gravity-tuned` against it separates the OTel SDK\'s cost from ours.',
    '  - `gateway-otlp` (GATEWAY): the workload\'s log records through a `BatchLogRecordProcessor` with the tuned sizes (queue',
    '    and batch 65,536, 500 ms) and OTel\'s OTLP/HTTP protobuf exporter to `gravity-otel gateway` in a process of its own (plain node,',
    '    the built package, ack `delivered`), which delivers to the sink. Records/s end to end (first emit → the last',
    '    request answered, which the gateway does once the sink accepted its records); the gateway\'s own CPU is read from',
    '    its `/metrics`. Sender, gateway and sink share the 2 cores.',
    '- "lost" = records a client should have received but did not; "misattr." = records under the wrong client,',
    '  duplicated, or beyond a client\'s expected count. Both are checked per client against the workload.',
    '- Medians of the runs with min–max; S3 runs once by default (60 s each); runs rotate the runner order.',
    '',
    '## Results',
    '',
    ...sections,
    '## Targets',
    '',
    targetTable,
    '',
  ].join('\n');
  writeFileSync(outFile, doc);
  console.log(`wrote ${outFile}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
