/**
 * The emulator's web console, served by the emulator's own HTTP server: the page at `/`, its static files under
 * `/console/`, a Server-Sent Events stream of requests as they are decided, fault switches, and downloads.
 *
 * Routes (all under the emulator's origin):
 *   GET  /                                    the page
 *   GET  /console/console.js, console.css     its script and style
 *   GET  /console/api/stream                  text/event-stream: hello (snapshot), request, clear, faults
 *   POST /console/api/faults                  {action: ...} → the fault state
 *   POST /console/api/clear                   forget recorded requests and records
 *   GET  /console/api/export/records.ndjson   accepted records for `gravity-otel import`
 *   GET  /console/api/export/bodies.ndjson    collect request bodies as they arrived
 *   GET  /console/api/requests/SEQ/body       one request's body, exact
 * The access token is never sent: entries are built from an allow-list (view.ts) and nothing echoes a query.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VERSION } from '../../common/version.js';
import type { FaultSchedule } from '../faults.js';
import type { Recorder } from '../recorder.js';
import type { EmulatorFault, ReceivedRequest } from '../types.js';
import { CONSOLE_ASSET_DIR } from './asset-dir.cjs';
import { bodiesNdjson, recordsNdjson, requestBody } from './export.js';
import { describeFault, recordCount, requestOutcome, toConsoleEntry } from './view.js';

/** What the console needs from its emulator. */
export interface ConsoleHost {
  /** The collect URL, without any token. */
  collectUrl(): string;
  readonly strict: boolean;
  /** The emulator checks `access_token` (its value is never given to the console). */
  readonly tokenRequired: boolean;
  /** The interface the emulator listens on. */
  readonly host: string;
  readonly recorder: Recorder;
  readonly faults: FaultSchedule;
  responseDelay(): number;
  setResponseDelay(ms: number): void;
  uninitialisedClients(): string[];
  initialiseClient(clientId: string): void;
  uninitialiseClient(clientId: string): void;
}

/** A console attached to an emulator's server. */
export interface EmulatorConsole {
  /** Serve `request` if its path is the console's (`/`, `/favicon.ico`, `/console/...`); `false` otherwise. */
  handle(request: IncomingMessage, response: ServerResponse): boolean;
  /** End every stream and stop the timer. */
  close(): void;
}

/** Running totals since the last clear. */
export interface ConsoleCounters {
  requests: number;
  /** Records stored. */
  records: number;
  rejectedRequests: number;
  /** Records carried by rejected requests. */
  rejectedRecords: number;
  /** Rejected requests per outcome (`HTTP 503`, `code 1: invalid data`, `outage`...). */
  rejectedByReason: Record<string, number>;
}

/** The fault switches as the page shows them. */
export interface ConsoleFaultState {
  /** Queued faults, described, in the order the next requests get them. */
  queued: string[];
  responseDelayMillis: number;
  uninitialisedClients: string[];
  /** When the outage ends (epoch milliseconds), or `null`. */
  outageEndsAt: number | null;
  /** The emulator's clock when this state was taken, so the page can count the outage down. */
  serverNow: number;
}

/** Requests sent to a page when it connects; older ones stay in the counters and the exports. */
export const SNAPSHOT_REQUESTS = 1000;
/** A stream whose unsent data passes this is dropped; the page reconnects and gets a fresh snapshot. */
const MAX_STREAM_BACKLOG_BYTES = 8 * 1024 * 1024;
/** The fault state is checked this often for changes made outside the page (and for an outage's end). */
const POLL_MILLIS = 1000;
/** A comment line this often keeps idle streams open through anything that times them out. */
const HEARTBEAT_POLLS = 15;
const MAX_CONTROL_BODY_BYTES = 64 * 1024;
const MAX_QUEUED_AT_ONCE = 100;
const MAX_OUTAGE_SECONDS = 3600;
const MAX_DELAY_MILLIS = 600_000;

const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  // Everything comes from this origin: no CDN, no inline script, and no other site may frame or post to it.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Names a browser uses for a loopback origin. */
const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Attach a console to an emulator. */
export function createEmulatorConsole(host: ConsoleHost): EmulatorConsole {
  const streams = new Set<ServerResponse>();
  const assetCache = new Map<string, Buffer>();
  let counters = emptyCounters();
  for (const request of host.recorder.requests()) count(counters, request);
  let lastFaultState = '';
  let polls = 0;
  let timer: NodeJS.Timeout | undefined;

  const unsubscribe = host.recorder.subscribe({
    request(request) {
      count(counters, request);
      if (streams.size === 0) return;
      broadcast('request', { entry: toConsoleEntry(request), counters, faults: faultState() });
    },
    cleared() {
      counters = emptyCounters();
      broadcast('clear', { counters, faults: faultState() });
    },
  });

  function faultState(): ConsoleFaultState {
    const outageEnd = host.faults.outageEnd();
    const state: ConsoleFaultState = {
      queued: host.faults.queued().map(describeFault),
      responseDelayMillis: host.responseDelay(),
      uninitialisedClients: host.uninitialisedClients(),
      outageEndsAt: outageEnd ?? null,
      serverNow: Date.now(),
    };
    lastFaultState = comparable(state);
    return state;
  }

  function send(stream: ServerResponse, event: string, data: unknown): void {
    if (stream.writableLength > MAX_STREAM_BACKLOG_BYTES) {
      stream.destroy();
      return;
    }
    stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  function broadcast(event: string, data: unknown): void {
    for (const stream of streams) send(stream, event, data);
  }

  function poll(): void {
    if (++polls % HEARTBEAT_POLLS === 0) for (const stream of streams) stream.write(': keep-alive\n\n');
    const before = lastFaultState;
    const state = faultState();
    if (comparable(state) !== before) broadcast('faults', state);
  }

  function openStream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.write('retry: 1000\n\n');
    const requests = host.recorder.requests();
    const shown = requests.slice(-SNAPSHOT_REQUESTS);
    send(response, 'hello', {
      info: {
        collectUrl: host.collectUrl(),
        strict: host.strict,
        tokenRequired: host.tokenRequired,
        version: VERSION,
        snapshotLimit: SNAPSHOT_REQUESTS,
      },
      entries: shown.map(toConsoleEntry),
      omitted: requests.length - shown.length,
      counters,
      faults: faultState(),
    });
    streams.add(response);
    timer ??= setInterval(poll, POLL_MILLIS).unref();
    const forget = (): void => {
      streams.delete(response);
      if (streams.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    };
    request.socket.setTimeout(0);
    response.on('close', forget);
  }

  async function serveAsset(pathname: string, response: ServerResponse): Promise<void> {
    const asset = ASSETS[pathname]!;
    let bytes = assetCache.get(asset.file);
    if (bytes === undefined) {
      const file = path.join(CONSOLE_ASSET_DIR, asset.file);
      try {
        bytes = await readFile(file);
      } catch {
        return sendText(response, 500, `Gravity emulator console: ${file} is missing; the package was built without the console's files`);
      }
      assetCache.set(asset.file, bytes);
    }
    response.writeHead(200, { ...PAGE_SECURITY_HEADERS, 'content-type': asset.type, 'content-length': bytes.length });
    response.end(bytes);
  }

  async function control(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    // A custom header needs a CORS preflight, which is never granted: another site cannot switch faults.
    if (request.headers['x-gravity-console'] !== '1' || request.headers['sec-fetch-site'] === 'cross-site') {
      return sendJson(response, 403, { error: 'console controls take requests from the console page only' });
    }
    let input: unknown;
    try {
      input = JSON.parse(await readSmallBody(request));
    } catch (error) {
      return sendJson(response, 400, { error: `request body: ${error instanceof Error ? error.message : String(error)}` });
    }
    if (pathname === '/console/api/clear') {
      host.recorder.clear();
      return sendJson(response, 200, { counters });
    }
    try {
      applyFaultAction(host, input);
    } catch (error) {
      return sendJson(response, 400, { error: error instanceof Error ? error.message : String(error) });
    }
    const state = faultState();
    broadcast('faults', state);
    return sendJson(response, 200, state);
  }

  function download(response: ServerResponse, name: string, type: string, text: string): void {
    response.writeHead(200, {
      'content-type': type,
      'content-disposition': `attachment; filename="${name}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    response.end(text);
  }

  async function route(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    const method = request.method ?? 'GET';
    if (!isAllowedHost(request.headers.host, host.host)) {
      return sendText(response, 403, 'Gravity emulator console: unexpected Host header; open the console by its printed URL');
    }
    if (pathname === '/console/api/faults' || pathname === '/console/api/clear') {
      if (method !== 'POST') return methodNotAllowed(response, 'POST');
      return control(request, response, pathname);
    }
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(response, 'GET');
    if (pathname === '/favicon.ico') {
      response.writeHead(204, { 'cache-control': 'max-age=86400' });
      return void response.end();
    }
    if (pathname in ASSETS) return serveAsset(pathname, response);
    if (pathname === '/console/api/stream') return openStream(request, response);
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    if (pathname === '/console/api/export/records.ndjson') {
      return download(response, `gravity-records-${stamp}.ndjson`, 'application/x-ndjson; charset=utf-8', recordsNdjson(host.recorder.events()));
    }
    if (pathname === '/console/api/export/bodies.ndjson') {
      return download(response, `gravity-bodies-${stamp}.ndjson`, 'application/x-ndjson; charset=utf-8', bodiesNdjson(host.recorder.requests()));
    }
    const bodyRoute = /^\/console\/api\/requests\/(\d+)\/body$/.exec(pathname);
    if (bodyRoute !== null) {
      const text = requestBody(host.recorder.requests(), Number(bodyRoute[1]));
      if (text === undefined) return sendJson(response, 404, { error: `no request #${bodyRoute[1]} (cleared, or not yet decided)` });
      return download(response, `request-${bodyRoute[1]}-body.json`, 'application/octet-stream', text);
    }
    return sendJson(response, 404, { error: `not found: ${pathname}` });
  }

  return {
    handle(request, response) {
      const pathname = pathOf(request.url);
      if (pathname !== '/' && pathname !== '/favicon.ico' && !pathname.startsWith('/console/')) return false;
      route(request, response, pathname).catch((error: unknown) => {
        if (response.headersSent) response.destroy();
        else sendJson(response, 500, { error: `Gravity emulator console bug: ${String(error)}` });
      });
      return true;
    },
    close() {
      unsubscribe();
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      for (const stream of streams) stream.end();
      streams.clear();
    },
  };
}

/** Apply one fault action from the page; throws `RangeError`/`TypeError` naming the field on bad input. */
function applyFaultAction(host: ConsoleHost, input: unknown): void {
  const action = field(input, 'action');
  switch (action) {
    case 'queue': {
      const count = integerField(input, 'count', 1, MAX_QUEUED_AT_ONCE, 1);
      const fault = toFault(field(input, 'fault'));
      host.faults.enqueue(Array.from({ length: count }, () => fault));
      return;
    }
    case 'clear-queue':
      host.faults.clearQueue();
      return;
    case 'response-delay':
      host.setResponseDelay(integerField(input, 'millis', 0, MAX_DELAY_MILLIS));
      return;
    case 'uninitialise':
      host.uninitialiseClient(clientIdField(input));
      return;
    case 'initialise':
      host.initialiseClient(clientIdField(input));
      return;
    case 'outage': {
      const seconds = integerField(input, 'seconds', 0, MAX_OUTAGE_SECONDS);
      host.faults.setOutage(seconds === 0 ? undefined : Date.now() + seconds * 1000);
      return;
    }
    default:
      throw new RangeError(
        `action is invalid, expected queue, clear-queue, response-delay, uninitialise, initialise or outage (actual: ${JSON.stringify(action)})`,
      );
  }
}

/** A queued fault from the page's form; the emulator's own checks (faults.ts) then apply. */
function toFault(input: unknown): EmulatorFault {
  const kind = field(input, 'kind');
  switch (kind) {
    case 'status': {
      const fault: EmulatorFault = { kind, status: integerField(input, 'status', 100, 599) };
      const retryAfter = field(input, 'retryAfter');
      if (retryAfter !== undefined && retryAfter !== null && retryAfter !== '') {
        fault.retryAfter = integerField(input, 'retryAfter', 0, 86_400);
      }
      return fault;
    }
    case 'code': {
      const code = integerField(input, 'code', -(2 ** 31), 2 ** 31 - 1);
      const msg = field(input, 'msg');
      if (msg !== undefined && typeof msg !== 'string') throw new TypeError('fault.msg is invalid, expected a string');
      return msg === undefined || msg === '' ? { kind, code } : { kind, code, msg };
    }
    case 'reset': {
      const when = field(input, 'when') ?? 'before';
      if (when !== 'before' && when !== 'after') throw new RangeError(`fault.when is invalid, expected before or after (actual: ${JSON.stringify(when)})`);
      return { kind, when };
    }
    case 'delay':
      return { kind, delayMillis: integerField(input, 'delayMillis', 0, MAX_DELAY_MILLIS) };
    case 'hang':
      return { kind };
    default:
      throw new RangeError(`fault.kind is invalid, expected status, code, reset, delay or hang (actual: ${JSON.stringify(kind)})`);
  }
}

function field(input: unknown, name: string): unknown {
  return typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[name] : undefined;
}

function integerField(input: unknown, name: string, min: number, max: number, fallback?: number): number {
  const raw = field(input, name);
  if ((raw === undefined || raw === '') && fallback !== undefined) return fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} is invalid, expected an integer from ${min} to ${max} (actual: ${JSON.stringify(raw)})`);
  }
  return value;
}

function clientIdField(input: unknown): string {
  const clientId = field(input, 'clientId');
  if (typeof clientId !== 'string' || clientId.trim() === '') throw new TypeError('clientId is invalid, expected a non-empty string');
  return clientId.trim();
}

function count(counters: ConsoleCounters, request: ReceivedRequest): void {
  counters.requests++;
  const records = recordCount(request);
  if (request.accepted) {
    counters.records += records;
    return;
  }
  const outcome = requestOutcome(request);
  counters.rejectedRequests++;
  counters.rejectedRecords += records;
  counters.rejectedByReason[outcome] = (counters.rejectedByReason[outcome] ?? 0) + 1;
}

function emptyCounters(): ConsoleCounters {
  return { requests: 0, records: 0, rejectedRequests: 0, rejectedRecords: 0, rejectedByReason: {} };
}

/** The state without its timestamp, to tell whether anything changed. */
function comparable(state: ConsoleFaultState): string {
  return JSON.stringify({ ...state, serverNow: 0 });
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://emulator.invalid').pathname;
  } catch {
    return '';
  }
}

/**
 * Only requests addressed to this machine by a loopback name or the bound address reach the console, so a page
 * on another site cannot reach it through a DNS name that resolves to 127.0.0.1. Bound to every interface
 * (`0.0.0.0`, `::`), the emulator answers any name.
 */
function isAllowedHost(hostHeader: string | undefined, boundHost: string): boolean {
  if (boundHost === '0.0.0.0' || boundHost === '::') return true;
  if (hostHeader === undefined) return false;
  const hostname = hostHeader.replace(/:\d+$/, '').toLowerCase();
  const bound = boundHost.includes(':') ? `[${boundHost}]` : boundHost;
  return LOOPBACK_HOSTNAMES.has(hostname) || hostname === bound.toLowerCase();
}

function readSmallBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length <= MAX_CONTROL_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      if (length > MAX_CONTROL_BODY_BYTES) reject(new Error(`larger than ${MAX_CONTROL_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(text);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.end(text);
}

function methodNotAllowed(response: ServerResponse, allow: string): void {
  response.writeHead(405, { allow, 'content-type': 'text/plain; charset=utf-8' });
  response.end(`method not allowed; use ${allow}`);
}
