/**
 * `npm run soak`: the long delivery acceptance runs, each in a child process so that its exit is measured.
 *   1. faulty-run: 20,000 records / 1,000 clients, ~30% random 5xx and resets, 10 s outage mid-run; the child
 *      must exit within 1 s after shutdown() resolves.
 *   2. stalled-run: an endpoint that never answers, 2,000 records/s for 60 s, no spool: RSS growth < 100 MB.
 *   3. spool: 10,000 records emitted while the endpoint is down, SIGKILL, then a new process delivers all, once.
 *   4. order: 20,000 user operations over 1,000 clients through a 10 s outage, a SIGKILL and a restart: every
 *      record delivered, each client's in emit order (soak/order-run.ts).
 *   5. shutdown: an endpoint that never answers, 2,000 records/s for 60 s through the processor helper, then
 *      provider.shutdown(): within the default budget, every record accounted for (soak/shutdown-run.ts).
 * Prints one JSON line per run and a verdict; exit code 1 if any check failed. Takes about six minutes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../src/emulator/index.js';
import { GravityLogRecordExporter } from '../src/index.js';
import { orderRun } from './order-run.js';
import { shutdownRun } from './shutdown-run.js';

function runChild(args: string[], onLine?: (line: string) => void): Promise<{ lines: string[]; exitedAtMillis: number; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let index;
      while ((index = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 1);
        lines.push(line);
        onLine?.(line);
        if (onLine === undefined) process.stdout.write(`${line}\n`);
      }
    });
    child.on('exit', (code) => resolve({ lines, exitedAtMillis: Date.now(), code }));
  });
}

async function spoolKillRun(records: number): Promise<Record<string, unknown>> {
  const emulator = await startEmulator();
  const dir = mkdtempSync(join(tmpdir(), 'ge-soak-spool-'));
  try {
    await emulator.setDown(true);
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/spool-child.ts', emulator.url, dir, String(records), '1000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('spooled')) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    await emulator.setDown(false);
    const startMillis = Date.now();
    const exporter = new GravityLogRecordExporter({ url: emulator.url, accessToken: 'soak', spoolDir: dir });
    await emulator.waitForEvents(records - 1, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // any duplicate would arrive by now
    await exporter.shutdown();
    const seqs = emulator.events().map((e) => Number(e.properties['seq']));
    const unique = new Set(seqs).size;
    return {
      run: 'spool',
      records,
      delivered: seqs.length,
      unique,
      duplicates: seqs.length - unique,
      drainMillis: Date.now() - startMillis - 2_000,
      ok: unique >= records - 1 && seqs.length === unique,
    };
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void (async () => {
  let ok = true;
  const faulty = await runChild(['soak/faulty-run.ts', '20000', '1000', '10000'], () => undefined);
  const faultyResult = JSON.parse(faulty.lines.at(-1) ?? '{}') as { ok?: boolean; shutdownResolvedAtMillis?: number };
  const exitAfterShutdownMillis = faulty.exitedAtMillis - (faultyResult.shutdownResolvedAtMillis ?? 0);
  const faultyOk = faultyResult.ok === true && exitAfterShutdownMillis < 1_000;
  process.stdout.write(`${JSON.stringify({ run: 'faulty', ...faultyResult, exitAfterShutdownMillis, ok: faultyOk })}\n`);
  ok &&= faultyOk;

  const stalled = await runChild(['soak/stalled-run.ts', '2000', '60'], () => undefined);
  const stalledResult = JSON.parse(stalled.lines.at(-1) ?? '{}') as { ok?: boolean };
  process.stdout.write(`${JSON.stringify({ run: 'stalled', ...stalledResult })}\n`);
  ok &&= stalledResult.ok === true;

  const spoolResult = await spoolKillRun(10_000);
  process.stdout.write(`${JSON.stringify(spoolResult)}\n`);
  ok &&= spoolResult['ok'] === true;

  const orderResult = await orderRun(20_000, 1_000, 10_000, 2_000);
  process.stdout.write(`${JSON.stringify({ run: 'order', ...orderResult })}\n`);
  ok &&= orderResult.ok;

  const shutdownResult = await shutdownRun(2_000, 60, false);
  process.stdout.write(`${JSON.stringify({ run: 'shutdown', ...shutdownResult })}\n`);
  ok &&= shutdownResult['ok'] === true;

  process.stdout.write(ok ? 'soak: all checks passed\n' : 'soak: FAILED\n');
  process.exitCode = ok ? 0 : 1;
})();
