/**
 * Per-request CPU micro-benchmark: the same request batches (the S2 workload grouped per client, ≤ 200 records
 * each) sent to the bench sink (its own process, so its CPU is not counted) through layers of the exporter,
 * each beside a hand-written undici loop doing the same encoding, so the table shows what each layer adds per
 * request. CPU = process.cpuUsage() over a round (all threads) ÷ requests; medians of rounds in rotating order.
 *
 *   node --import tsx bench/request-micro.ts [--rounds 5] [--delay-ms 20] [--concurrency 64] [--variants a,b] [--requests N]
 *
 * Instruction counts, repeatable on a loaded machine (each variant's measured rounds are dumped on their own,
 * after an untimed warm-up round; `summary:` of each dump ÷ requests):
 *
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p node --import tsx bench/request-micro.ts --callgrind --rounds 1 --requests 1000
 *
 * Variants:
 * - `undici`: a Pool of `concurrency` connections, `concurrency` workers; per request the exporter's own
 *   encoding (`toPayloadJson` + `encodeBody`), `pool.request`, `body.text()`, a check of the answer.
 * - `transport`: the same encoding, then `createHttpTransport(config).send()` (one attempt: headers, deadline,
 *   classification).
 * - `delivery`: `createDelivery` fed every batch in one job (lanes, units, slots, the retry decorator, encoding,
 *   the transport), `maxConcurrentRequests` = `concurrency`.
 * - `delivery-128`: the same at the exporter's default of 128 connections.
 * - `encode-loop` / `delivery-instant`: no network: a transport that answers success on the next turn of the
 *   event loop, fed by a bare loop doing the same encoding, or by `createDelivery` (128 connections): the
 *   delivery machinery's own cost per batch, without the network's noise.
 *
 * Each row is read against its reference: the undici loop for the network rows, the encode loop for
 * `delivery-instant`.
 */
import { execFileSync, fork } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { RequestBatch } from '../src/batching/request-batch.js';
import type { SendResult, Transport } from '../src/transport/types.js';
import { encodeBody, toPayloadJson } from '../src/batching/encode.js';
import { resolveConfig } from '../src/config/resolve-config.js';
import { createDelivery } from '../src/delivery/delivery.js';
import { StatsRecorder } from '../src/observability/stats.js';
import { createHttpTransport } from '../src/transport/http-transport.js';
import { sleepUnref } from '../src/transport/retrying-transport.js';
import { VERSION } from '../src/common/version.js';
import { generateWorkload, stampEmitTime, toWireEvent } from './workload.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const rounds = Number(arg('rounds', '5'));
const delayMillis = Number(arg('delay-ms', '20'));
const concurrency = Number(arg('concurrency', '64'));
const variantNames = arg('variants', 'undici,transport,delivery,delivery-128,encode-loop,delivery-instant').split(',');
const requestLimit = Number(arg('requests', 'Infinity'));
const callgrind = argv.includes('--callgrind');

const COLLECT_PATH = '/event_center/api/v1/event/collect/?access_token=bench-token';

function makeBatches(): RequestBatch[] {
  const records = generateWorkload({ seed: 20_240_601, clients: 10_000, records: 20_000 });
  const groups = new Map<string, string[]>();
  const now = Date.now();
  for (const record of records) {
    stampEmitTime(record, now);
    let list = groups.get(record.clientId);
    if (list === undefined) groups.set(record.clientId, (list = []));
    list.push(JSON.stringify(toWireEvent(record, now, VERSION)));
  }
  const batches: RequestBatch[] = [];
  for (const [clientId, events] of groups) {
    for (let i = 0; i < events.length; i += 200) {
      const eventJson = events.slice(i, i + 200);
      batches.push({ clientId, clientIp: undefined, clientUa: undefined, eventJson, bytes: eventJson.reduce((n, e) => n + e.length, 0) });
    }
  }
  return batches;
}

type Variant = (origin: string, batches: readonly RequestBatch[]) => Promise<void>;

async function workers(count: number, batches: readonly RequestBatch[], each: (batch: RequestBatch) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) await each(batches[next++]!);
  };
  await Promise.all(Array.from({ length: count }, worker));
}

const variants: Record<string, Variant> = {
  async undici(origin, batches) {
    const pool = new Pool(origin, { connections: concurrency, keepAliveTimeout: 4_000 });
    await workers(concurrency, batches, async (batch) => {
      const { body } = encodeBody(toPayloadJson(batch), 'gzip');
      const response = await pool.request({
        path: COLLECT_PATH,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'gravity-content-compress': 'gzip' },
        body,
      });
      const text = await response.body.text();
      if (response.statusCode !== 200 || !text.includes('"code":0')) throw new Error(`HTTP ${response.statusCode} ${text}`);
    });
    await pool.close();
  },
  async transport(origin, batches) {
    const transport = createHttpTransport(resolveConfig({ url: origin, accessToken: 'bench-token', maxConcurrentRequests: concurrency, timeoutMillis: 600_000, exportDeadlineMillis: 600_000 }));
    await workers(concurrency, batches, async (batch) => {
      const { body, compressed } = encodeBody(toPayloadJson(batch), 'gzip');
      const result = await transport.send({ body, compressed, recordCount: batch.eventJson.length });
      if (result.status !== 'success') throw result.error;
    });
    await transport.close();
  },
  delivery: (origin, batches) => deliver(origin, batches, concurrency),
  'delivery-128': (origin, batches) => deliver(origin, batches, 128),
  async 'encode-loop'(_origin, batches) {
    await workers(128, batches, async (batch) => {
      const { body, compressed } = encodeBody(toPayloadJson(batch), 'gzip');
      const result = await instant.send({ body, compressed, recordCount: batch.eventJson.length });
      if (result.status !== 'success') throw result.error;
    });
  },
  'delivery-instant': (origin, batches) => deliver(origin, batches, 128, instant),
};

/** Which row each row is read against. */
const REFERENCE: Record<string, string> = { 'encode-loop': 'encode-loop', 'delivery-instant': 'encode-loop' };

const SUCCESS: SendResult = { status: 'success', response: { code: 0 } };
/** Answers success on the next turn of the event loop, as a response would. */
const instant: Transport = {
  send: () => new Promise((resolve) => setImmediate(resolve, SUCCESS)),
  close: () => Promise.resolve(),
};

async function deliver(origin: string, batches: readonly RequestBatch[], connections: number, through?: Transport): Promise<void> {
  const config = resolveConfig({ url: origin, accessToken: 'bench-token', maxConcurrentRequests: connections, maxBufferedRecords: 1_000_000, timeoutMillis: 600_000, exportDeadlineMillis: 600_000 });
  const transport = through ?? createHttpTransport(config);
  const delivery = createDelivery({ config, transport, stats: new StatsRecorder(), now: Date.now, sleep: sleepUnref, random: Math.random, spool: undefined });
  const job = delivery.open(Date.now() + 600_000);
  job.add(batches);
  const settled = (await job.seal()).flat();
  const bad = settled.find((s) => s.outcome !== 'sent');
  if (bad !== undefined) throw bad.error ?? new Error(bad.outcome);
  await transport.close();
}

async function main(): Promise<void> {
  const sink = fork(fileURLToPath(new URL('./sink.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const origin = await new Promise<string>((resolve) => sink.once('message', (m: { port: number }) => resolve(`http://127.0.0.1:${m.port}`)));
  try {
    const batches = makeBatches().slice(0, requestLimit);
    const names = variantNames.filter((n) => variants[n] !== undefined);
    const micros = new Map<string, number[]>(names.map((n) => [n, []]));
    const gcMicros = new Map<string, number[]>(names.map((n) => [n, []]));
    let gcMillis = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcMillis += entry.duration;
    }).observe({ entryTypes: ['gc'] });
    const reset = (): Promise<unknown> => fetch(`${origin}/__reset?delayMillis=${delayMillis}`, { method: 'POST' });
    // One untimed round each: JIT warm-up.
    for (const name of names) {
      await reset();
      await variants[name]!(origin, batches);
    }
    if (callgrind) {
      for (const name of names) {
        execFileSync('callgrind_control', ['-z', String(process.pid)], { stdio: 'ignore' });
        for (let r = 0; r < rounds; r++) {
          await reset();
          await variants[name]!(origin, batches);
        }
        execFileSync('callgrind_control', ['-d', name, String(process.pid)], { stdio: 'ignore' });
        console.log(`dumped ${name}: ${rounds} × ${batches.length} requests`);
      }
      return;
    }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length]!;
        await reset();
        const gc0 = gcMillis;
        const cpu0 = process.cpuUsage();
        await variants[name]!(origin, batches);
        const cpu = process.cpuUsage(cpu0);
        // GC entries are delivered asynchronously: give them a turn before reading.
        await new Promise((resolve) => setImmediate(resolve));
        micros.get(name)!.push((cpu.user + cpu.system) / batches.length);
        gcMicros.get(name)!.push(((gcMillis - gc0) * 1000) / batches.length);
      }
    }
    const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(`${batches.length} requests per round, ${rounds} rounds, delay ${delayMillis} ms, concurrency ${concurrency}`);
    console.log('| variant | µs CPU per request, median (min–max) | × its reference | of which GC pauses, µs |');
    console.log('|---|---:|---:|---:|');
    for (const name of names) {
      const xs = micros.get(name)!;
      const reference = micros.get(REFERENCE[name] ?? 'undici');
      const ratio = reference === undefined ? '—' : `${(median(xs) / median(reference)).toFixed(2)}× ${REFERENCE[name] ?? 'undici'}`;
      console.log(
        `| ${name} | ${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}) | ${ratio} | ${median(gcMicros.get(name)!).toFixed(1)} |`,
      );
    }
  } finally {
    sink.disconnect();
    sink.kill();
  }
}

void main();
