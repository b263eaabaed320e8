/**
 * The published package: `npm pack` holds the built code, both type trees, README and LICENSE and no tests;
 * a consumer project with the packed tarball installed imports it with `require` (CJS) and `import` (ESM),
 * each in its own Node process, and exports a record end to end to the emulator; the gateway subpath likewise
 * starts and takes an OTLP request.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';

const run = promisify(execFile);
const repoRoot = process.cwd();
const TOKEN = 'package-test-token';

let consumer: string;
let emulator: Emulator;

/** What a consumer does: log through the SDK into our exporter, and use the facade; prints the resolved entry. */
const CONSUMER_BODY = `
const provider = new LoggerProvider({
  processors: [new BatchLogRecordProcessor({ exporter: new pkg.GravityLogRecordExporter() })], // GE_* from env
});
provider.getLogger('consumer').emit({ eventName: 'installed', attributes: { 'ge.client_id': process.env.CLIENT, format: process.env.CLIENT } });
new pkg.GravityAnalytics({ loggerProvider: provider }).userSet(process.env.CLIENT, { via: 'facade' });
provider.shutdown().then(async () => {
  // The emulator's web console serves its page and files from the installed package.
  const local = await startEmulator();
  const statuses = [];
  for (const file of ['/', '/console/console.js', '/console/console.css']) statuses.push((await fetch(local.origin + file)).status);
  await local.close();
  console.log(JSON.stringify({ entry, emulator: typeof startEmulator, attributes: typeof pkg.ATTR_GE_CLIENT_ID, console: statuses.join(' ') }));
});
`;

const CJS_CONSUMER = `
const pkg = require('gravity-otel-exporter');
const { startEmulator } = require('gravity-otel-exporter/emulator');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const entry = require.resolve('gravity-otel-exporter');
${CONSUMER_BODY}`;

const ESM_CONSUMER = `
import * as pkg from 'gravity-otel-exporter';
import { startEmulator } from 'gravity-otel-exporter/emulator';
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
const entry = import.meta.resolve('gravity-otel-exporter');
${CONSUMER_BODY}`;

/**
 * The gateway from the installed package: both receivers (the gRPC one loads grpc-js on demand), one OTLP/JSON
 * request, a drained close; prints the resolved entry and the answer's status.
 */
const GATEWAY_BODY = `
const record = { attributes: [{ key: 'ge.client_id', value: { stringValue: process.env.CLIENT } }], eventName: 'via_gateway' };
(async () => {
  const gateway = await startGateway({ httpEndpoint: '127.0.0.1:0', grpcEndpoint: '127.0.0.1:0' }); // GE_* from env
  const response = await fetch(gateway.httpUrl + '/v1/logs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] }),
  });
  await gateway.close();
  console.log(JSON.stringify({ entry, status: response.status, grpc: typeof gateway.grpcAddress }));
})();
`;

const CJS_GATEWAY = `
const { startGateway } = require('gravity-otel-exporter/gateway');
const entry = require.resolve('gravity-otel-exporter/gateway');
${GATEWAY_BODY}`;

const ESM_GATEWAY = `
import { startGateway } from 'gravity-otel-exporter/gateway';
const entry = import.meta.resolve('gravity-otel-exporter/gateway');
${GATEWAY_BODY}`;

interface PackedFile {
  path: string;
}

before(async () => {
  // `npm test` builds first; build here too when run alone, so the tarball has code in it.
  if (!existsSync(path.join(repoRoot, 'dist/esm/index.js')) || !existsSync(path.join(repoRoot, 'dist/cjs/index.js'))) {
    await run(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, timeout: 120_000 });
  }
  consumer = mkdtempSync(path.join(tmpdir(), 'gravity-consumer-'));
  // --ignore-scripts: prepack would rebuild dist/ under the tests running beside this file.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', consumer], { cwd: repoRoot, timeout: 60_000 });
  const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;
  const installed = path.join(consumer, 'node_modules', 'gravity-otel-exporter');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', path.join(consumer, filename), '-C', installed, '--strip-components=1']);
  // The package's dependencies (the gateway's included: protobufjs, optional @grpc/grpc-js) and peers, as an
  // offline install would provide them.
  for (const dependency of ['undici', '@opentelemetry', 'protobufjs', 'long', '@grpc', '@js-sdsl', '@protobufjs', 'lodash.camelcase']) {
    symlinkSync(path.join(repoRoot, 'node_modules', dependency), path.join(consumer, 'node_modules', dependency), 'dir');
  }
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  writeFileSync(path.join(consumer, 'consumer.cjs'), CJS_CONSUMER);
  writeFileSync(path.join(consumer, 'consumer.mjs'), ESM_CONSUMER);
  writeFileSync(path.join(consumer, 'gateway.cjs'), CJS_GATEWAY);
  writeFileSync(path.join(consumer, 'gateway.mjs'), ESM_GATEWAY);
});
after(() => rmSync(consumer, { recursive: true, force: true }));
beforeEach(async () => {
  emulator = await startEmulator({ accessToken: TOKEN });
});
afterEach(() => emulator.close());

async function runGatewayConsumer(file: string, client: string): Promise<{ entry: string; status: number; grpc: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GE_')));
  const env = { ...inherited, GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: TOKEN, CLIENT: client };
  const { stdout } = await run(process.execPath, [file], { cwd: consumer, env, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { entry: string; status: number; grpc: string };
}

async function runConsumer(file: string, client: string): Promise<{ entry: string; emulator: string; attributes: string; console: string }> {
  const env = { ...process.env, GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: TOKEN, CLIENT: client };
  const { stdout } = await run(process.execPath, [file], { cwd: consumer, env, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { entry: string; emulator: string; attributes: string; console: string };
}

describe('package', () => {
  it('npm pack holds dist code, ESM and CJS types, README and LICENSE, and no tests or sources', async () => {
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--dry-run', '--json'], { cwd: repoRoot, timeout: 60_000 });
    const files = (JSON.parse(stdout) as Array<{ files: PackedFile[] }>)[0]!.files.map((f) => f.path);

    for (const expected of [
      'README.md',
      'LICENSE',
      'package.json',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'dist/esm/emulator/index.js',
      'dist/cjs/emulator/index.d.ts',
      'dist/esm/gateway/index.js',
      'dist/esm/gateway/index.d.ts',
      'dist/cjs/gateway/index.js',
      'dist/cjs/gateway/index.d.ts',
      'dist/esm/cli/bin.js',
      'dist/esm/emulator/console/assets/index.html',
      'dist/esm/emulator/console/assets/console.js',
      'dist/esm/emulator/console/assets/console.css',
      'dist/cjs/emulator/console/assets/index.html',
      'dist/cjs/emulator/console/asset-dir.cjs',
    ]) {
      assert.ok(files.includes(expected), `${expected} is packed`);
    }
    assert.deepEqual(files.filter((f) => /^(test|src|examples|bench)\/|\.test\./.test(f)), []);
  });

  it('declares an exports map with types first, both formats, and sideEffects false', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));

    assert.equal(manifest.sideEffects, false);
    for (const subpath of ['.', './emulator', './gateway']) {
      assert.deepEqual(Object.keys(manifest.exports[subpath]), ['import', 'require']);
      assert.equal(Object.keys(manifest.exports[subpath].import)[0], 'types');
      assert.equal(Object.keys(manifest.exports[subpath].require)[0], 'types');
    }
  });

  it('a CommonJS consumer requires the CJS build and exports a record end to end', async () => {
    const result = await runConsumer('consumer.cjs', 'cjs-user');

    assert.match(result.entry, /node_modules[\\/]gravity-otel-exporter[\\/]dist[\\/]cjs[\\/]index\.js$/);
    assert.deepEqual([result.emulator, result.attributes, result.console], ['function', 'string', '200 200 200']);
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event, e.properties['format'] ?? e.properties['via']]),
      [
        ['cjs-user', 'installed', 'cjs-user'],
        ['cjs-user', 'profile_set', 'facade'],
      ],
    );
  });

  it('an ES module consumer imports the ESM build and exports a record end to end', async () => {
    const result = await runConsumer('consumer.mjs', 'esm-user');

    assert.match(result.entry, /node_modules\/gravity-otel-exporter\/dist\/esm\/index\.js$/);
    assert.deepEqual([result.emulator, result.attributes, result.console], ['function', 'string', '200 200 200']);
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event, e.properties['format'] ?? e.properties['via']]),
      [
        ['esm-user', 'installed', 'esm-user'],
        ['esm-user', 'profile_set', 'facade'],
      ],
    );
  });

  for (const [format, file] of [['a CommonJS', 'gateway.cjs'], ['an ES module', 'gateway.mjs']] as const) {
    it(`${format} consumer starts the gateway from the package, OTLP/gRPC included, and a record goes through it`, async () => {
      const result = await runGatewayConsumer(file, `gateway-${file}`);

      assert.match(result.entry, new RegExp(`gravity-otel-exporter[\\\\/]dist[\\\\/]${file.endsWith('.cjs') ? 'cjs' : 'esm'}[\\\\/]gateway[\\\\/]index\\.js$`));
      assert.deepEqual([result.status, result.grpc], [200, 'string']);
      assert.deepEqual(
        emulator.events().map((e) => [e.client_id, e.event]),
        [[`gateway-${file}`, 'via_gateway']],
      );
    });
  }
});
