/**
 * One POST to the collect endpoint over a keep-alive undici pool. Makes exactly one attempt, never throws,
 * and classifies the outcome: HTTP 200 + `code` 0 → success; HTTP 200 + other `code` →
 * failure (2000: client not initialised); 408/429/5xx, network errors, timeouts → retryable; other
 * statuses → failure.
 */
import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ResolvedConfig } from '../config/resolve-config.js';
import { createLogger } from '../common/diag.js';
import {
  GravityClientNotInitialisedError,
  GravityExportError,
  GravityHttpError,
  GravityNetworkError,
  GravityRejectedError,
  GravityTimeoutError,
  truncate,
} from '../common/errors.js';
import { CODE_CLIENT_NOT_INITIALISED } from '../mapping/rules.js';
import type { CollectResponse } from '../mapping/wire-types.js';
import { VERSION } from '../common/version.js';
import { isRetryableStatus, parseRetryAfterMillis } from './retry-policy.js';
import type { SendRequest, SendResult, Transport } from './types.js';

/** Response bodies are read up to this many bytes; the collect endpoint answers with a few dozen. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Idle keep-alive sockets are closed after this long. */
const KEEP_ALIVE_TIMEOUT_MILLIS = 4_000;
/** `close()` waits this long for a graceful pool close, then destroys what is left (hung sockets). */
const CLOSE_GRACE_MILLIS = 1_000;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

const log = createLogger('transport');

/** Response headers as undici hands them to a dispatch handler (lower-case names). */
type ResponseHeaders = Record<string, string | string[] | undefined>;

function classify200(text: string): SendResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const response = parsed as CollectResponse | undefined;
  if (typeof response !== 'object' || response === null || typeof response.code !== 'number') {
    return {
      status: 'retryable',
      error: new GravityExportError(`HTTP 200 without a Gravity response: ${truncate(text, 200)}`, 'GRAVITY_BAD_RESPONSE'),
    };
  }
  if (response.code === 0) return { status: 'success', response };
  const msg = typeof response.msg === 'string' ? response.msg : '';
  const error =
    response.code === CODE_CLIENT_NOT_INITIALISED
      ? new GravityClientNotInitialisedError(msg, response.extra)
      : new GravityRejectedError(response.code, msg, response.extra);
  return { status: 'failure', error };
}

function networkFailure(error: unknown, timeoutMillis: number): SendResult {
  const code = (error as { code?: unknown }).code;
  const codeText = typeof code === 'string' ? code : undefined;
  if (codeText !== undefined && TIMEOUT_CODES.has(codeText)) {
    return { status: 'retryable', error: new GravityTimeoutError(timeoutMillis) };
  }
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  if (name === 'AbortError' || codeText === 'UND_ERR_ABORTED') {
    return { status: 'failure', error: new GravityNetworkError(`request aborted: ${message}`, codeText ?? 'ABORTED', error) };
  }
  return { status: 'retryable', error: new GravityNetworkError(message, codeText, error) };
}

/** How often attempts in flight are checked against their time (the precision of `timeoutMillis`). */
const SWEEP_INTERVAL_MILLIS = 100;

/**
 * One attempt: undici's handler of its request (`Dispatcher.dispatch`), settled exactly once into a
 * {@link SendResult}. The response body arrives as chunks here: no readable stream, async resource or promise
 * chain is made per response, and so no body stream exists that could emit an 'error' nobody listens to,
 * whatever ends the connection (the deadline sweep, a shutdown's abort, a reset). bench/request-micro.ts (S2's
 * 3,456 requests, 20 ms answers): one attempt through `pool.request()` + `body.text()` cost 1.34× the CPU of a
 * bare `pool.request()` loop doing the same encoding; through this handler 0.92×.
 */
class Attempt implements Dispatcher.DispatchHandler {
  /** Epoch milliseconds after which the sweep expires the attempt. */
  readonly deadlineMillis: number;
  private readonly _sweeper: AttemptSweeper;
  private readonly _timeoutMillis: number;
  private readonly _signal: AbortSignal | undefined;
  private _resolve: ((result: SendResult) => void) | undefined;
  private _controller: Dispatcher.DispatchController | undefined;
  private _statusCode = 0;
  private _headers: ResponseHeaders | undefined;
  private _chunks: Buffer[] = [];
  private _bytes = 0;

  constructor(sweeper: AttemptSweeper, timeoutMillis: number, signal: AbortSignal | undefined, resolve: (result: SendResult) => void) {
    this._sweeper = sweeper;
    this._timeoutMillis = timeoutMillis;
    this.deadlineMillis = Date.now() + timeoutMillis;
    this._signal = signal;
    this._resolve = resolve;
    sweeper.track(this, signal);
  }

  get settled(): boolean {
    return this._resolve === undefined;
  }

  /** The request's abort signal fired (shutdown, or the memory cap dropped the batch). */
  abort(reason: unknown): void {
    this._settle(abortedFailure(reason));
    this._controller?.abort(reason instanceof Error ? reason : new GravityExportError('request aborted', 'ABORTED'));
  }

  /** Called by the sweep once the attempt's time is up: it ends now, whether or not undici has begun the request. */
  expire(): void {
    const error = new GravityTimeoutError(this._timeoutMillis);
    this._settle({ status: 'retryable', error });
    this._controller?.abort(error);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this._controller = controller;
    // Expired or aborted while undici was still connecting: the request is never written.
    if (this.settled) controller.abort(new GravityExportError('the attempt ended before its request started', 'ABORTED'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders): void {
    // Informational (1xx) responses come first and are forgotten.
    this._statusCode = statusCode;
    this._headers = headers;
    this._chunks = [];
    this._bytes = 0;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this._bytes += chunk.length;
    if (this._bytes > MAX_RESPONSE_BYTES) {
      // The collect endpoint answers with a few dozen bytes: judge what came, and stop reading.
      this._complete();
      controller.abort(new GravityExportError(`response body over ${MAX_RESPONSE_BYTES} bytes`, 'GRAVITY_BAD_RESPONSE'));
      return;
    }
    this._chunks.push(chunk);
  }

  onResponseEnd(): void {
    this._complete();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this._settle(networkFailure(error, this._timeoutMillis));
  }

  private _complete(): void {
    if (this.settled) return;
    const chunks = this._chunks;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this._settle(classify(this._statusCode, this._headers, text));
  }

  private _settle(result: SendResult): void {
    const resolve = this._resolve;
    if (resolve === undefined) return;
    this._resolve = undefined;
    this._chunks = [];
    this._headers = undefined;
    this._sweeper.untrack(this, this._signal);
    if (result.status !== 'success') log.debug(`POST ${this._sweeper.displayUrl} failed: ${result.error.message}`);
    resolve(result);
  }
}

function abortedFailure(reason: unknown): SendResult {
  const message = reason instanceof Error ? reason.message : String(reason);
  return { status: 'failure', error: new GravityNetworkError(`request aborted: ${message}`, 'ABORTED', reason) };
}

function classify(statusCode: number, headers: ResponseHeaders | undefined, text: string): SendResult {
  if (statusCode === 200) return classify200(text);
  const retryAfterMillis = parseRetryAfterMillis(headers?.['retry-after']);
  const error = new GravityHttpError(statusCode, truncate(text.trim(), 300), retryAfterMillis);
  if (isRetryableStatus(statusCode)) {
    return retryAfterMillis === undefined ? { status: 'retryable', error } : { status: 'retryable', error, retryInMillis: retryAfterMillis };
  }
  return { status: 'failure', error };
}

/**
 * Bounds every attempt's whole time. undici's headers/body timeouts restart with every chunk, so a response
 * trickling a byte at a time would hold an attempt (and its connection) for ever. One interval timer, running
 * only while attempts are in flight, checks them all: a timer per request cost ~15% more CPU in the S3 bench.
 */
class AttemptSweeper {
  private readonly _inFlight = new Set<Attempt>();
  /**
   * The attempts in flight under each abort signal: one listener per signal, however many requests share it
   * (delivery passes one signal to all first attempts), instead of an add and a remove per request.
   */
  private readonly _bySignal = new WeakMap<AbortSignal, Set<Attempt>>();
  private _timer: NodeJS.Timeout | undefined;
  /** The endpoint without its token, for log lines. */
  readonly displayUrl: string;

  constructor(displayUrl: string) {
    this.displayUrl = displayUrl;
  }

  track(attempt: Attempt, signal: AbortSignal | undefined): void {
    if (signal !== undefined) {
      let attempts = this._bySignal.get(signal);
      if (attempts === undefined) {
        const group = (attempts = new Set());
        this._bySignal.set(signal, group);
        signal.addEventListener('abort', () => {
          for (const aborted of group) aborted.abort(signal.reason);
        }, { once: true });
      }
      attempts.add(attempt);
    }
    this._inFlight.add(attempt);
    if (this._timer === undefined) {
      this._timer = setInterval(() => this._sweep(), SWEEP_INTERVAL_MILLIS);
      this._timer.unref();
    }
  }

  untrack(attempt: Attempt, signal: AbortSignal | undefined): void {
    this._inFlight.delete(attempt);
    if (signal !== undefined) this._bySignal.get(signal)?.delete(attempt);
  }

  private _sweep(): void {
    const now = Date.now();
    for (const attempt of this._inFlight) if (now >= attempt.deadlineMillis) attempt.expire();
    if (this._inFlight.size === 0) {
      clearInterval(this._timer);
      this._timer = undefined;
    }
  }
}

export function createHttpTransport(config: ResolvedConfig): Transport {
  const { origin } = config.endpoint;
  const separator = config.endpoint.pathAndQuery.includes('?') ? '&' : '?';
  // The only place the token is put on the wire.
  const path = `${config.endpoint.pathAndQuery}${separator}access_token=${encodeURIComponent(config.accessToken)}`;
  // TLS verification stays on whatever NODE_TLS_REJECT_UNAUTHORIZED says.
  const baseConnect = buildConnector({ rejectUnauthorized: true, timeout: Math.min(config.timeoutMillis, 10_000) }) as unknown as (
    options: buildConnector.Options,
    callback: buildConnector.Callback,
  ) => Socket | undefined;
  // Sockets still connecting: neither pool.close() nor pool.destroy() ends them, and an address that never
  // completes the handshake would hold the process after shutdown until the connect timeout.
  const connecting = new Set<Socket>();
  const connect: buildConnector.connector = (options, callback) => {
    let settled = false;
    const socket = baseConnect(options, (...args) => {
      settled = true;
      if (socket !== undefined) connecting.delete(socket);
      callback(...args);
    });
    if (socket !== undefined && !settled) connecting.add(socket);
  };
  const pool = new Pool(origin, {
    connections: config.maxConcurrentRequests,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MILLIS,
    headersTimeout: config.timeoutMillis,
    bodyTimeout: config.timeoutMillis,
    connect,
  });
  // Header names and values that are the same for every request, made once (undici takes a flat array).
  const fixedHeaders: string[] = [
    'content-type',
    'application/json',
    'user-agent',
    `gravity-otel-exporter/${VERSION}`,
    'ge-integration-type',
    'node',
    'ge-integration-version',
    VERSION,
  ];
  if (config.debug) fixedHeaders.push('turbo-debug-mode', '1');
  let closed = false;
  const attempts = new AttemptSweeper(config.endpoint.displayUrl);

  return {
    send(request: SendRequest): Promise<SendResult> {
      if (closed) return Promise.resolve({ status: 'failure', error: new GravityExportError('transport is closed', 'GRAVITY_SHUTDOWN') });
      if (request.signal?.aborted === true) return Promise.resolve(abortedFailure(request.signal.reason));
      const headers = fixedHeaders.concat('ge-integration-count', String(request.recordCount));
      if (request.compressed) headers.push('gravity-content-compress', 'gzip');
      const timeoutMillis = Math.max(1, Math.min(config.timeoutMillis, request.timeoutMillis ?? config.timeoutMillis));
      return new Promise<SendResult>((resolve) => {
        const attempt = new Attempt(attempts, timeoutMillis, request.signal, resolve);
        // A closed or destroyed pool answers through the handler's onResponseError, never by throwing.
        pool.dispatch({ path, method: 'POST', headers, body: request.body, headersTimeout: timeoutMillis, bodyTimeout: timeoutMillis }, attempt);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // A graceful close waits for requests in flight; a hung endpoint would hold it (and the process) open.
      let timer: NodeJS.Timeout | undefined;
      const graceElapsed = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CLOSE_GRACE_MILLIS);
        timer.unref();
      });
      const closedGracefully = await Promise.race([pool.close().then(() => true, () => false), graceElapsed]);
      clearTimeout(timer);
      if (!closedGracefully) await pool.destroy().catch(() => undefined);
      for (const socket of connecting) socket.destroy();
      connecting.clear();
    },
  };
}
