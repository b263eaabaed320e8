/**
 * HTTP/1.1 vs HTTP/2 micro-benchmark behind the transport's choice of HTTP/1.1 keep-alive: S2's request mix
 * (20,000 workload records over 10,000 clients, one gzipped body per client) POSTed over TLS with an undici
 * Pool of 128 connections / 128 requests in flight, `allowH2` off or on, against a node:http2 server in
 * another process (ALPN offers h2 and http/1.1; it gunzips and parses each body, then answers `{"code":0}`
 * after the given delay). Each variant runs in a fresh process (cold, like an exporter's first burst),
 * variants alternate; it prints req/s and the client's CPU per request (all threads).
 *
 *   node --import tsx bench/http2-micro.ts [delayMillis=20] [rounds=3]
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Pool } from 'undici';
import { generateWorkload, toWireEvent } from './workload.js';

const TLS = {
  cert: readFileSync(fileURLToPath(new URL('../test/fixtures/tls/localhost-cert.pem', import.meta.url))),
  key: readFileSync(fileURLToPath(new URL('../test/fixtures/tls/localhost-key.pem', import.meta.url))),
};
const CONNECTIONS = 128;
const self = fileURLToPath(import.meta.url);

interface ClientResult {
  readonly requests: number;
  readonly wallMillis: number;
  readonly cpuMicros: number;
  readonly protocols: string;
}

function serve(delayMillis: number): void {
  const server = createSecureServer({ ...TLS, allowHTTP1: true, settings: { maxConcurrentStreams: 256 } }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8'));
      const protocol = req.httpVersion;
      const answer = (): void => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-protocol': protocol });
        res.end('{"code":0,"msg":"ok"}');
      };
      if (delayMillis > 0) setTimeout(answer, delayMillis);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 });
  });
  process.on('disconnect', () => process.exit(0));
}

async function client(port: number, allowH2: boolean): Promise<ClientResult> {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const record of generateWorkload({ seed: 20240601, clients: 10_000, records: 20_000 })) {
    let list = groups.get(record.clientId);
    if (list === undefined) groups.set(record.clientId, (list = []));
    list.push(toWireEvent(record, Date.now(), '0.0.0'));
  }
  const bodies = [...groups].map(([clientId, events]) =>
    gzipSync(Buffer.from(JSON.stringify({ client_id: clientId, event_list: events }), 'utf8'), { level: 1 }),
  );
  const pool = new Pool(`https://127.0.0.1:${port}`, { connections: CONNECTIONS, allowH2, connect: { ca: TLS.cert, rejectUnauthorized: true } });
  const protocols = new Set<string>();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const response = await pool.request({ path: '/collect', method: 'POST', headers: { 'content-type': 'application/json', 'gravity-content-compress': 'gzip' }, body });
      const text = await response.body.text();
      if (!text.includes('"code":0')) throw new Error(`unexpected answer ${response.statusCode} ${text}`);
      protocols.add(String(response.headers['x-protocol']));
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const wallMillis = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  return { requests: bodies.length, wallMillis, cpuMicros: cpu.user + cpu.system, protocols: [...protocols].join(',') };
}

function runChild<T>(args: string[]): Promise<{ message: T; stop: () => void }> {
  const child = fork(self, args, { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    child.once('message', (message: T) => resolve({ message, stop: () => child.disconnect() }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const delayMillis = Number(process.argv[2] ?? 20);
  const rounds = Number(process.argv[3] ?? 3);
  const server = await runChild<{ port: number }>(['server', String(delayMillis)]);
  console.log(`| variant | protocol seen | requests | req/s | client CPU µs / request |`);
  console.log('|---|---|---:|---:|---:|');
  for (let round = 0; round < rounds; round++) {
    for (const allowH2 of round % 2 === 0 ? [false, true] : [true, false]) {
      const { message: r, stop } = await runChild<ClientResult>(['client', String(server.message.port), String(allowH2)]);
      stop();
      const name = allowH2 ? 'allowH2: true' : 'HTTP/1.1 keep-alive';
      console.log(`| ${name} | ${r.protocols} | ${r.requests} | ${Math.round(r.requests / (r.wallMillis / 1000))} | ${Math.round(r.cpuMicros / r.requests)} |`);
    }
  }
  server.stop();
}

const [role, arg1, arg2] = process.argv.slice(2);
if (role === 'server') serve(Number(arg1));
else if (role === 'client') {
  void client(Number(arg1), arg2 === 'true').then((result) => process.send?.(result));
  process.on('disconnect', () => process.exit(0));
} else void main();
