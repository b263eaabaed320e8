/**
 * Body-encoding micro-benchmark behind the compression recommendations: CPU per body and bytes on the wire
 * for plain JSON, async `zlib.gzip` (what src/batching/encode.ts does), `gzipSync`, lower levels and smaller windows,
 * for per-client bodies of 1 to 200 workload records.
 *
 *   node --import tsx bench/encode-micro.ts
 */
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { constants, gzip, gzipSync } from 'node:zlib';
import type { ZlibOptions } from 'node:zlib';
import { generateWorkload, stampEmitTime, toWireEvent } from './workload.js';

const gzipAsync = promisify(gzip);
const records = generateWorkload({ seed: 7, clients: 1, records: 2_000 });
const events = records.map((r) => {
  stampEmitTime(r, Date.now());
  return JSON.stringify(toWireEvent(r, Date.now(), '0.1.0'));
});
const body = (n: number, offset: number): Buffer =>
  Buffer.from(`{"client_id":"user-1","event_list":[${events.slice(offset, offset + n).join(',')}]}`, 'utf8');

interface Variant {
  readonly name: string;
  readonly run: (bodies: readonly Buffer[]) => Promise<number>;
}
const sync = (options?: ZlibOptions) => async (bodies: readonly Buffer[]) => bodies.reduce((n, b) => n + gzipSync(b, options).length, 0);
const variants: Variant[] = [
  { name: 'plain (no gzip)', run: async (bodies) => bodies.reduce((n, b) => n + b.length, 0) },
  {
    name: 'async gzip, 32 in parallel (src before streaming exports)',
    run: async (bodies) => {
      let total = 0;
      for (let i = 0; i < bodies.length; i += 32) {
        const out = await Promise.all(bodies.slice(i, i + 32).map((b) => gzipAsync(b)));
        total += out.reduce((n, b) => n + b.length, 0);
      }
      return total;
    },
  },
  { name: 'gzipSync default (level 6)', run: sync() },
  { name: 'gzipSync level 1', run: sync({ level: 1 }) },
  { name: 'gzipSync level 3', run: sync({ level: 3 }) },
  { name: 'gzipSync level 1, memLevel 8, windowBits 12', run: sync({ level: 1, windowBits: 12, memLevel: 8 }) },
  { name: 'gzipSync level 6, windowBits 12, memLevel 6', run: sync({ level: 6, windowBits: 12, memLevel: 6 }) },
  { name: 'gzipSync Z_HUFFMAN_ONLY', run: sync({ strategy: constants.Z_HUFFMAN_ONLY }) },
];

async function main(): Promise<void> {
  console.log('| records per body | plain bytes | variant | µs CPU per body | µs CPU per record | bytes sent (× plain) |');
  console.log('|---:|---:|---|---:|---:|---:|');
  for (const n of [1, 2, 5, 20, 200]) {
    const count = Math.max(50, Math.floor(4_000 / n));
    const bodies = Array.from({ length: count }, (_, i) => body(n, (i * n) % (events.length - n)));
    const plain = bodies.reduce((s, b) => s + b.length, 0);
    for (const v of variants) {
      await v.run(bodies.slice(0, 20));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const bytes = await v.run(bodies);
      void t0;
      const cpu = process.cpuUsage(cpu0);
      const micros = (cpu.user + cpu.system) / count;
      console.log(
        `| ${n} | ${Math.round(plain / count)} | ${v.name} | ${micros.toFixed(1)} | ${(micros / n).toFixed(1)} | ${Math.round(bytes / count)} (${(bytes / plain).toFixed(2)}) |`,
      );
    }
  }
}

void main();
