/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile gravity-tuned ...`): self time per area
 * (our mapping, batching/encoding, pipeline, transport, undici, zlib, OTel SDK, JSON, GC, idle) and the top
 * functions by self time.
 *
 *   node --import tsx bench/profile-summary.ts bench/profiles/gravity-tuned-….cpuprofile [topN]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function area(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (url.includes('@opentelemetry')) return 'OTel SDK';
  url = url.replace('/.bench-out/gravity/', '/src/');
  if (url.includes('/src/mapping/')) return 'ours: mapping';
  if (url.includes('/src/batching') || url.includes('/src/encode')) return 'ours: batching + encode';
  if (url.includes('/src/transport/')) return 'ours: transport';
  if (url.includes('/src/')) return 'ours: pipeline/other';
  if (url.includes('/bench/')) return 'bench harness (workload, sink checks)';
  if (url.includes('undici')) return 'undici';
  if (url.includes('zlib') || /gzip|deflate|zlib/i.test(fn)) return 'zlib';
  if (url.includes('@opentelemetry')) return 'OTel SDK';
  if (fn === 'stringify' || fn === 'parse' || url === '' && /JSON/.test(fn)) return 'JSON (native)';
  if (url.startsWith('node:')) return `node core (${url.replace(/^node:internal\//, '').split('/')[0]})`;
  if (url === '') return `native: ${fn || '(anonymous)'}`;
  return 'other JS';
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [topN]');
const topN = Number(process.argv[3] ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMicros = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
let total = 0;
let busy = 0;
const areas = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, micros] of selfMicros) {
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const a = area(functionName, url);
  total += micros;
  if (a !== 'idle') busy += micros;
  areas.set(a, (areas.get(a) ?? 0) + micros);
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + micros);
}
const pct = (m: number): string => `${((100 * m) / busy).toFixed(1).padStart(5)}%`;
console.log(`${file}\ntotal ${(total / 1e3).toFixed(0)} ms sampled, busy (not idle) ${(busy / 1e3).toFixed(0)} ms\n`);
console.log('self time by area (% of busy):');
for (const [a, m] of [...areas].sort((x, y) => y[1] - x[1])) if (a !== 'idle') console.log(`  ${pct(m)}  ${(m / 1e3).toFixed(0).padStart(6)} ms  ${a}`);
console.log(`\ntop ${topN} functions by self time:`);
for (const [f, m] of [...functions].sort((x, y) => y[1] - x[1]).slice(0, topN)) console.log(`  ${pct(m)}  ${(m / 1e3).toFixed(0).padStart(6)} ms  ${f}`);
