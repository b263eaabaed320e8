/**
 * The emulator survives malformed, trickled, reset and half-closed requests. It runs in a child process
 * (test/helpers/emulator-chaos-child.ts) with random faults and a response delay, failing on any uncaught
 * exception, unhandled rejection or unhandled 'error' event; raw TCP clients on 127.0.0.1 send it seeded
 * chaos: garbage request lines and headers, malformed request targets, headers and bodies trickled a few
 * bytes at a time, resets before, during and after the body, half-closes, bad gzip, broken chunked encoding,
 * bodies over its limit, wrong lengths, pipelined requests and `Expect: 100-continue`. Afterwards it must still
 * accept a well-formed request, close, and leave nothing keeping its process alive.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { COLLECT_PATH } from '../../src/mapping/rules.js';
import { seededRandom } from '../helpers/chaos-server.js';
import { collectPayload, postCollect, trackRecord } from '../helpers/collect-client.js';

const CHILD = fileURLToPath(new URL('../helpers/emulator-chaos-child.ts', import.meta.url));
const SEED = process.env['CHAOS_SEED'] === undefined ? 0x5eed18 : Number(process.env['CHAOS_SEED']);
const CONNECTIONS = 240;
const AT_ONCE = 16;
const TARGET = `${COLLECT_PATH}?access_token=chaos-token`;

/** One step of a raw client: bytes to write, a pause, a reset (RST), a half-close (FIN). */
type Step = string | Buffer | { pause: number } | 'reset' | 'half-close';

function head(length: number | undefined, extra: readonly string[] = [], target = TARGET): string {
  const lines = [`POST ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Content-Type: application/json', ...extra];
  if (length !== undefined) lines.push(`Content-Length: ${length}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Splits `bytes` into pieces of 1-7 bytes with pauses of 0-`maxPause` ms. */
function trickled(bytes: Buffer, random: () => number, maxPause: number): Step[] {
  const steps: Step[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * 7);
    steps.push(bytes.subarray(at, at + size), { pause: Math.floor(random() * maxPause) });
    at += size;
  }
  return steps;
}

/** A seeded chaos plan: the name of the case and its steps. */
function plan(random: () => number): [string, Step[]] {
  const body = Buffer.from(JSON.stringify(collectPayload(`u${Math.floor(random() * 5)}`, [trackRecord()])));
  const cut = 1 + Math.floor(random() * (body.length - 2));
  const pause = { pause: Math.floor(random() * 60) };
  const cases: Array<() => [string, Step[]]> = [
    () => ['well-formed', [head(body.length), body]],
    () => ['garbage request line', [Buffer.from(Array.from({ length: 40 }, () => Math.floor(random() * 256))), '\r\n\r\n']],
    () => ['invalid header', [`POST ${TARGET} HTTP/1.1\r\nHo st: x\r\nContent-Length: 0\r\n\r\n`]],
    () => ['malformed target', [head(body.length, [], ['//', 'http://[::1', '%zz', '/a b', '*'][Math.floor(random() * 5)]!), body]],
    () => ['trickled headers and body', trickled(Buffer.concat([Buffer.from(head(body.length)), body]), random, 8)],
    () => ['reset before the body', [head(body.length), pause, 'reset']],
    () => ['reset mid-body', [head(body.length), body.subarray(0, cut), pause, 'reset']],
    () => ['reset after the body', [head(body.length), body, pause, 'reset']],
    () => ['half-close mid-body', [head(body.length), body.subarray(0, cut), pause, 'half-close']],
    () => ['half-close after the body', [head(body.length), body, pause, 'half-close']],
    () => ['bad gzip', [head(16, ['Gravity-Content-Compress: gzip']), 'not gzip at all!']],
    () => {
      const zipped = gzipSync(body);
      return ['gzip reset mid-body', [head(zipped.length, ['Gravity-Content-Compress: gzip']), zipped.subarray(0, zipped.length >> 1), pause, 'reset']];
    },
    () => ['broken chunked encoding', [head(undefined, ['Transfer-Encoding: chunked']), 'zz\r\nnot a chunk\r\n']],
    () => ['chunked reset', [head(undefined, ['Transfer-Encoding: chunked']), `${(cut).toString(16)}\r\n`, body.subarray(0, cut), pause, 'reset']],
    () => ['over the body limit, reset', [head(200_000), Buffer.alloc(100_000, 'x'), pause, 'reset']],
    () => ['over the body limit, sent whole', [head(100_000), Buffer.alloc(100_000, 'x')]],
    () => ['length longer than the body', [head(body.length + 50), body, pause, 'half-close']],
    () => ['pipelined, then reset', [head(body.length) + body.toString() + head(body.length) + body.toString(), pause, 'reset']],
    () => ['expect 100-continue, then reset', [head(body.length, ['Expect: 100-continue']), pause, body, 'reset']],
    () => ['not JSON', [head(9), 'not json!']],
  ];
  return cases[Math.floor(random() * cases.length)]!();
}

/** Plays `steps` on a fresh connection; resolves with the first answer line (or '') once the socket closed. */
function play(port: number, steps: readonly Step[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => (received += text));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve(received.split('\r\n')[0] ?? '');
    });
    // A hung answer (a fault) or a half-open request: the client goes away, as real ones do.
    const giveUp = setTimeout(() => socket.destroy(), 500);
    socket.on('connect', () => {
      void (async () => {
        for (const step of steps) {
          if (socket.destroyed) return;
          if (step === 'reset') return void socket.resetAndDestroy();
          if (step === 'half-close') socket.end();
          else if (typeof step === 'object' && 'pause' in step) await new Promise((r) => setTimeout(r, step.pause));
          else socket.write(step);
        }
      })();
    });
  });
}

describe(`emulator chaos (seed ${SEED})`, () => {
  it(`survives ${CONNECTIONS} malformed, trickled, reset and half-closed requests, then still accepts one, closes and leaves nothing behind`, async () => {
    const child = spawn(process.execPath, ['--unhandled-rejections=strict', '--import', 'tsx', CHILD, String(SEED)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const waiters = new Set<() => void>();
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      stdout += text;
      for (const waiter of waiters) waiter();
    });
    child.stderr.on('data', (text: string) => (stderr += text));
    /** Resolves with the first match of `pattern` in the child's output; rejects if it exits first. */
    const waitFor = (pattern: RegExp): Promise<RegExpExecArray> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(stdout);
          if (match === null) return;
          waiters.delete(check);
          child.off('close', onClose);
          resolve(match);
        };
        const onClose = (code: number | null): void => {
          waiters.delete(check);
          reject(new Error(`the emulator exited ${code} (stderr: ${stderr.slice(-3_000)})`));
        };
        waiters.add(check);
        child.on('close', onClose);
        check();
      });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    try {
      const port = Number((await waitFor(/^listening (\d+)$/m))[1]);
      const random = seededRandom(SEED);
      const plans = Array.from({ length: CONNECTIONS }, () => plan(random));
      // Status lines (without the reason phrase) each case got.
      const answers = new Map<string, Set<string>>();
      let next = 0;
      const client = async (): Promise<void> => {
        for (let i = next++; i < plans.length; i = next++) {
          const [name, steps] = plans[i]!;
          const line = await play(port, steps);
          answers.set(name, (answers.get(name) ?? new Set()).add(line.replace(/ [A-Za-z -]+$/, '')));
        }
      };
      await Promise.all(Array.from({ length: AT_ONCE }, client));
      assert.doesNotMatch(stderr, /^FAIL /m, stderr);
      assert.ok(answers.size >= 18, `cases played: ${[...answers.keys()].join(', ')}`);
      // A malformed target is the client's mistake: a 4xx, never an 'emulator bug' 500.
      const malformed = [...(answers.get('malformed target') ?? [])];
      assert.ok(malformed.length > 0 && malformed.every((line) => /^HTTP\/1\.1 4\d\d$/.test(line)), `answers to malformed targets: ${JSON.stringify(malformed)}`);

      child.stdin.write('calm\n');
      await waitFor(/^calm$/m);
      const accepted = await postCollect(`http://127.0.0.1:${port}${COLLECT_PATH}`, collectPayload('after-chaos', [trackRecord()]), { token: 'chaos-token' });
      assert.deepEqual({ status: accepted.status, code: (accepted.body as { code?: unknown }).code }, { status: 200, code: 0 });

      child.stdin.end();
      const closed = JSON.parse((await waitFor(/^closed (.*)$/m))[1]!) as { requests: number; resources: string[] };
      assert.deepEqual(closed.resources, [], 'still keeping the emulator process alive after close()');
      assert.ok(closed.requests > CONNECTIONS / 3, `requests the emulator saw: ${closed.requests}`);
      assert.equal(await exited, 0, `exit code (stderr: ${stderr.slice(-3_000)})`);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });
});
