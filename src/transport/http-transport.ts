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

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > MAX_RESPONSE_BYTES) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function ignore(): void {}

/**
 * A response body may be destroyed at any moment after its headers came: by the deadline sweep, by a
 * shutdown's abort, by undici when the socket fails, or here when it comes after its attempt expired. A destroyed
 * body emits 'error' (`UND_ERR_ABORTED` when destroyed without a reason), and an 'error' event without a
 * listener would end the host process. A read in progress gets the error through its own listener; this one
 * covers the moments when nothing reads the body.
 */
function listenForBodyErrors(response: Dispatcher.ResponseData): Dispatcher.ResponseData {
  response.body.on('error', ignore);
  return response;
}

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

/** One attempt in flight, as the sweeper sees it. */
interface Attempt {
  readonly deadlineMillis: number;
  timedOut: boolean;
  /** Ends the wait for the response (set while waiting for it). */
  expire: (() => void) | undefined;
  /** The response, once its headers came: its body is destroyed when the attempt expires. */
  response: Dispatcher.ResponseData | undefined;
}

/**
 * Bounds every attempt's whole time. undici's headers/body timeouts restart with every chunk, so a response
 * trickling a byte at a time would hold an attempt (and its connection) for ever. One interval timer, running
 * only while attempts are in flight, checks them all: a timer per request cost ~15% more CPU in the S3 bench.
 */
class AttemptSweeper {
  private readonly _inFlight = new Set<Attempt>();
  private _timer: NodeJS.Timeout | undefined;

  track(attempt: Attempt): void {
    this._inFlight.add(attempt);
    if (this._timer === undefined) {
      this._timer = setInterval(() => this._sweep(), SWEEP_INTERVAL_MILLIS);
      this._timer.unref();
    }
  }

  untrack(attempt: Attempt): void {
    this._inFlight.delete(attempt);
  }

  private _sweep(): void {
    const now = Date.now();
    for (const attempt of this._inFlight) {
      if (now < attempt.deadlineMillis) continue;
      this._inFlight.delete(attempt);
      attempt.timedOut = true;
      attempt.expire?.();
      attempt.response?.body.destroy();
    }
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
  const fixedHeaders: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `gravity-otel-exporter/${VERSION}`,
    'ge-integration-type': 'node',
    'ge-integration-version': VERSION,
  };
  if (config.debug) fixedHeaders['turbo-debug-mode'] = '1';
  let closed = false;
  const attempts = new AttemptSweeper();

  return {
    async send(request: SendRequest): Promise<SendResult> {
      if (closed) return { status: 'failure', error: new GravityExportError('transport is closed', 'GRAVITY_SHUTDOWN') };
      const headers: Record<string, string> = { ...fixedHeaders, 'ge-integration-count': String(request.recordCount) };
      if (request.compressed) headers['gravity-content-compress'] = 'gzip';
      const timeoutMillis = Math.max(1, Math.min(config.timeoutMillis, request.timeoutMillis ?? config.timeoutMillis));
      const attempt: Attempt = { deadlineMillis: Date.now() + timeoutMillis, timedOut: false, expire: undefined, response: undefined };
      attempts.track(attempt);
      try {
        const sent = pool
          .request({
            path,
            method: 'POST',
            headers,
            body: request.body,
            signal: request.signal,
            headersTimeout: timeoutMillis,
            bodyTimeout: timeoutMillis,
          })
          .then(listenForBodyErrors);
        // undici acts on an abort only once a connection is made: while it is still connecting (an address that
        // drops packets), the attempt ends here when it expires, and undici's own connect timeout ends the rest.
        const response = await new Promise<Dispatcher.ResponseData | undefined>((resolve, reject) => {
          attempt.expire = () => resolve(undefined);
          sent.then(resolve, reject);
        });
        if (response === undefined) {
          sent.then((late) => late.body.destroy(), ignore);
          throw new GravityTimeoutError(timeoutMillis);
        }
        attempt.response = response;
        // A declared length within the cap is read in one go (the collect endpoint always declares ~30 bytes).
        const declaredBytes = Number(response.headers['content-length']);
        const text = declaredBytes >= 0 && declaredBytes <= MAX_RESPONSE_BYTES ? await response.body.text() : await readCapped(response.body);
        if (response.statusCode === 200) return classify200(text);
        const retryAfterMillis = parseRetryAfterMillis(response.headers['retry-after']);
        const error = new GravityHttpError(response.statusCode, truncate(text.trim(), 300), retryAfterMillis);
        if (isRetryableStatus(response.statusCode)) {
          return retryAfterMillis === undefined
            ? { status: 'retryable', error }
            : { status: 'retryable', error, retryInMillis: retryAfterMillis };
        }
        return { status: 'failure', error };
      } catch (error) {
        const result: SendResult =
          attempt.timedOut && request.signal?.aborted !== true
            ? { status: 'retryable', error: new GravityTimeoutError(timeoutMillis) }
            : networkFailure(error, timeoutMillis);
        log.debug(`POST ${config.endpoint.displayUrl} failed: ${result.status === 'success' ? '' : result.error.message}`);
        return result;
      } finally {
        attempts.untrack(attempt);
      }
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
