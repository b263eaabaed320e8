/**
 * The package as a user gets it: `npm pack` of a clean copy of the checkout (no dist/: prepack builds it),
 * installed with a plain `npm install` (no flags) from the registry into fresh apps beside the OpenTelemetry
 * packages of one line (scripts/otel-lines.json: GRAVITY_OTEL_LINE, else the line installed here), then used
 * from ES modules and CommonJS, and compiled with TypeScript 5 and 7.
 * - logs app: the package, api, sdk-logs (and api-logs on 2.x), no trace SDK at all;
 * - full app: the same plus the line's trace SDK and NodeSDK.
 * Needs the npm registry: `npm run test:package` (scripts/matrix.mjs runs it on each leg), not part of `npm test`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { OTEL_LINE } from '../helpers/otel-line.js';

const run = promisify(execFile);
const repoRoot = process.cwd();
const MINUTES = 60_000;

interface LineConsumer {
  logs: string[];
  traces: string[];
  nodeSdk: string[];
  traceSdk: string;
  tracerProvider: string;
}
const lines = JSON.parse(readFileSync(path.join(repoRoot, 'scripts/otel-lines.json'), 'utf8')) as Record<string, { title: string; consumer: LineConsumer }>;
const lineName = process.env['GRAVITY_OTEL_LINE'] ?? `otel${OTEL_LINE}`;
const line = lines[lineName];
if (line === undefined) throw new Error(`GRAVITY_OTEL_LINE=${lineName}: no such line in scripts/otel-lines.json`);
const { consumer } = line;
const TYPESCRIPTS = { ts5: 'typescript@5', ts7: 'typescript@7' } as const;

let work: string;
let tarball: string;
let packedFiles: Array<{ path: string; mode: number }>;
let logsApp: string;
let fullApp: string;
const installs: Record<string, { stdout: string; stderr: string }> = {};

/** The working tree without installs and builds: what a clean checkout holds. */
function copyCleanCheckout(to: string): void {
  const skipped = new Set(['node_modules', 'dist', '.git', '.cache', '.bench-out']);
  cpSync(repoRoot, to, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(repoRoot, source);
      return !skipped.has(relative.split(path.sep)[0]!) && !relative.endsWith('.tgz');
    },
  });
  // The build needs the dev dependencies (TypeScript, the OTel types) that `npm ci` put here.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(to, 'node_modules'), 'dir');
}

async function npmInstall(app: string, packages: readonly string[]): Promise<void> {
  mkdirSync(app, { recursive: true });
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: path.basename(app), version: '1.0.0', private: true }));
  const { stdout, stderr } = await run('npm', ['install', '--no-audit', '--no-fund', ...packages], { cwd: app, timeout: 10 * MINUTES });
  installs[path.basename(app)] = { stdout, stderr };
}

function installedVersion(app: string, name: string): string | undefined {
  const manifest = path.join(app, 'node_modules', name, 'package.json');
  return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : undefined;
}

before(
  async () => {
    work = mkdtempSync(path.join(tmpdir(), 'gravity-package-'));
    const checkout = path.join(work, 'checkout');
    copyCleanCheckout(checkout);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: checkout, timeout: 5 * MINUTES });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string; mode: number }> }>;
    tarball = path.join(work, packed!.filename);
    packedFiles = packed!.files;
    mkdirSync(path.join(work, 'unpacked'));
    await run('tar', ['-xzf', tarball, '-C', path.join(work, 'unpacked')]);

    logsApp = path.join(work, 'logs-app');
    fullApp = path.join(work, 'full-app');
    await Promise.all([
      npmInstall(logsApp, [tarball, ...consumer.logs]),
      npmInstall(fullApp, [
        tarball,
        ...consumer.logs,
        ...consumer.traces,
        ...consumer.nodeSdk,
        ...Object.entries(TYPESCRIPTS).map(([alias, spec]) => `${alias}@npm:${spec}`),
      ]),
    ]);
  },
  { timeout: 15 * MINUTES },
);
after(() => rmSync(work, { recursive: true, force: true }));

describe(`the packed package (${line.title})`, () => {
  it('the tarball holds exactly dist (ESM, CJS, types, bin), README.md, LICENSE and package.json', () => {
    const files = packedFiles.map((file) => file.path);
    assert.deepEqual(files.filter((file) => !/^(dist\/.+|README\.md|LICENSE|package\.json)$/.test(file)), []);
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      main: string;
      module: string;
      types: string;
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, Record<string, string>>>;
    };
    const targets = [manifest.main, manifest.module, manifest.types, ...Object.values(manifest.bin)];
    for (const conditions of Object.values(manifest.exports)) {
      if (typeof conditions === 'string') continue;
      for (const condition of Object.values(conditions)) targets.push(condition['types']!, condition['default']!);
    }
    for (const target of targets) assert.ok(files.includes(path.posix.normalize(target)), `${target} is packed`);
    for (const kind of [/^dist\/esm\/.+\.js$/, /^dist\/cjs\/.+\.js$/, /^dist\/esm\/.+\.d\.ts$/, /^dist\/cjs\/.+\.d\.ts$/]) {
      assert.ok(files.some((file) => kind.test(file)), `${kind} files are packed`);
    }
    for (const bin of Object.values(manifest.bin)) {
      const file = packedFiles.find((packed) => packed.path === path.posix.normalize(bin))!;
      assert.ok((file.mode & 0o111) !== 0, `${bin} is executable`);
      assert.match(readFileSync(path.join(work, 'unpacked', 'package', bin), 'utf8'), /^#!\/usr\/bin\/env node\n/);
    }
  });

  it('every source map in the tarball resolves: sources inlined, and every sourceMappingURL names a packed map', () => {
    const files = new Set(packedFiles.map((file) => file.path));
    let maps = 0;
    for (const file of files) {
      const text = readFileSync(path.join(work, 'unpacked', 'package', file), 'utf8');
      const reference = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(text)?.[1];
      if (reference !== undefined) {
        assert.ok(files.has(path.posix.join(path.posix.dirname(file), reference)), `${file} refers to a packed ${reference}`);
      }
      if (!file.endsWith('.map')) continue;
      maps++;
      const map = JSON.parse(text) as { sources: string[]; sourcesContent?: Array<string | null> };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${file} inlines its sources`);
      assert.ok(map.sourcesContent!.every((content) => typeof content === 'string' && content.length > 0), `${file} inlines its sources`);
    }
    assert.ok(maps > 0);
  });

  it('installs with plain npm install beside the line\'s OpenTelemetry packages; the logs app has no trace SDK', (t) => {
    for (const [app, output] of Object.entries(installs)) {
      assert.doesNotMatch(`${output.stdout}\n${output.stderr}`, /ERESOLVE|peer dependency|conflicting peer/i, `${app}: npm install says nothing about peers`);
    }
    for (const name of ['@opentelemetry/sdk-trace', '@opentelemetry/sdk-trace-base']) {
      assert.equal(installedVersion(logsApp, name), undefined, `the logs app has no ${name}`);
    }
    const versions = ['api', 'api-logs', 'sdk-logs', 'core', 'sdk-trace', 'sdk-trace-base', 'sdk-node'].map(
      (name) => `${name} ${installedVersion(fullApp, `@opentelemetry/${name}`) ?? '-'}`,
    );
    t.diagnostic(`node ${process.version}; full app: ${versions.join(', ')}; logs app: sdk-logs ${installedVersion(logsApp, '@opentelemetry/sdk-logs')}`);
    assert.equal(installedVersion(fullApp, '@opentelemetry/api')?.startsWith(lineName === 'otel3' ? '1.10.' : '1.9.'), true);
  });

  for (const format of ['cjs', 'mjs'] as const) {
    it(`logs app (${format}): imports the package without a trace SDK and delivers; the span helper names the SDK to install`, async () => {
      const result = await runConsumer(logsApp, format, 'logs');

      assert.match(result.entry, format === 'cjs' ? /gravity-otel-exporter[\\/]dist[\\/]cjs[\\/]index\.js$/ : /gravity-otel-exporter\/dist\/esm\/index\.js$/);
      assert.deepEqual([result.viaLogger, result.facadeWithProvider], [RECORDS, 1]);
      assert.equal(
        result.spanHelper,
        `GravityConfigurationError: createGravitySpanProcessor needs an OpenTelemetry trace SDK and found neither @opentelemetry/sdk-trace nor @opentelemetry/sdk-trace-base: install ${consumer.traceSdk} (OpenTelemetry JS ${lineName === 'otel3' ? '3' : '2'}.x) beside gravity-otel-exporter`,
      );
    });

    it(`full app (${format}): LoggerProvider, the tracer provider and NodeSDK with new GravityAnalytics() each deliver every record`, async () => {
      const result = await runConsumer(fullApp, format, 'full');

      assert.deepEqual(
        [result.viaLogger, result.facadeWithProvider, result.viaSpan, result.viaNodeSdkFacade, result.viaNodeSdkSpan],
        [RECORDS, 1, RECORDS, RECORDS, 1],
      );
    });
  }

  for (const [alias, spec] of Object.entries(TYPESCRIPTS)) {
    for (const app of ['logs', 'full'] as const) {
      it(`${app} app compiles with ${spec} (strict, nodenext ESM and CJS, bundler; no skipLibCheck, no Node types)`, async () => {
        const dir = app === 'logs' ? logsApp : fullApp;
        writeTypeChecks(dir, app);
        const tsc = path.join(fullApp, 'node_modules', alias, 'bin', 'tsc');
        const version = (await run(process.execPath, [tsc, '--version'], { cwd: dir })).stdout.trim();
        assert.match(version, new RegExp(`^Version ${spec.split('@')[1]}\\.`));
        for (const project of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
          const compiled = await run(process.execPath, [tsc, '-p', project], { cwd: dir, timeout: 5 * MINUTES }).then(
            ({ stdout }) => stdout,
            (error: { stdout?: string }) => error.stdout ?? String(error),
          );
          assert.equal(compiled.trim(), '', `${version}, ${app} app, ${project}: 0 errors`);
        }
      });
    }
  }
});

const TOKEN = 'package-test-token';
const RECORDS = 40;

interface ConsumerResult {
  entry: string;
  viaLogger: number;
  facadeWithProvider: number;
  spanHelper?: string;
  viaSpan?: number;
  viaNodeSdkFacade?: number;
  viaNodeSdkSpan?: number;
}

/** The consumer's code, the same from both formats: `load` is `import()` or `require`. */
const CONSUMER_BODY = `
async function main(load, entry) {
  const pkg = await load('gravity-otel-exporter');
  const { startEmulator } = await load('gravity-otel-exporter/emulator');
  const { LoggerProvider } = await load('@opentelemetry/sdk-logs');
  const emulator = await startEmulator({ accessToken: ${JSON.stringify(TOKEN)} });
  const options = { url: emulator.url, accessToken: ${JSON.stringify(TOKEN)} };
  const count = (event) => emulator.events().filter((e) => e.event === event).length;
  const client = (i) => 'user-' + (i % 7);
  const result = { entry };

  const provider = new LoggerProvider({ processors: [pkg.createGravityLogRecordProcessor(options)] });
  const logger = provider.getLogger('package-test');
  for (let i = 0; i < ${RECORDS}; i++) logger.emit({ eventName: 'via_logger', attributes: { 'ge.client_id': client(i), seq: i } });
  new pkg.GravityAnalytics({ loggerProvider: provider }).userSet(client(0), { via: 'facade' });
  await provider.shutdown();
  result.viaLogger = count('via_logger');
  result.facadeWithProvider = count('profile_set');

  if (process.env.SCENARIO === 'logs') {
    try {
      pkg.createGravitySpanProcessor(options);
      result.spanHelper = 'no error';
    } catch (error) {
      result.spanHelper = error.name + ': ' + error.message;
    }
  } else {
    const traceSdk = await load(process.env.TRACE_SDK);
    const tracerProvider = new traceSdk[process.env.TRACER_PROVIDER]({ spanProcessors: [pkg.createGravitySpanProcessor(options)] });
    const tracer = tracerProvider.getTracer('package-test');
    for (let i = 0; i < ${RECORDS}; i++) {
      const span = tracer.startSpan('checkout', { attributes: { 'ge.client_id': client(i) } });
      span.addEvent('via_span', { seq: i });
      span.end();
    }
    await tracerProvider.shutdown();
    result.viaSpan = count('via_span');

    const { NodeSDK } = await load('@opentelemetry/sdk-node');
    const { trace } = await load('@opentelemetry/api');
    const sdk = new NodeSDK({
      logRecordProcessors: [pkg.createGravityLogRecordProcessor(options)],
      spanProcessors: [pkg.createGravitySpanProcessor(options)],
      metricReaders: [],
    });
    sdk.start();
    const ge = new pkg.GravityAnalytics();
    for (let i = 0; i < ${RECORDS}; i++) ge.track(client(i), 'via_node_sdk_facade', { seq: i });
    const span = trace.getTracer('package-test').startSpan('checkout', { attributes: { 'ge.client_id': client(0) } });
    span.addEvent('via_node_sdk_span');
    span.end();
    await sdk.shutdown();
    result.viaNodeSdkFacade = count('via_node_sdk_facade');
    result.viaNodeSdkSpan = count('via_node_sdk_span');
  }
  await emulator.close();
  console.log(JSON.stringify(result));
}
`;

const CONSUMERS = {
  cjs: `${CONSUMER_BODY}
main(async (id) => require(id), require.resolve('gravity-otel-exporter')).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
  mjs: `${CONSUMER_BODY}
await main((id) => import(id), import.meta.resolve('gravity-otel-exporter'));
`,
};

async function runConsumer(app: string, format: 'cjs' | 'mjs', scenario: 'logs' | 'full'): Promise<ConsumerResult> {
  const file = path.join(app, `consumer.${format}`);
  writeFileSync(file, CONSUMERS[format]);
  const env = { ...process.env, SCENARIO: scenario, TRACE_SDK: consumer.traceSdk, TRACER_PROVIDER: consumer.tracerProvider };
  const { stdout } = await run(process.execPath, [file], { cwd: app, env, timeout: 2 * MINUTES });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ConsumerResult;
}

/**
 * TypeScript that uses the package's public types as an app of that line would; the same file under each
 * setting. NodeSDK is left out: its own declarations need Node's types (`path` in @opentelemetry/instrumentation).
 */
function typeCheckSource(app: 'logs' | 'full'): string {
  const traceBase = consumer.traceSdk === '@opentelemetry/sdk-trace-base';
  const lines = [
    `import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';`,
    `import type { LogRecordExporter } from '@opentelemetry/sdk-logs';`,
    `import {`,
    `  createGravityLogRecordProcessor, createGravitySpanProcessor, GravityAnalytics, GravityConfigurationError,`,
    `  GravityLogRecordExporter, GravitySpanExporter, GRAVITY_PROCESSOR_DEFAULTS,`,
    `} from 'gravity-otel-exporter';`,
    `import type { GravityExporterStats, GravitySpanProcessor, AnalyticsProperties } from 'gravity-otel-exporter';`,
    `import { startEmulator } from 'gravity-otel-exporter/emulator';`,
    `import type { Emulator } from 'gravity-otel-exporter/emulator';`,
  ];
  if (app === 'full') {
    lines.push(
      traceBase
        ? `import { BasicTracerProvider as TracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';`
        : `import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';`,
      `import type { SpanExporter } from '${consumer.traceSdk}';`,
    );
  }
  lines.push(
    `export async function main(): Promise<GravityExporterStats> {`,
    `  const emulator: Emulator = await startEmulator({ accessToken: 't' });`,
    `  const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 't', compression: 'auto' });`,
    `  const asSdkExporter: LogRecordExporter = exporter;`,
    `  const provider = new LoggerProvider({`,
    `    processors: [createGravityLogRecordProcessor(exporter, { maxQueueSize: 1024 }), new BatchLogRecordProcessor({ exporter: asSdkExporter })],`,
    `  });`,
    `  const properties: AnalyticsProperties = { amount: 30, paid_at: new Date(), tags: ['a'] };`,
    `  const ge = new GravityAnalytics({ loggerProvider: provider, superProperties: { app: 'shop' } });`,
    `  ge.track('user-1', 'purchase', properties, { time: Date.now(), timeFree: false });`,
    `  new GravityAnalytics({ logger: provider.getLogger('x') }).userIncrement('user-1', { coins: 1 });`,
    `  const spanExporter = new GravitySpanExporter({ url: emulator.url, accessToken: 't', traceCorrelation: true });`,
    `  const spanProcessor: GravitySpanProcessor = createGravitySpanProcessor(spanExporter, GRAVITY_PROCESSOR_DEFAULTS);`,
  );
  if (app === 'full') {
    lines.push(
      `  const asSpanExporter: SpanExporter = spanExporter;`,
      `  const tracerProvider = new TracerProvider({`,
      `    spanProcessors: [spanProcessor, new BatchSpanProcessor(${traceBase ? 'asSpanExporter' : '{ exporter: asSpanExporter }'})],`,
      `  });`,
      `  tracerProvider.getTracer('x').startSpan('s').end();`,
      `  await tracerProvider.shutdown();`,
    );
  } else {
    lines.push(`  await spanProcessor.shutdown();`);
  }
  lines.push(
    `  await provider.shutdown();`,
    `  await emulator.close();`,
    `  if (emulator.events().length === 0) throw new GravityConfigurationError('nothing arrived');`,
    `  return exporter.getStats();`,
    `}`,
    ``,
  );
  return lines.join('\n');
}

function writeTypeChecks(dir: string, app: 'logs' | 'full'): void {
  const source = typeCheckSource(app);
  for (const file of ['types-check.mts', 'types-check.cts', 'types-check.ts']) writeFileSync(path.join(dir, file), source);
  // The target's default lib: OTel's own declarations need a `console` (DOM's or Node's).
  const strict = { strict: true, target: 'es2022', types: [], noEmit: true };
  const config = (compilerOptions: object, files: string[]): string => JSON.stringify({ compilerOptions: { ...strict, ...compilerOptions }, files });
  writeFileSync(path.join(dir, 'tsconfig.nodenext.json'), config({ module: 'nodenext', moduleResolution: 'nodenext' }, ['types-check.mts', 'types-check.cts']));
  writeFileSync(path.join(dir, 'tsconfig.bundler.json'), config({ module: 'esnext', moduleResolution: 'bundler' }, ['types-check.ts']));
}
