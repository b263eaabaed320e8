/**
 * A user who set nothing up sees why records were not delivered: the Quickstart's shape run as a child process
 * with no OTel diag logger, its stderr read as it arrives. Each failure is named (HTTP status, the service's
 * code and msg, ECONNREFUSED host:port, TLS) before the export deadline; the token appears nowhere.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { GravityLogRecordExporter } from '../../src/index.js';
import { exportOnce } from '../helpers/export-once.js';
import { createTrackRecord } from '../helpers/record-builders.js';

const CHILD = fileURLToPath(new URL('../helpers/quickstart-child.ts', import.meta.url));
const CLOSED_STDERR_CHILD = fileURLToPath(new URL('../helpers/closed-stderr-child.ts', import.meta.url));
const CERT = fileURLToPath(new URL('../fixtures/tls/localhost-cert.pem', import.meta.url));
const KEY = fileURLToPath(new URL('../fixtures/tls/localhost-key.pem', import.meta.url));
const TOKEN = 'Visible-SECRET-token-5e1d';
const WRONG_TOKEN = 'Wrong-SECRET-token-9a7c';
/** Short, so that a failing endpoint costs each case seconds; the cause must show before it passes. */
const DEADLINE_MILLIS = 6_000;

interface Line {
  readonly text: string;
  readonly atMillis: number;
}

interface ChildRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stderrLines: readonly Line[];
  readonly summary: { emittedAtMillis: number; shutdownMillis: number; stats: { sent: number; failed: number; rejected: number; rejectedByReason: Record<string, number> } } | undefined;
}

async function runChild(env: Record<string, string>, args: readonly string[] = []): Promise<ChildRun> {
  const childEnv: Record<string, string | undefined> = { ...process.env, GE_EXPORT_DEADLINE_MILLIS: String(DEADLINE_MILLIS), ...env };
  for (const name of ['GE_DIAGNOSTICS', 'OTEL_LOG_LEVEL']) if (!(name in env)) delete childEnv[name];
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  let stdout = '';
  let stderr = '';
  const stderrLines: Line[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    for (const part of parts) stderrLines.push({ text: part, atMillis: Date.now() });
  });
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const last = stdout.trim().split('\n').at(-1);
  let summary: ChildRun['summary'];
  try {
    summary = last === undefined ? undefined : (JSON.parse(last) as ChildRun['summary']);
  } catch {
    summary = undefined;
  }
  return { exitCode, stdout, stderr, stderrLines, summary };
}

function assertNoToken(run: ChildRun): void {
  for (const secret of [TOKEN, WRONG_TOKEN]) {
    assert.ok(!run.stdout.includes(secret), `stdout contains the token:\n${run.stdout}`);
    assert.ok(!run.stderr.includes(secret), `stderr contains the token:\n${run.stderr}`);
  }
}

/** Our lines on stderr (the sink's prefix). */
function reports(run: ChildRun): Line[] {
  return run.stderrLines.filter((line) => line.text.startsWith('gravity-otel-exporter: '));
}

/** Asserts a line matching `pattern` reached stderr within the export deadline of the first emit. */
function assertNamedInTime(run: ChildRun, pattern: RegExp): Line {
  assert.equal(run.exitCode, 0, run.stderr);
  assert.ok(run.summary !== undefined, run.stdout);
  const line = reports(run).find((l) => pattern.test(l.text));
  assert.ok(line !== undefined, `no stderr line matches ${pattern}:\n${run.stderr}`);
  const afterMillis = line.atMillis - run.summary.emittedAtMillis;
  assert.ok(afterMillis < DEADLINE_MILLIS, `the cause came ${afterMillis} ms after the emit, past the ${DEADLINE_MILLIS} ms deadline`);
  return line;
}

let emulator: Emulator;

before(async () => {
  emulator = await startEmulator({ accessToken: TOKEN });
});

after(() => emulator.close());

describe('visible by default: no diag logger, the cause on stderr', () => {
  it('names ECONNREFUSED host:port at the first failed attempt, long before shutdown gives up', async () => {
    const run = await runChild({ GE_SERVER_URL: 'http://127.0.0.1:1', GE_ACCESS_TOKEN: TOKEN });
    const first = assertNamedInTime(run, /delivery to http:\/\/127\.0\.0\.1:1\/\S* failed: .*ECONNREFUSED 127\.0\.0\.1:1; retrying/);
    const final = reports(run).find((l) => /2 of 2 records .* were not delivered.*ECONNREFUSED 127\.0\.0\.1:1/.test(l.text));
    assert.ok(final !== undefined, run.stderr);
    // The retries run to the deadline; the first line does not wait for them.
    assert.ok(final.atMillis - first.atMillis > DEADLINE_MILLIS / 2, `first ${first.atMillis}, final ${final.atMillis}`);
    assert.equal(run.summary?.stats.failed, 2);
    assertNoToken(run);
  });

  it("names the service's code and msg for a wrong token", async () => {
    const run = await runChild({ GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: WRONG_TOKEN });
    assertNamedInTime(run, /2 of 2 records .* were not delivered; .*rejected by Gravity: code 1 "invalid access_token"/);
    assert.equal(run.summary?.stats.failed, 2);
    assertNoToken(run);
  });

  it('names HTTP 404 and the URL for a wrong path', async () => {
    const run = await runChild({ GE_SERVER_URL: `${emulator.origin}/wrong/path`, GE_ACCESS_TOKEN: TOKEN });
    const line = assertNamedInTime(run, /HTTP 404/);
    assert.ok(line.text.includes(`${emulator.origin}/wrong/path`), line.text);
    assertNoToken(run);
  });

  it('names the TLS error of a certificate it cannot verify', async () => {
    const server = createHttpsServer({ key: readFileSync(KEY), cert: readFileSync(CERT) }, (_req, res) => res.end('{"code":0}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const run = await runChild({ GE_SERVER_URL: `https://127.0.0.1:${port}`, GE_ACCESS_TOKEN: TOKEN });
      assertNamedInTime(run, /failed: .*self-signed certificate/);
      assertNoToken(run);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('names each rejected record by reason code and field', async () => {
    const records = [
      { eventName: 'purchase', attributes: { 'ge.clientid': 'user-42' } },
      { eventName: 'purchase', attributes: { 'ge.client_id': 'user-42', 'bad key': 1 } },
      { eventName: 'purchase', attributes: { 'ge.client_id': 'user-42' } },
    ];
    const run = await runChild({ GE_SERVER_URL: emulator.url, GE_ACCESS_TOKEN: TOKEN }, [`--records=${JSON.stringify(records)}`]);
    const line = assertNamedInTime(run, /2 of 3 records rejected and not sent/);
    assert.match(line.text, /ge\.clientid: .*did you mean ge\.client_id\? \(unknown_ge_attribute\)/);
    assert.match(line.text, /bad key: .*\(invalid_key\)/);
    assert.equal(run.summary?.stats.sent, 1);
    assertNoToken(run);
  });

  it('says a failure once per interval, then how many more there were', async () => {
    const run = await runChild({ GE_SERVER_URL: `${emulator.origin}/wrong/path`, GE_ACCESS_TOKEN: TOKEN }, ['--rounds=4']);
    assert.equal(run.exitCode, 0, run.stderr);
    const notDelivered = reports(run).filter((l) => /were not delivered/.test(l.text));
    assert.equal(notDelivered.length, 2, run.stderr);
    assert.doesNotMatch(notDelivered[0]!.text, /more like this/);
    // The other three exports, counted in one line when the process exits.
    assert.match(notDelivered[1]!.text, /HTTP 404.*\(3 more like this in the last \d+ s\)$/);
  });

  it('writes nothing of its own with GE_DIAGNOSTICS=off', async () => {
    const run = await runChild({ GE_SERVER_URL: `${emulator.origin}/wrong/path`, GE_ACCESS_TOKEN: TOKEN, GE_DIAGNOSTICS: 'off' });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(run.summary?.stats.failed, 2);
    assert.deepEqual(reports(run), []);
  });

  it('writes to stdout with GE_DIAGNOSTICS=stdout', async () => {
    const run = await runChild({ GE_SERVER_URL: `${emulator.origin}/wrong/path`, GE_ACCESS_TOKEN: TOKEN, GE_DIAGNOSTICS: 'stdout' });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(reports(run), []);
    assert.match(run.stdout, /^gravity-otel-exporter: .*HTTP 404/m);
  });
});

describe('with a diag logger registered, it goes there only', () => {
  it('leaves stderr to the diag logger (level ALL), and no level shows the token', async () => {
    for (const env of <Array<Record<string, string>>>[
      { GE_SERVER_URL: 'http://127.0.0.1:1', GE_ACCESS_TOKEN: TOKEN },
      { GE_SERVER_URL: `${emulator.url}?access_token=${WRONG_TOKEN}` },
    ]) {
      const run = await runChild(env, ['--diag']);
      assert.equal(run.exitCode, 0, run.stderr);
      assert.deepEqual(reports(run), [], 'no line of the fallback sink');
      // DiagConsoleLogger writes warnings to stderr and debug lines to stdout: the causes are there.
      assert.match(`${run.stdout}\n${run.stderr}`, /gravity-otel-exporter\/export .*were not delivered/);
      assertNoToken(run);
    }
  });
});

describe('strict configuration in a real process', () => {
  let server: Server;
  let hits = 0;

  before(async () => {
    server = createServer((_req, res) => {
      hits++;
      res.end('{"code":0}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('GE_SERVER_URL=127.0.0.1:<port> without a scheme throws GravityConfigurationError; nothing is sent anywhere', async () => {
    const { port } = server.address() as AddressInfo;
    const run = await runChild({ GE_SERVER_URL: `127.0.0.1:${port}`, GE_ACCESS_TOKEN: TOKEN });
    assert.notEqual(run.exitCode, 0);
    assert.match(run.stderr, /GravityConfigurationError: Configuration: GE_SERVER_URL is invalid, expected an absolute http\(s\) URL/);
    assert.match(run.stderr, new RegExp(`such as http://127\\.0\\.0\\.1:${port} \\(actual: 127\\.0\\.0\\.1:${port}\\)`));
    assert.equal(run.summary, undefined, 'the constructor threw before anything was emitted');
    assert.equal(hits, 0);
    assertNoToken(run);
  });
});

describe('the diagnostics option', () => {
  it('sends the lines of one exporter to a function, in-process, with the cause and without the token', async () => {
    const lines: string[] = [];
    const exporter = new GravityLogRecordExporter({ url: `${emulator.origin}/nowhere`, accessToken: TOKEN, diagnostics: (line) => lines.push(line) });
    try {
      await exportOnce(exporter, [createTrackRecord('fn-user'), createTrackRecord('fn-user', { 'bad key': 1 })]);
    } finally {
      await exporter.shutdown();
    }
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^gravity-otel-exporter: 1 of 2 records rejected and not sent: bad key: .*\(invalid_key\)$/);
    assert.match(lines[1]!, /^gravity-otel-exporter: 1 of 1 records .* were not delivered; .*HTTP 404.*\/nowhere\)$/);
    assert.ok(!lines.join('\n').includes(TOKEN));
  });
});

describe('a closed stderr', () => {
  it('never takes the host down: lines that cannot be written are lost, the process goes on', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLOSED_STDERR_CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // Like `app 2>&1 | head -1`: the reader goes away after the first line.
    child.stderr.once('data', () => child.stderr.destroy());
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(exitCode, 0);
    assert.equal(stdout, 'still alive\n');
  });
});
