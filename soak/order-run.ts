/**
 * Acceptance run: per-client order through an outage, a SIGKILL and a restart. RECORDS records over CLIENTS
 * clients, each client a sequence of user operations whose final profile depends on their order
 * (test/helpers/user-op-workload.ts), emitted at RATE records/s through LoggerProvider + the processor helper +
 * a spool, by two processes in turn (test/helpers/order-child.ts):
 *   1. the first emits the first half; the endpoint goes down (for DOWN ms) a quarter of the way in; once the
 *      first half is flushed (delivered or spooled) it is SIGKILLed, the endpoint still down;
 *   2. a second process on the same spool emits the second half; the endpoint comes back while it emits.
 * Checks: every record delivered, and per client the records arrived exactly in emit order (no gap, repeat or
 * swap), so each client's profile equals the one its emit order gives.
 *
 *   node --import tsx soak/order-run.ts [records=20000] [clients=1000] [downMillis=10000] [ratePerSecond=2000]
 * Prints one JSON line; exit code 0 when every check passed.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from '../src/emulator/index.js';
import { arrivalsByClient, buildProfile, clientsOutOfOrder, seqOfEvent, workloadTimeOrigin } from '../test/helpers/user-op-workload.js';

const CHILD = fileURLToPath(new URL('../test/helpers/order-child.ts', import.meta.url));

export interface OrderRunResult {
  readonly records: number;
  readonly clients: number;
  readonly delivered: number;
  readonly uniqueDelivered: number;
  readonly duplicates: number;
  readonly clientsOutOfOrder: number;
  readonly profilesDiffering: number;
  readonly downMillis: number;
  /** From the endpoint's return to the last record's arrival. */
  readonly catchUpMillis: number;
  readonly secondProcessStats: unknown;
  readonly ok: boolean;
}

interface Child {
  readonly process: ChildProcess;
  /** Resolves once a stdout line satisfies `predicate`; with that line. */
  line(predicate: (line: string) => boolean, timeoutMillis?: number): Promise<string>;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  return {
    process: child,
    line: (predicate, timeoutMillis = 120_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`order child: no matching line; stderr: ${stderr.slice(-2_000)}`)), timeoutMillis);
        const check = (): void => {
          const found = lines.find(predicate);
          if (found === undefined) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(found);
        };
        listeners.add(check);
        check();
      }),
  };
}

const emittedAtLeast = (count: number) => (line: string) => line.startsWith('emitted ') && Number(line.slice(8)) >= count;

export async function orderRun(records: number, clients: number, downMillis: number, ratePerSecond: number): Promise<OrderRunResult> {
  const emulator = await startEmulator();
  const dir = mkdtempSync(join(tmpdir(), 'ge-order-run-'));
  const t0 = workloadTimeOrigin();
  const half = Math.floor(records / 2);
  const children: Child[] = [];
  try {
    // 1. The first process: the endpoint goes down a quarter of the way in; SIGKILL once all is spooled.
    const first = startChild([emulator.url, dir, '0', String(half), String(clients), String(ratePerSecond), String(t0)]);
    children.push(first);
    await first.line(emittedAtLeast(Math.floor(records / 4)));
    await emulator.setDown(true);
    const downAt = Date.now();
    const upAgain = (async () => {
      await new Promise((resolve) => setTimeout(resolve, downMillis));
      await emulator.setDown(false);
      return Date.now();
    })();
    await first.line((line) => line.startsWith('flushed '));
    first.process.kill('SIGKILL');
    await new Promise((resolve) => first.process.once('exit', resolve));
    if (Date.now() - downAt >= downMillis) throw new Error('the first process flushed after the outage ended: raise downMillis');
    // 2. The second process, same spool: the endpoint comes back while it emits.
    const second = startChild([emulator.url, dir, String(half), String(records), String(clients), String(ratePerSecond), String(t0)]);
    children.push(second);
    const upAt = await upAgain;
    await second.line((line) => line.startsWith('flushed '));
    const deadline = Date.now() + 300_000;
    const unique = (): number => new Set(emulator.events().map((e) => e.time)).size;
    while (unique() < records && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const catchUpMillis = Date.now() - upAt;
    second.process.stdin!.write('shutdown\n');
    const statsLine = await second.line((line) => line.startsWith('stats '), 60_000);
    const events = emulator.events();
    const arrivals = arrivalsByClient(events, t0);
    const wrong = clientsOutOfOrder(arrivals, records, clients);
    let profilesDiffering = 0;
    for (let c = 0; c < clients; c++) {
      const id = `c${c}`;
      const arrived = events.filter((e) => e.client_id === id);
      const emitted = [...arrived].sort((a, b) => seqOfEvent(a, t0) - seqOfEvent(b, t0));
      if (JSON.stringify(buildProfile(arrived)) !== JSON.stringify(buildProfile(emitted))) profilesDiffering++;
    }
    const uniqueDelivered = unique();
    return {
      records,
      clients,
      delivered: events.length,
      uniqueDelivered,
      duplicates: events.length - uniqueDelivered,
      clientsOutOfOrder: wrong.length,
      profilesDiffering,
      downMillis,
      catchUpMillis,
      secondProcessStats: JSON.parse(statsLine.slice('stats '.length)) as unknown,
      ok: uniqueDelivered === records && wrong.length === 0 && profilesDiffering === 0,
    };
  } finally {
    for (const child of children) child.process.kill('SIGKILL');
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('order-run.ts')) {
  const [records = '20000', clients = '1000', downMillis = '10000', rate = '2000'] = process.argv.slice(2);
  void orderRun(Number(records), Number(clients), Number(downMillis), Number(rate)).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.ok ? 0 : 1;
  });
}
