/**
 * `gravity-otel import FILE.jsonl`: streams a file of historical records through the exporter pipeline to the
 * emulator, with progress on stderr, a summary on stdout, rejected lines by number, and exit codes 0/1/2.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';

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

async function runCli(argv: string[], options: { stderrIsTTY?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: Object.assign({ write: (text: string) => (stderr += text) }, { isTTY: options.stderrIsTTY === true }),
    waitForStop: () => new Promise<string>(() => {}),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
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
    assert.match(run.stdout, /^ {2}line 5000: userIncrement: coins: this operation needs a number, got string$/m);
    assert.match(run.stdout, /^ {2}line 100000: track: clientId: empty string$/m);
    assert.match(run.stdout, /Rejected by reason: invalid_json 1, invalid_operation_value 1, invalid_client_id 1/);
    assert.match(run.stderr, /^import: 100000 records \(100%\), \d+ records\/s, ETA 0s$/m, 'a final progress line');
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

  it('lists a record too large for one request at its line: the facade refuses it before it is sent', async () => {
    const file = writeLines('mixed.jsonl', [
      '{"client_id": "u1"',
      JSON.stringify({ client_id: 'u1', type: 'track', event: 'huge', time: HISTORY_MILLIS, properties: { blob: 'x'.repeat(1_100_000) } }),
    ]);
    const run = await runCli(importArgs(file));
    assert.match(run.stdout, /: 2 records, 0 sent, 2 rejected/);
    assert.match(run.stdout, /line 1: not JSON/);
    assert.doesNotMatch(run.stdout, /\.\.\. and \d+ more/);
    assert.match(run.stdout, /line 2: track: blob: \d+ bytes of JSON make the record \d+ bytes, over the 1000000 bytes/);
    assert.match(run.stdout, /\nRejected by reason: invalid_json 1, record_too_large 1/);
  });

  it('reports records the service refuses as failed and exits 1', async () => {
    const file = writeLines('refused.jsonl', [JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS, properties: { a: 1 } })]);
    emulator.enqueueFaults({ kind: 'code', code: 1, msg: 'app not found' });

    const run = await runCli(importArgs(file));

    assert.equal(run.code, 1);
    assert.match(run.stdout, /: 1 records, 0 sent, 0 rejected, 1 failed\./);
  });

  it('rewrites the progress line in place when stderr is a terminal', async () => {
    const file = writeLines('tty.jsonl', [JSON.stringify({ client_id: 'u1', op: 'set', time: HISTORY_MILLIS, properties: { a: 1 } })]);

    const run = await runCli(importArgs(file), { stderrIsTTY: true });

    assert.equal(run.code, 0);
    assert.match(run.stderr, /^\r\x1b\[2Kimport: 1 records \(100%\), \d+ records\/s, ETA 0s\n$/m);
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
});
