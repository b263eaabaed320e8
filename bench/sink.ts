/**
 * The bench sink, run in its own process (`fork`): a node:http server on 127.0.0.1 that accepts
 * - Gravity collect requests (any path under /event_center/, gzip signalled by `Gravity-Content-Compress`),
 *   answering `{"code":0}` and counting records per `client_id`;
 * - OTLP/HTTP logs on `/v1/logs` (JSON or protobuf, gzip by `Content-Encoding`), counting log records per
 *   `ge.client_id` attribute.
 * A fixed response delay (a simulated WAN round trip) is applied to every request concurrently, after the
 * body is read. Every marked record is checked (its `bench_cidx` must match the client it was filed under;
 * its `bench_seq` must be new) and its emit→accepted latency recorded at the moment the answer is written.
 *
 * Control: `POST /__reset?delayMillis=N` clears the counters and sets the delay; `GET /__stats` returns them.
 * The parent learns the port from the first IPC message `{ port }`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { clientIndexOf } from './workload.js';

export interface SinkStats {
  readonly requests: number;
  readonly records: number;
  /** Records per client id. */
  readonly perClient: Record<string, number>;
  /** Marked records filed under a client other than their own. */
  readonly misattributed: number;
  /** Marked records seen more than once. */
  readonly duplicates: number;
  /** Requests the sink could not parse. */
  readonly badRequests: number;
  readonly latency: { readonly count: number; readonly p50Millis: number; readonly p99Millis: number; readonly maxMillis: number };
  /** Epoch ms of the last accepted request (0: none). */
  readonly lastAcceptedAtMillis: number;
  /** The sink's own CPU time (user + system, µs) from the reset to its last accepted request. */
  readonly cpuMicros: number;
}

interface Marker {
  cidx: number;
  seq: number;
  emitMillis: number;
}

let delayMillis = 0;
let requests = 0;
let records = 0;
let perClient = new Map<string, number>();
let misattributed = 0;
let duplicates = 0;
let badRequests = 0;
let seen = new Uint8Array(1 << 16);
let latencies: number[] = [];
let lastAcceptedAtMillis = 0;
let cpuAtReset = process.cpuUsage();
let cpuAtLastAccept = cpuAtReset;

function reset(delay: number): void {
  delayMillis = delay;
  requests = 0;
  records = 0;
  perClient = new Map();
  misattributed = 0;
  duplicates = 0;
  badRequests = 0;
  seen = new Uint8Array(1 << 16);
  latencies = [];
  lastAcceptedAtMillis = 0;
  cpuAtReset = process.cpuUsage();
  cpuAtLastAccept = cpuAtReset;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function snapshot(): SinkStats {
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests,
    records,
    perClient: Object.fromEntries(perClient),
    misattributed,
    duplicates,
    badRequests,
    latency: {
      count: sorted.length,
      p50Millis: percentile(sorted, 0.5),
      p99Millis: percentile(sorted, 0.99),
      maxMillis: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
    },
    lastAcceptedAtMillis,
    cpuMicros: cpuAtLastAccept.user + cpuAtLastAccept.system - cpuAtReset.user - cpuAtReset.system,
  };
}

function count(clientId: string, n: number): void {
  records += n;
  perClient.set(clientId, (perClient.get(clientId) ?? 0) + n);
}

/** Checks one record's markers; returns its emit time for the latency, or undefined. */
function check(clientId: string, marker: Marker | undefined): number | undefined {
  if (marker === undefined) return undefined;
  if (marker.cidx !== clientIndexOf(clientId)) misattributed++;
  if (marker.seq >= seen.length * 8) {
    let size = seen.length;
    while (marker.seq >= size * 8) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(seen);
    seen = grown;
  }
  const bit = 1 << (marker.seq & 7);
  if ((seen[marker.seq >>> 3]! & bit) !== 0) duplicates++;
  else seen[marker.seq >>> 3]! |= bit;
  return marker.emitMillis;
}

function scalar(value: unknown): number | undefined {
  const v = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof v === 'number' ? v : undefined;
}

function markerOfProperties(properties: Record<string, unknown> | undefined): Marker | undefined {
  if (properties === undefined || properties === null) return undefined;
  const cidx = scalar(properties.bench_cidx);
  const seq = scalar(properties.bench_seq);
  const emitMillis = scalar(properties.bench_emit_ms);
  if (cidx === undefined || seq === undefined || emitMillis === undefined) return undefined;
  return { cidx, seq, emitMillis };
}

interface GravityPayload {
  client_id: string;
  event_list: Array<{ properties?: Record<string, unknown> }>;
}

function handleGravity(req: IncomingMessage, body: Buffer): number[] {
  const raw = req.headers['gravity-content-compress'] === 'gzip' ? gunzipSync(body) : body;
  const payload = JSON.parse(raw.toString('utf8')) as GravityPayload;
  if (typeof payload.client_id !== 'string' || !Array.isArray(payload.event_list)) throw new Error('not a collect payload');
  count(payload.client_id, payload.event_list.length);
  const emitTimes: number[] = [];
  for (const event of payload.event_list) {
    const t = check(payload.client_id, markerOfProperties(event.properties));
    if (t !== undefined) emitTimes.push(t);
  }
  return emitTimes;
}

// --- OTLP JSON -------------------------------------------------------------------------------------

interface JsonAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
  kvlistValue?: { values?: Array<{ key: string; value?: JsonAnyValue }> };
}

function jsonScalar(value: JsonAnyValue | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue?.values?.[0] !== undefined) return jsonScalar(value.arrayValue.values[0]);
  return undefined;
}

function handleOtlpJson(body: Buffer): number[] {
  const request = JSON.parse(body.toString('utf8')) as {
    resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: Array<{ attributes?: Array<{ key: string; value?: JsonAnyValue }>; body?: JsonAnyValue }> }> }>;
  };
  const emitTimes: number[] = [];
  for (const rl of request.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) {
      for (const lr of sl.logRecords ?? []) {
        const clientId = lr.attributes?.find((a) => a.key === 'ge.client_id')?.value?.stringValue ?? '';
        count(clientId, 1);
        const values = new Map((lr.body?.kvlistValue?.values ?? []).map((kv) => [kv.key, jsonScalar(kv.value)]));
        const cidx = values.get('bench_cidx');
        const seq = values.get('bench_seq');
        const emitMillis = values.get('bench_emit_ms');
        const marker = cidx !== undefined && seq !== undefined && emitMillis !== undefined ? { cidx, seq, emitMillis } : undefined;
        const t = check(clientId, marker);
        if (t !== undefined) emitTimes.push(t);
      }
    }
  }
  return emitTimes;
}

// --- OTLP protobuf (just enough of ExportLogsServiceRequest to count and check) ------------------

/** Calls `onField(fieldNumber, wireType, start, end | value)` for each field of a message. */
function readFields(buf: Buffer, start: number, end: number, onField: (field: number, start: number, end: number, varint: number) => void): void {
  let pos = start;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = buf[pos++]!;
      result += (b & 0x7f) * Math.pow(2, shift);
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) onField(field, pos, pos, varint());
    else if (wire === 1) {
      onField(field, pos, pos + 8, 0);
      pos += 8;
    } else if (wire === 2) {
      const len = varint();
      onField(field, pos, pos + len, 0);
      pos += len;
    } else if (wire === 5) {
      onField(field, pos, pos + 4, 0);
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

/** AnyValue → number (int_value = 3, double_value = 4, array_value = 5 first element) or string (1). */
function protoAnyValue(buf: Buffer, start: number, end: number): string | number | undefined {
  let out: string | number | undefined;
  readFields(buf, start, end, (field, s, e, v) => {
    if (field === 1) out = buf.toString('utf8', s, e);
    else if (field === 3) out = v;
    else if (field === 4) out = buf.readDoubleLE(s);
    else if (field === 5) {
      readFields(buf, s, e, (f2, s2, e2) => {
        if (f2 === 1 && out === undefined) out = protoAnyValue(buf, s2, e2);
      });
    }
  });
  return out;
}

/** KeyValue (key = 1, value = 2). */
function protoKeyValue(buf: Buffer, start: number, end: number): [string, string | number | undefined] {
  let key = '';
  let value: string | number | undefined;
  readFields(buf, start, end, (field, s, e) => {
    if (field === 1) key = buf.toString('utf8', s, e);
    else if (field === 2) value = protoAnyValue(buf, s, e);
  });
  return [key, value];
}

function handleOtlpProto(buf: Buffer): number[] {
  const emitTimes: number[] = [];
  const onLogRecord = (start: number, end: number): void => {
    let clientId = '';
    const markers = new Map<string, string | number | undefined>();
    readFields(buf, start, end, (field, s, e) => {
      if (field === 6) {
        const [key, value] = protoKeyValue(buf, s, e);
        if (key === 'ge.client_id' && typeof value === 'string') clientId = value;
      } else if (field === 5) {
        // body AnyValue → kvlist_value (6) → KeyValueList.values (1)
        readFields(buf, s, e, (f2, s2, e2) => {
          if (f2 !== 6) return;
          readFields(buf, s2, e2, (f3, s3, e3) => {
            if (f3 === 1) markers.set(...protoKeyValue(buf, s3, e3));
          });
        });
      }
    });
    count(clientId, 1);
    const cidx = markers.get('bench_cidx');
    const seq = markers.get('bench_seq');
    const emitMillis = markers.get('bench_emit_ms');
    const marker =
      typeof cidx === 'number' && typeof seq === 'number' && typeof emitMillis === 'number' ? { cidx, seq, emitMillis } : undefined;
    const t = check(clientId, marker);
    if (t !== undefined) emitTimes.push(t);
  };
  // ExportLogsServiceRequest.resource_logs (1) → ResourceLogs.scope_logs (2) → ScopeLogs.log_records (2)
  readFields(buf, 0, buf.length, (f1, s1, e1) => {
    if (f1 !== 1) return;
    readFields(buf, s1, e1, (f2, s2, e2) => {
      if (f2 !== 2) return;
      readFields(buf, s2, e2, (f3, s3, e3) => {
        if (f3 === 2) onLogRecord(s3, e3);
      });
    });
  });
  return emitTimes;
}

// --- server ----------------------------------------------------------------------------------------

function respond(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const GRAVITY_OK = JSON.stringify({ code: 0, msg: 'ok', data: null });

function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const url = req.url ?? '/';
  if (url.startsWith('/__stats')) {
    respond(res, 200, 'application/json', JSON.stringify(snapshot()));
    return;
  }
  if (url.startsWith('/__reset')) {
    const delay = Number(new URL(url, 'http://sink').searchParams.get('delayMillis') ?? '0');
    reset(Number.isFinite(delay) && delay >= 0 ? delay : 0);
    respond(res, 200, 'application/json', '{}');
    return;
  }
  requests++;
  let emitTimes: number[];
  let answer: () => void;
  try {
    if (url.startsWith('/v1/logs')) {
      const raw = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
      const isProto = (req.headers['content-type'] ?? '').includes('protobuf');
      emitTimes = isProto ? handleOtlpProto(raw) : handleOtlpJson(raw);
      answer = isProto
        ? () => respond(res, 200, 'application/x-protobuf', Buffer.alloc(0))
        : () => respond(res, 200, 'application/json', '{}');
    } else {
      emitTimes = handleGravity(req, body);
      answer = () => respond(res, 200, 'application/json', GRAVITY_OK);
    }
  } catch (error) {
    badRequests++;
    respond(res, 400, 'text/plain', String(error));
    return;
  }
  const accept = (): void => {
    const now = Date.now();
    lastAcceptedAtMillis = now;
    cpuAtLastAccept = process.cpuUsage();
    for (const t of emitTimes) latencies.push(now - t);
    answer();
  };
  if (delayMillis > 0) setTimeout(accept, delayMillis);
  else accept();
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => handle(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.send?.({ port });
});
process.on('disconnect', () => process.exit(0));
