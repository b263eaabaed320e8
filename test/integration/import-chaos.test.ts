/**
 * `gravity-otel import` survives a collect endpoint answering around its request timeout (the chaos server of
 * test/helpers/chaos-server.ts: late and trickled answers, resets, half-closes, 413s, 5xx) while its input
 * arrives trickled through a named pipe that is cut mid-line. The real CLI runs as a child with
 * --unhandled-rejections=strict; it must end with its summary and exit code 0 or 1 (not every record was sent) or 3
 * (stopped early, its first requests all timed out), never a crash, and its summary must account for every line.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startChaosServer } from '../helpers/chaos-server.js';

// Seed 1 lets the import through its first requests, so it runs the whole file through retries and backoffs.
const SEED = process.env['CHAOS_SEED'] === undefined ? 1 : Number(process.env['CHAOS_SEED']);
const TIMEOUT_MILLIS = 300;
const LINES = 240;
const HISTORY_MILLIS = Date.UTC(2023, 10, 14, 22, 13, 20);

describe(`gravity-otel import under transport chaos (seed ${SEED})`, () => {
  it('reads a trickled pipe cut mid-line, survives answers around its timeout, and accounts for every line', async () => {
    const server = await startChaosServer({ seed: SEED, timeoutMillis: TIMEOUT_MILLIS });
    const dir = mkdtempSync(path.join(tmpdir(), 'gravity-import-chaos-'));
    try {
      const fifo = path.join(dir, 'history.jsonl');
      execFileSync('mkfifo', [fifo]);
      const lines: string[] = [];
      for (let i = 0; i < LINES; i++) {
        lines.push(JSON.stringify({ client_id: `user-${i % 6}`, type: 'track', event: 'buy', time: HISTORY_MILLIS + i, properties: { chaos_id: `${SEED}.0.${i}` } }));
      }
      const input = `${lines.join('\n')}\n${lines[0]!.slice(0, 25)}`; // the pipe is cut in the middle of one more line
      const child = spawn(
        process.execPath,
        ['--unhandled-rejections=strict', '--import', 'tsx', 'src/cli/bin.ts', 'import', fifo, '--url', server.url, '--token', 'chaos-token', '--concurrency', '4'],
        {
          env: { ...process.env, GE_TIMEOUT_MILLIS: String(TIMEOUT_MILLIS), GE_EXPORT_DEADLINE_MILLIS: String(6 * TIMEOUT_MILLIS) },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      // Opening the pipe waits for the import to open it too; then a few hundred bytes at a time, 5 ms apart.
      const opening = open(fifo, 'w');
      const first = await Promise.race([opening, exited.then(() => undefined)]);
      if (first === undefined) {
        // The import ended before it opened its input: a reader of our own lets the pending open finish.
        await (await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK)).close();
        await (await opening).close();
      } else {
        for (let at = 0; at < input.length && child.exitCode === null; at += 700) {
          await first.write(input.slice(at, at + 700)).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await first.close();
      }
      const code = await exited;
      clearTimeout(killer);

      // Either the whole file was tried (exit 1: not every record was sent), or the import stopped early
      // because its first requests all timed out (exit 3); both summaries account for every line.
      const summary =
        /: (\d+) records, (\d+) sent, (\d+) rejected, (\d+) failed/.exec(stdout) ??
        /(\d+) records read, (\d+) sent, \d+ not sent \((\d+) rejected, (\d+) failed\)/.exec(stdout);
      assert.ok(summary, `no summary; exit ${code}; stdout: ${stdout}; stderr: ${stderr.slice(-3_000)}`);
      const stoppedEarly = /^Stopped early after/m.test(stdout);
      const [records, sent, rejected, failed] = summary.slice(1).map(Number) as [number, number, number, number];
      const expectedCode = stoppedEarly ? 3 : sent + rejected === records && rejected === 0 ? 0 : 1;
      assert.equal(code, expectedCode, `exit code; stdout: ${stdout}; stderr: ${stderr.slice(-3_000)}`);
      assert.equal(sent + rejected + failed, records, stdout);
      assert.ok(sent <= server.stored.size, `sent ${sent}, stored by the server ${server.stored.size}`);
      // The chaos reached the import: some answers were not plain successes.
      const answers = Object.entries(server.tally);
      assert.ok(answers.some(([behaviour, count]) => behaviour !== 'ok' && count! > 0), JSON.stringify(server.tally));
      if (stoppedEarly) {
        assert.ok(failed > 0, stdout);
      } else {
        assert.equal(records, LINES + 1);
        assert.equal(rejected, 1, 'the line cut by the end of the pipe');
        assert.ok(sent > 0, stdout);
        // Anything not sent is listed with its cause.
        if (failed > 0) assert.match(stdout, /Causes:/);
      }
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
