/**
 * `gravity-otel import FILE.jsonl|-`: streams a file (or stdin) of historical records through the exporters'
 * mapping and delivery to the emulator, with progress on stderr, a summary on stdout (rejected lines and lines
 * not sent by number, failure causes with counts), an early stop when the endpoint refuses every request,
 * a summary on SIGINT, and exit codes 0/1/2/3/130.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { runImport } from '../../src/cli/import/run-import.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityAnalytics } from '../../src/facade/gravity-analytics.js';
import { GravityLogRecordExporter } from '../../src/exporters/log-record-exporter.js';

const TOKEN = 'import-test-token';
const HISTORY_MILLIS = Date.UTC(2023, 10, 14, 22, 13, 20); // far outside the service's 10-day window

let dir: string;
let emulator: Emulator;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gravity-import-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  emulator = await startEmulator({ accessToken: TOKEN });
});
afterEach(() => emulator.close());

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface CliOptions {
  stderrIsTTY?: boolean;
  stdin?: NodeJS.ReadableStream;
  /** Each call of `io.waitForStop()` takes the next of these (a call beyond them never resolves). */
  stops?: Promise<string>[];
}

async function runCli(argv: string[], options: CliOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const stops = [...(options.stops ?? [])];
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: Object.assign({ write: (text: string) => (stderr += text) }, { isTTY: options.stderrIsTTY === true }),
    ...(options.stdin !== undefined && { stdin: options.stdin }),
    waitForStop: () => stops.shift() ?? new Promise<string>(() => {}),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** A promise and the function that resolves it (a signal delivered on demand). */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function until(condition: () => boolean, what: string, timeoutMillis = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The real bin in a child process (for stdin and signals). */
function spawnCli(argv: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited, stderr: () => stderr };
}

function line(clientId: string, n: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ client_id: clientId, type: 'track', event: 'purchase', time: HISTORY_MILLIS + n, properties: { n }, ...extra });
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function writeLines(name: string, lines: readonly string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function importArgs(file: string, ...more: string[]): string[] {
  return ['import', file, '--url', emulator.url, '--token', TOKEN, ...more];
}

describe('gravity-otel import', () => {
  it('imports 100,000 records with progress and a summary that reports rejected lines by number', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      lines.push(
        JSON.stringify({ client_id: `user-${i % 20}`, type: 'track', event: 'purchase', time: HISTORY_MILLIS + i, properties: { n: i, item: 'sword' } }),
      );
    }
    lines[41] = '{"client_id": "user-1", "type": "track"'; // line 42: truncated JSON
    lines[4_999] = JSON.stringify({ client_id: 'user-1', op: 'increment', time: HISTORY_MILLIS, properties: { coins: 'five' } });
    lines[99_999] = JSON.stringify({ client_id: '', type: 'track', event: 'purchase', time: HISTORY_MILLIS });
    const file = writeLines('history.jsonl', lines);

    const run = await runCli(importArgs(file, '--concurrency', '8'));

    assert.equal(run.code, 1, 'exit code 1: not every record was sent');
    assert.match(run.stdout, /: 100000 records, 99997 sent, 3 rejected, 0 failed\./);
    assert.match(run.stdout, /^ {2}line 42: not JSON: .+$/m);
    assert.match(run.stdout, /^ {2}line 5000: properties\.coins: this operation needs a number, got string$/m);
    assert.match(run.stdout, /^ {2}line 100000: client_id: empty string$/m);
    assert.match(run.stdout, /Rejected by reason: invalid_json 1, invalid_operation_value 1, invalid_client_id 1/);
    assert.match(run.stderr, /^import: 99997 records delivered \(100%\), \d+ records\/s, ETA 0s, 3 rejected$/m, 'a final progress line');
    assert.ok(emulator.requests.length <= 100_000 / 200 + 20, `${emulator.requests.length} requests: full ones per client`);
    const events = emulator.events();
    assert.equal(events.length, 99_997);
    assert.ok(events.every((e) => e.time_free === true && e.type === 'track'));
    assert.deepEqual(new Set(events.map((e) => e.time - HISTORY_MILLIS)).size, 99_997, 'every record once, with its own time');
  });

  it('accepts Gravity record shapes and op shapes, sets time_free, and exits 0 when all were sent', async () => {
    const recent = Date.now() - 60_000; // inside the window: this record opts out of time_free
    const file = writeLines('shapes.jsonl', [
      JSON.stringify({ client_id: 'u1', type: 'profile', event: 'profile_set', time: '2023-11-14T22:13:20.000Z', properties: { plan: 'pro' } }),
      '',
      JSON.stringify({ client_id: 'u1', op: 'increment', time: HISTORY_MILLIS, properties: { coins: 5 } }),
      JSON.stringify({ client_id: 'u1', type: 'profile', event: 'profile_unset', time: HISTORY_MILLIS, properties: { plan: 0 } }),
      JSON.stringify({ client_id: 'u1', op: 'unset', time: HISTORY_MILLIS, properties: ['coins'] }),
      JSON.stringify({ client_id: 'u2', op: 'track', event: 'signup', time: recent, time_free: false, client_ip: '203.0.113.9' }),
      JSON.stringify({ client_id: 'u2', type: 'profile', event: 'profile_delete', time: HISTORY_MILLIS }),
    ]);

    const run = await runCli(importArgs(file));

    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /: 6 records, 6 sent, 0 rejected, 0 failed\./);
    assert.deepEqual(
      emulator.events().map((e) => [e.client_id, e.event, e.time, e.time_free, e.client_ip, e.type === 'track' ? 'track' : e.properties]),
      [
        ['u1', 'profile_set', HISTORY_MILLIS, true, undefined, { plan: 'pro' }],
        ['u1', 'profile_increment', HISTORY_MILLIS, true, undefined, { coins: 5 }],
        ['u1', 'profile_unset', HISTORY_MILLIS, true, undefined, { plan: 0 }],
        ['u1', 'profile_unset', HISTORY_MILLIS, true, undefined, { coins: 0 }],
        ['u2', 'signup', recent, false, '203.0.113.9', 'track'],
        ['u2', 'profile_delete', HISTORY_MILLIS, true, undefined, {}],
      ],
    );
  });

  it('reads Gravity\'s own records as they are: $lib/$lib_version in properties are SDK metadata, not properties', async () => {
    const file = writeLines('php.jsonl', [
      JSON.stringify({ client_id: 'u1', type: 'profile', event: 'profile_increment', time: HISTORY_MILLIS, properties: { coins: 5, $lib: 'PHP', $lib_version: '1.0.0' } }),
      JSON.stringify({ client_id: 'u1', type: 'track', event: 'pay', time: HISTORY_MILLIS, properties: { amount: 3, $lib: 'PHP', $lib_version: '1.0.0' } }),
    ]);
    const run = await runCli(importArgs(file));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const [increment, pay] = emulator.events();
    assert.deepEqual(increment?.properties, { coins: 5 });
    assert.equal(pay?.properties['$lib'], 'node');
  });

  it('refuses a time that is not epoch ms or ISO 8601, and a time_free:false record outside the window, each alone', async () => {
    const recent = Date.now() - 60_000;
    const file = writeLines('times.jsonl', [
      JSON.stringify({ client_id: 'u1', op: 'set', time: '12', properties: { a: 1 } }),
      JSON.stringify({ client_id: 'u1', op: 'set', time: 'user 7', properties: { a: 2 } }),
      JSON.stringify({ client_id: 'u1', op: 'set', time: 1_700_000_000_000_000_000, properties: { a: 3 } }),
      JSON.stringify({ client_id: 'u2', op: 'track', event: 'old', time: HISTORY_MILLIS, time_free: false }),
      JSON.stringify({ client_id: 'u2', op: 'track', event: 'fresh', time: recent, time_free: false }),
    ]);
    const run = await runCli(importArgs(file));
    assert.match(run.stdout, /: 5 records, 1 sent, 4 rejected, 0 failed\./);
    for (const line of [1, 2, 3]) assert.match(run.stdout, new RegExp(`line ${line}: time: `));
    assert.match(run.stdout, /line 4: time: .* outside the service's window/);
    assert.deepEqual(emulator.events().map((e) => e.event), ['fresh']);
  });

  it('names the line of a record too large for any request, refused when grouping for sending, and --dry-run does too', async () => {
    const huge = JSON.stringify({ client_id: 'u1', type: 'track', event: 'huge', time: HISTORY_MILLIS, properties: { blob: 'x'.repeat(1_100_000) } });
    const file = writeLines('mixed.jsonl', ['{"client_id": "u1"', line('u1', 1), huge, line('u1', 3)]);

    const run = await runCli(importArgs(file));
    const dry = await runCli(['import', file, '--dry-run']);

    assert.equal(run.code, 1);
    assert.match(run.stdout, /: 4 records, 2 sent, 2 rejected, 0 failed\./);
    assert.match(run.stdout, /^ {2}line 1: not JSON/m);
    assert.match(run.stdout, /^ {2}line 3: its record is 1100\d{3} bytes of JSON, more than a request may carry \(1000000\)$/m);
    assert.match(run.stdout, /Rejected by reason: invalid_json 1, record_too_large 1/);
    assert.deepEqual(emulator.events().map((e) => e.properties['n']), [1, 3]);
    assert.match(dry.stdout, /: 4 records, 2 valid, 2 rejected; nothing sent\./);
    assert.match(dry.stdout, /^ {2}line 3: its record is 1100\d{3} bytes/m);
  });

  it('gives the line of a record the service refuses as too large (HTTP 413, alone in its request)', async () => {
    await emulator.close();
    emulator = await startEmulator({ accessToken: TOKEN, maxBodyBytes: 20_000 });
    const big = (n: number): string => line('u1', n, { properties: { n, blob: 'y'.repeat(8_000) } });
    // Random-ish text so that gzip keeps line 3 over the emulator's limit.
    const noise = randomBytes(22_500).toString('base64');
    const file = writeLines('413.jsonl', [big(1), big(2), line('u1', 3, { properties: { n: 3, noise } }), big(4)]);

    const run = await runCli(importArgs(file));

    assert.equal(run.code, 1);
    assert.match(run.stdout, /: 4 records, 3 sent, 0 rejected, 1 failed\./);
    assert.match(run.stdout, /^Not sent \(1 records\): lines 3$/m);
    assert.match(run.stdout, /^ {2}1 records: a single record is too large for the service \(HTTP 413\)$/m);
    assert.deepEqual(emulator.events().map((e) => e.properties['n']), [1, 2, 4]);
  });

  it('lists the distinct causes of records not sent, with counts and line numbers, and exits 1', async () => {
    const lines = Array.from({ length: 6 }, (_, i) => line(`c${i}`, i + 1));
    const file = writeLines('refused.jsonl', lines);
    emulator.enqueueFaults({ kind: 'code', code: 1, msg: 'app not found' });

    const run = await runCli(importArgs(file, '--concurrency', '1'));

    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /: 6 records, 5 sent, 0 rejected, 1 failed\./);
    assert.match(run.stdout, /^Not sent \(1 records\): lines 1$/m);
    assert.match(run.stdout, /^Causes:\n {2}1 records: rejected by Gravity: code 1 "app not found"$/m);
    assert.equal(emulator.events().length, 5);
  });

  it('counts delivered records in its progress, not lines read: 0% while the endpoint has not answered', async () => {
    const file = writeLines('slow.jsonl', Array.from({ length: 40 }, (_, i) => line(`c${i % 4}`, i)));
    emulator.setResponseDelay(1_500);
    let progress = '';

    const summary = await runImport({
      file,
      url: emulator.url,
      accessToken: TOKEN,
      progress: { write: (text: string) => (progress += text) },
      progressIsTTY: false,
      progressIntervalMillis: 100,
    });

    assert.equal(summary.sent, 40);
    const lines = progress.trim().split('\n');
    assert.ok(lines.some((l) => /^import: 0 records delivered \(0%\), 0 records\/s, ETA \?$/.test(l)), progress);
    assert.match(lines.at(-1)!, /^import: 40 records delivered \(100%\), \d+ records\/s, ETA 0s$/);
  });

  it('rewrites the progress line in place when stderr is a terminal', async () => {
    const file = writeLines('tty.jsonl', [JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS, properties: { a: 1 } })]);

    const run = await runCli(importArgs(file), { stderrIsTTY: true });

    assert.equal(run.code, 0);
    assert.match(run.stderr, /^\r\x1b\[2Kimport: 1 records delivered \(100%\), \d+ records\/s, ETA 0s\n$/m);
  });

  it('--dry-run validates every line and sends nothing', async () => {
    const file = writeLines('dry.jsonl', [
      JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS, properties: { a: 1 } }),
      JSON.stringify({ client_id: 'u1', op: 'set', time: 'yesterday', properties: { a: 1 } }),
    ]);

    const run = await runCli(['import', file, '--dry-run']);

    assert.equal(run.code, 1);
    assert.match(run.stdout, /Dry run of .*: 2 records, 1 valid, 1 rejected; nothing sent\./);
    assert.match(run.stdout, /line 2: time: "yesterday" is not a date/);
    assert.equal(emulator.requests.length, 0);
  });

  it('exits 2 on usage errors: no file, two files, a bad option value, an unknown option, a missing file', async () => {
    const file = writeLines('one.jsonl', ['{}']);
    for (const argv of [
      ['import'],
      ['import', file, file],
      ['import', file, '--concurrency', '0'],
      ['import', file, '--bogus'],
      ['import', path.join(dir, 'missing.jsonl'), '--token', TOKEN],
    ]) {
      const run = await runCli(argv);
      assert.equal(run.code, 2, argv.join(' '));
      assert.match(run.stderr, /gravity-otel import: /);
    }
  });

  it('runs as the real gravity-otel bin and exits with its code', async () => {
    const file = writeLines('bin.jsonl', [JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS, properties: { a: 1 } })]);
    const env = { ...process.env, GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: TOKEN };

    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'import', file], { env, timeout: 60_000 });

    assert.match(stdout, /: 1 records, 1 sent, 0 rejected, 0 failed\./);
    assert.equal(emulator.events().length, 1);
  });

  it('accepts a UTF-8 byte order mark before the first line', async () => {
    const file = path.join(dir, 'bom.jsonl');
    writeFileSync(file, `\uFEFF${line('u1', 1)}\r\n${line('u1', 2)}\r\n`);

    const run = await runCli(importArgs(file));

    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /: 2 records, 2 sent, 0 rejected, 0 failed\./);
    assert.deepEqual(emulator.events().map((e) => e.properties['n']), [1, 2]);
  });

  it('reads standard input for "-", a byte order mark and a last line without a newline included', async () => {
    const stdin = Readable.from([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), `${line('u1', 1)}\n${line('u2', 2)}\n`, line('u1', 3)]);

    const run = await runCli(['import', '-', '--url', emulator.url, '--token', TOKEN], { stdin });

    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^Imported standard input in [\d.]+s: 3 records, 3 sent, 0 rejected, 0 failed\.$/m);
    assert.deepEqual(emulator.events().map((e) => e.properties['n']).sort(), [1, 2, 3]);
  });

  it('reads a pipe as the real bin with "-" and exits 0 once it ends', async () => {
    const cli = spawnCli(['import', '-'], { ...process.env, GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: TOKEN });
    cli.child.stdin.end(`\uFEFF${Array.from({ length: 300 }, (_, i) => line(`u${i % 3}`, i + 1)).join('\n')}\n`);

    const { code, stdout, stderr } = await cli.exited;

    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /^Imported standard input in [\d.]+s: 300 records, 300 sent, 0 rejected, 0 failed\.$/m);
    assert.equal(emulator.events().length, 300);
    assert.doesNotMatch(stdout + stderr, new RegExp(TOKEN));
  });

  it('speaks of lines and fields, never of ge.* attributes the line does not have', async () => {
    const file = writeLines('fields.jsonl', [
      JSON.stringify({ type: 'track', event: 'buy', time: HISTORY_MILLIS }),
      JSON.stringify({ client_id: 7, type: 'track', event: 'buy', time: HISTORY_MILLIS }),
      JSON.stringify({ client_id: 'u1', type: 'track', time: HISTORY_MILLIS }),
      JSON.stringify({ client_id: 'u1', type: 'track', event: 'a b', time: HISTORY_MILLIS }),
      JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS, client_ip: 5, properties: { a: 1 } }),
      JSON.stringify({ client_id: 'u1', op: 'unset', time: HISTORY_MILLIS, properties: ['ok', 'not ok'] }),
      JSON.stringify({ client_id: 'u1', type: 'track', event: 'buy', time: HISTORY_MILLIS, properties: { 'ge.client_id': 'u2' } }),
      JSON.stringify({ client_id: 'u1', type: 'track', event: 'buy', time: HISTORY_MILLIS, time_free: 'yes' }),
    ]);

    const run = await runCli(['import', file, '--dry-run']);

    assert.match(run.stdout, /: 8 records, 0 valid, 8 rejected; nothing sent\./);
    assert.match(run.stdout, /^ {2}line 1: client_id: missing$/m);
    assert.match(run.stdout, /^ {2}line 2: client_id: expected a non-empty string, got number$/m);
    assert.match(run.stdout, /^ {2}line 3: event: missing/m);
    assert.match(run.stdout, /^ {2}line 4: event: "a b" does not fit/m);
    assert.match(run.stdout, /^ {2}line 5: client_ip: expected a string, got number$/m);
    assert.match(run.stdout, /^ {2}line 6: properties\[1\]: "not ok" does not fit/m);
    assert.match(run.stdout, /^ {2}line 7: properties\.ge\.client_id: /m);
    assert.match(run.stdout, /^ {2}line 8: time_free: expected true or false, got string$/m);
    assert.match(run.stdout, /^Rejected by reason: missing_client_id 1, invalid_client_id 1, missing_event_name 1, invalid_event_name 1, invalid_field 1, invalid_key 2, invalid_record 1$/m);
    // Line 7 has a "ge." key of its own; no other line is told about ge.* attributes, OTel's field names or a body.
    assert.doesNotMatch(run.stdout.replace(/^ {2}line 7: .*$/m, ''), /ge\.|attribute|clientId|body/);
  });

  it('sends exactly the payloads the exporter sends for the same records through the facade', async () => {
    const recent = Date.now() - 60_000;
    const file = writeLines('same.jsonl', [
      JSON.stringify({ client_id: 'u1', type: 'track', event: 'buy', time: HISTORY_MILLIS, properties: { amount: 3.5, 'item.id': 'x', tags: ['a'], nested: { k: [1, { z: null }] } } }),
      JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS + 1, properties: { plan: 'pro' } }),
      JSON.stringify({ client_id: 'u2', op: 'increment', time: HISTORY_MILLIS + 2, client_ip: '203.0.113.9', properties: { coins: 5 } }),
      JSON.stringify({ client_id: 'u1', op: 'unset', time: HISTORY_MILLIS + 3, properties: ['plan'] }),
      JSON.stringify({ client_id: 'u2', op: 'uniq_append', time: HISTORY_MILLIS + 4, client_ip: '203.0.113.9', properties: { badges: ['gold'] } }),
      JSON.stringify({ client_id: 'u3', op: 'track', event: 'signup', time: recent, time_free: false, client_ua: 'curl/8' }),
      JSON.stringify({ client_id: 'u1', op: 'delete', time: HISTORY_MILLIS + 5 }),
    ]);
    const run = await runCli(importArgs(file));
    assert.equal(run.code, 0, run.stdout);
    const imported = emulator.payloads();
    emulator.clear();

    const provider = new LoggerProvider({
      processors: [new BatchLogRecordProcessor({ exporter: new GravityLogRecordExporter({ url: emulator.url, accessToken: TOKEN }) })],
    });
    const ge = new GravityAnalytics({ loggerProvider: provider });
    const history = { timeFree: true };
    ge.track('u1', 'buy', { amount: 3.5, 'item.id': 'x', tags: ['a'], nested: { k: [1, { z: null }] } }, { ...history, time: HISTORY_MILLIS });
    ge.userSet('u1', { plan: 'pro' }, { ...history, time: HISTORY_MILLIS + 1 });
    ge.userIncrement('u2', { coins: 5 }, { ...history, time: HISTORY_MILLIS + 2, clientIp: '203.0.113.9' });
    ge.userUnset('u1', ['plan'], { ...history, time: HISTORY_MILLIS + 3 });
    ge.userUniqAppend('u2', { badges: ['gold'] }, { ...history, time: HISTORY_MILLIS + 4, clientIp: '203.0.113.9' });
    ge.track('u3', 'signup', {}, { time: recent, clientUa: 'curl/8' });
    ge.userDelete('u1', { ...history, time: HISTORY_MILLIS + 5 });
    await provider.shutdown();

    const byClient = (payloads: typeof imported) => [...payloads].sort((a, b) => a.client_id.localeCompare(b.client_id));
    assert.deepEqual(byClient(imported), byClient(emulator.payloads()));
    assert.equal(imported.length, 3);
  });

  describe('when the endpoint refuses every request or cannot be reached', () => {
    it('stops early on a refused token with the cause, without reading the rest of the file, and exits 3', async () => {
      const lines = Array.from({ length: 100_000 }, (_, i) => line(`user-${i % 1_000}`, i));
      const file = writeLines('wrong-token.jsonl', lines);
      const wrongToken = 'not-the-right-token-123';

      const run = await runCli(['import', file, '--url', emulator.url, '--token', wrongToken]);

      assert.equal(run.code, 3, run.stdout);
      assert.match(run.stdout, /^Stopped early after [\d.]+s, at line (\d+) of .*: \d+ requests in a row failed: rejected by Gravity: code 1 "invalid access_token"\. Check the access token \(--token or GE_ACCESS_TOKEN\)\.$/m);
      const stoppedAt = Number(/at line (\d+) of/.exec(run.stdout)![1]);
      assert.ok(stoppedAt < 100_000, `stopped at line ${stoppedAt}`);
      assert.match(run.stdout, new RegExp(`^${stoppedAt} records read, 0 sent, ${stoppedAt} not sent \\(0 rejected, ${stoppedAt} failed\\); reading stopped at line ${stoppedAt}\\.$`, 'm'));
      assert.match(run.stdout, /^ {2}\d+ records: rejected by Gravity: code 1 "invalid access_token"$/m);
      assert.ok(emulator.requests.length < 200, `${emulator.requests.length} requests of the ~5,000 the file needs`);
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(wrongToken));
      assert.match(run.stderr, /^import: stopping early: \d+ requests in a row failed: rejected by Gravity: code 1 "invalid access_token"$/m);
    });

    it('stops early on HTTP 401 and names it', async () => {
      emulator.enqueueFaults(...Array.from({ length: 40 }, () => ({ kind: 'status' as const, status: 401, body: 'Unauthorized' })));
      const file = writeLines('401.jsonl', Array.from({ length: 2_000 }, (_, i) => line(`user-${i % 100}`, i)));

      const run = await runCli(importArgs(file));

      assert.equal(run.code, 3, run.stdout);
      assert.match(run.stdout, /^Stopped early after .*: \d+ requests in a row failed: HTTP 401: Unauthorized\. Check the access token/m);
      assert.match(run.stdout, /^Not sent \(2000 records\): lines 1-2000$/m);
      assert.equal(emulator.events().length, 0);
    });

    it('stops early when nothing listens at the URL, naming ECONNREFUSED and the address', async () => {
      const port = await closedPort();
      const file = writeLines('closed.jsonl', Array.from({ length: 500 }, (_, i) => line(`user-${i % 50}`, i)));
      const started = Date.now();

      const run = await runCli(['import', file, '--url', `http://127.0.0.1:${port}`, '--token', TOKEN]);

      assert.equal(run.code, 3, run.stdout);
      assert.match(run.stdout, new RegExp(`^Stopped early after .*: \\d+ requests in a row failed: network error ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\. Check the URL`, 'm'));
      assert.match(run.stdout, /^Not sent \(500 records\): lines 1-500$/m);
      assert.ok(Date.now() - started < 20_000, 'well before the requests\' retry deadline');
    });

    it('does not stop for one refused request among accepted ones', async () => {
      emulator.enqueueFaults({ kind: 'status', status: 403 }, { kind: 'status', status: 403 });
      const file = writeLines('some-refused.jsonl', Array.from({ length: 300 }, (_, i) => line(`user-${i % 30}`, i)));

      const run = await runCli(importArgs(file, '--concurrency', '1'));

      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /^Imported .*: 300 records, 280 sent, 0 rejected, 20 failed\.$/m);
      assert.match(run.stdout, /^ {2}20 records: HTTP 403/m);
    });
  });

  describe('when interrupted', () => {
    it('on SIGINT stops reading stdin, prints what was sent and the lines not sent, and exits 130', async () => {
      const cli = spawnCli(['import', '-', '--url', emulator.url, '--token', TOKEN]);
      // 200 records of one client fill a request, sent at once; the other 50 wait for more of their client.
      cli.child.stdin.write(`${Array.from({ length: 250 }, (_, i) => line('u1', i + 1)).join('\n')}\n`);
      await emulator.waitForEvents(200, 60_000);

      cli.child.kill('SIGINT');
      const { code, stdout, stderr } = await cli.exited;

      assert.equal(code, 130, stdout + stderr);
      assert.match(stdout, /^Interrupted \(SIGINT\) after [\d.]+s, at line 250 of standard input\.$/m);
      assert.match(stdout, /^250 records read, 200 sent, 50 not sent \(0 rejected, 50 failed\); reading stopped at line 250\.$/m);
      assert.match(stdout, /^Not sent \(50 records\): lines 201-250$/m);
      assert.match(stdout, /^ {2}50 records: not sent: the import was interrupted \(SIGINT\)$/m);
      assert.equal(emulator.events().length, 200);
    });

    it('waits a bounded time for requests in flight, then reports them not sent', async () => {
      emulator.enqueueFaults({ kind: 'hang' });
      const interrupt = deferred<string>();
      const file = writeLines('hang.jsonl', Array.from({ length: 10 }, (_, i) => line('u1', i + 1)));
      const noted: string[] = [];

      const running = runImport({
        file,
        url: emulator.url,
        accessToken: TOKEN,
        progress: { write: (text: string) => noted.push(text) },
        progressIsTTY: false,
        progressIntervalMillis: 60_000,
        waitForStop: (() => {
          let calls = 0;
          return () => (calls++ === 0 ? interrupt.promise : new Promise<string>(() => {}));
        })(),
        interruptGraceMillis: 300,
      });
      await until(() => emulator.requests.length > 0, 'the request to hang');
      interrupt.resolve('SIGINT');
      const summary = await running;

      assert.deepEqual(summary.stop, { kind: 'interrupted', signal: 'SIGINT' });
      assert.equal(summary.sent, 0);
      assert.deepEqual(summary.unsentLines, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.deepEqual(summary.causes, [{ cause: 'not sent: the import stopped before Gravity confirmed them', records: 10 }]);
      assert.ok(noted.some((text) => /waiting up to 300 ms for 10 records in flight/.test(text)), noted.join(''));
    });

    it('a second interrupt ends the wait for what is in flight at once', async () => {
      emulator.enqueueFaults({ kind: 'hang' });
      const first = deferred<string>();
      const second = deferred<string>();
      const file = writeLines('hang-twice.jsonl', [line('u1', 1)]);

      const running = runCli(importArgs(file), { stops: [first.promise, second.promise] });
      await until(() => emulator.requests.length > 0, 'the request to hang');
      first.resolve('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const secondAt = Date.now();
      second.resolve('SIGINT');
      const run = await running;

      assert.ok(Date.now() - secondAt < 4_000, 'not the 5 s wait');
      assert.equal(run.code, 130);
      assert.match(run.stdout, /^1 records read, 0 sent, 1 not sent \(0 rejected, 1 failed\)\.$/m);
      assert.match(run.stdout, /^Not sent \(1 records\): lines 1$/m);
    });
  });
});
