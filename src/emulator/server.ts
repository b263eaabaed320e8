/**
 * The local Gravity emulator: a real node:http server that stands in for Gravity's collect endpoint.
 * Request evaluation lives in evaluate.ts, validation in validate.ts, faults in faults.ts.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { COLLECT_PATH } from '../mapping/rules.js';
import { createEmulatorConsole } from './console/console.js';
import type { EmulatorConsole } from './console/console.js';
import type { CollectPayload } from '../mapping/wire-types.js';
import { decodeBody, flattenHeaders, readRawBody } from './body.js';
import {
  evaluateCollectRequest,
  faultCodeResponse,
  faultStatusResponse,
  jsonOutcome,
  methodNotAllowed,
  notFound,
} from './evaluate.js';
import type { Outcome } from './evaluate.js';
import { assertValidFault, createFaultSchedule } from './faults.js';
import { DEFAULT_WAIT_TIMEOUT_MILLIS, createRecorder } from './recorder.js';
import { createCancellableTimers } from './timers.js';
import type {
  AcceptedEvent,
  Emulator,
  EmulatorFault,
  EmulatorOptions,
  EmulatorResponse,
  RandomFaultConfig,
  ReceivedRequest,
} from './types.js';

/** Default of `EmulatorOptions.maxBodyBytes`: 5 MiB of raw body. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

/** Idle keep-alive sockets live this long; `close()` destroys them anyway, so it stays fast. */
const KEEP_ALIVE_TIMEOUT_MILLIS = 5000;

/**
 * Start a Gravity emulator listening on `options.host` (default 127.0.0.1) and `options.port` (default 0).
 * Rejects if the port cannot be bound. Always `close()` the returned emulator.
 *
 * @example
 * const emulator = await startEmulator({ accessToken: 'test-token' });
 * // point the exporter at emulator.url, then:
 * const events = await emulator.waitForEvents(1);
 * await emulator.close();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const emulator = new GravityEmulator(options);
  await emulator.listen(options.port ?? 0);
  return emulator;
}

class GravityEmulator implements Emulator {
  private readonly _host: string;
  private readonly _accessToken: string | undefined;
  private readonly _strict: boolean;
  private readonly _now: () => number;
  private readonly _maxBodyBytes: number;
  private readonly _uninitialised: Set<string>;
  private readonly _onRequest: ((request: ReceivedRequest) => void) | undefined;
  private readonly _faults = createFaultSchedule();
  private readonly _clientFaults = new Map<string, EmulatorFault>();
  private readonly _recorder = createRecorder();
  /** Fault and response delays; `setDown(true)` and `close()` cancel them. */
  private readonly _timers = createCancellableTimers();
  /** The web console at `/`, unless `console: false`. */
  private readonly _console: EmulatorConsole | undefined;
  private _server: Server | undefined;
  private _port = 0;
  private _responseDelayMillis: number;
  private _seq = 0;
  /** Bumped by `setDown(true)` and `close()`; a request started in an older generation is dropped. */
  private _generation = 0;
  private _closing: Promise<void> | undefined;

  constructor(options: EmulatorOptions) {
    this._host = options.host ?? '127.0.0.1';
    this._accessToken = options.accessToken;
    this._strict = options.strict ?? false;
    this._now = options.now ?? Date.now;
    this._maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this._responseDelayMillis = 0;
    this.setResponseDelay(options.responseDelayMillis ?? 0);
    this._uninitialised = new Set(options.uninitialisedClients ?? []);
    this._onRequest = options.onRequest;
    if (!(this._maxBodyBytes > 0)) {
      throw new RangeError(`Emulator: maxBodyBytes is invalid, expected a number > 0 (actual: ${this._maxBodyBytes})`);
    }
    if (options.console !== false) {
      this._console = createEmulatorConsole({
        collectUrl: () => this.url,
        strict: this._strict,
        tokenRequired: this._accessToken !== undefined,
        host: this._host,
        recorder: this._recorder,
        faults: this._faults,
        responseDelay: () => this._responseDelayMillis,
        setResponseDelay: (ms) => this.setResponseDelay(ms),
        uninitialisedClients: () => [...this._uninitialised],
        initialiseClient: (clientId) => this.initialiseClient(clientId),
        uninitialiseClient: (clientId) => this.uninitialiseClient(clientId),
      });
    }
  }

  get origin(): string {
    const host = this._host.includes(':') ? `[${this._host}]` : this._host;
    return `http://${host}:${this._port}`;
  }

  get url(): string {
    return `${this.origin}${COLLECT_PATH}`;
  }

  get port(): number {
    return this._port;
  }

  get consoleUrl(): string | undefined {
    return this._console === undefined ? undefined : `${this.origin}/`;
  }

  get requests(): readonly ReceivedRequest[] {
    return this._recorder.requests();
  }

  payloads(): CollectPayload[] {
    return this._recorder.payloads();
  }

  events(): AcceptedEvent[] {
    return this._recorder.events();
  }

  enqueueFaults(...faults: EmulatorFault[]): void {
    this._faults.enqueue(faults);
  }

  setRandomFaults(config: RandomFaultConfig | null): void {
    this._faults.setRandom(config);
  }

  setClientFault(clientId: string, fault: EmulatorFault | null): void {
    if (fault === null) {
      this._clientFaults.delete(clientId);
      return;
    }
    assertValidFault(fault);
    this._clientFaults.set(clientId, fault);
  }

  setResponseDelay(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Emulator: responseDelayMillis is invalid, expected a finite number >= 0 (actual: ${ms})`);
    }
    this._responseDelayMillis = ms;
  }

  async setDown(down: boolean): Promise<void> {
    if (this._closing !== undefined) throw new Error('Gravity emulator: setDown() after close()');
    if (down) await this._stopListening();
    else if (this._server === undefined) await this.listen(this._port);
  }

  initialiseClient(clientId: string): void {
    this._uninitialised.delete(clientId);
  }

  uninitialiseClient(clientId: string): void {
    this._uninitialised.add(clientId);
  }

  waitForEvents(count: number, timeoutMillis = DEFAULT_WAIT_TIMEOUT_MILLIS): Promise<AcceptedEvent[]> {
    return this._recorder.waitForEvents(count, timeoutMillis);
  }

  waitForRequests(count: number, timeoutMillis = DEFAULT_WAIT_TIMEOUT_MILLIS): Promise<ReceivedRequest[]> {
    return this._recorder.waitForRequests(count, timeoutMillis);
  }

  clear(): void {
    this._recorder.clear();
    this._faults.clearQueue();
  }

  close(): Promise<void> {
    this._closing ??= (async () => {
      this._recorder.rejectWaiters(new Error('Gravity emulator: closed while waiting'));
      this._console?.close();
      await this._stopListening();
    })();
    return this._closing;
  }

  /** Bind a fresh server to `port` (used at start and by `setDown(false)`, which reuses the first port). */
  async listen(port: number): Promise<void> {
    const server = createServer((request, response) => {
      this._handle(request, response).catch((error: unknown) => answerInternalError(response, error));
    });
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MILLIS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this._host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address !== null && typeof address === 'object') this._port = address.port;
    this._server = server;
  }

  private async _stopListening(): Promise<void> {
    const server = this._server;
    this._generation++;
    this._timers.cancelAll();
    if (server === undefined) return;
    this._server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async _handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this._console?.handle(request, response) === true) return; // the page, its files and its API
    const generation = this._generation;
    const url = parseTarget(request.url);
    // The token is compared here and never kept: requests are recorded with it redacted. A malformed target
    // is kept without its query.
    const query = url === undefined ? {} : Object.fromEntries(url.searchParams);
    const token = query['access_token'];
    const accessToken: ReceivedRequest['accessToken'] =
      token === undefined ? 'missing' : this._accessToken === undefined ? 'present' : token === this._accessToken ? 'matched' : 'mismatched';
    if (token !== undefined) query['access_token'] = '[REDACTED]';
    const received: ReceivedRequest = {
      seq: ++this._seq,
      receivedAt: Date.now(),
      method: request.method ?? '',
      path: url?.pathname ?? (request.url ?? '').split('?')[0]!,
      query,
      accessToken,
      headers: flattenHeaders(request.headers),
      compressed: false,
      rawLength: 0,
      bodyText: '',
      body: undefined,
      response: { hang: true },
      accepted: false,
    };
    const isCollect = received.path === COLLECT_PATH && received.method === 'POST';
    let fault = isCollect ? this._faults.next() : undefined;

    let raw;
    try {
      raw = await readRawBody(request, this._maxBodyBytes);
    } catch {
      return; // the client went away before sending the whole body: nothing to record or answer
    }
    received.rawLength = raw.rawLength;
    const decoded = raw.tooLarge
      ? undefined
      : await decodeBody(raw.bytes, received.headers['gravity-content-compress']);
    if (decoded !== undefined) {
      received.compressed = decoded.compressed;
      received.bodyText = decoded.text;
      if (decoded.ok) received.body = decoded.json;
    }
    if (isCollect && this._clientFaults.size > 0) {
      const clientId = (received.body as { client_id?: unknown } | undefined)?.client_id;
      if (typeof clientId === 'string') fault = this._clientFaults.get(clientId) ?? fault;
    }
    if (fault !== undefined) received.fault = fault;

    if (url === undefined) return this._finish(received, response, generation, badTarget(received.path));
    if (received.path !== COLLECT_PATH) return this._finish(received, response, generation, notFound(received.path));
    if (!isCollect) return this._finish(received, response, generation, methodNotAllowed(received.method));

    switch (fault?.kind) {
      case 'status':
        return this._finish(received, response, generation, faultStatusResponse(fault));
      case 'reset':
        if (fault.when !== 'after') return this._finish(received, response, generation, 'reset');
        break;
      case 'hang':
        return this._finish(received, response, generation, 'hang');
      case 'delay':
        if (!(await this._timers.sleep(fault.delayMillis))) return;
        break;
      case 'code':
        return this._finish(received, response, generation, faultCodeResponse(fault));
      case undefined:
        break;
      default: {
        const unknown: never = fault;
        throw new TypeError(`unhandled fault ${JSON.stringify(unknown)}`);
      }
    }

    const outcome = evaluateCollectRequest({
      decoded,
      rawLength: raw.rawLength,
      maxBodyBytes: this._maxBodyBytes,
      accessTokenMatches: received.accessToken !== 'mismatched' && received.accessToken !== 'missing',
      headers: received.headers,
      accessToken: this._accessToken,
      strict: this._strict,
      nowMillis: this._now(),
      uninitialisedClients: this._uninitialised,
    });
    return this._finish(received, response, generation, outcome, fault?.kind === 'reset');
  }

  /**
   * Store (for an accepting outcome), record, then answer after the response delay. `reset` and `hang`
   * are outcomes too; `resetAfter` stores and then destroys the socket instead of answering.
   */
  private async _finish(
    received: ReceivedRequest,
    response: ServerResponse,
    generation: number,
    outcome: Outcome | 'reset' | 'hang',
    resetAfter = false,
  ): Promise<void> {
    if (generation !== this._generation) return; // went down (or closed) meanwhile: the request is lost
    let answer: EmulatorResponse;
    if (outcome === 'reset' || outcome === 'hang') answer = outcome === 'reset' ? { reset: true } : { hang: true };
    else answer = resetAfter ? { reset: true } : { status: outcome.status, body: outcome.body };
    if (typeof outcome === 'object' && outcome.accept !== undefined) {
      this._recorder.accept(received.seq, outcome.accept);
      received.accepted = true;
    }
    received.response = answer;
    this._recorder.addRequest(received);
    try {
      this._onRequest?.(received);
    } catch {
      // an observer's bug must not break the emulator
    }
    if ('hang' in answer) return; // the socket stays open until close() or setDown(true)
    if ('reset' in answer) {
      response.socket?.destroy();
      return;
    }
    if (!(await this._timers.sleep(this._responseDelayMillis))) return;
    if (typeof outcome !== 'object') return;
    response.writeHead(outcome.status, outcome.headers);
    response.end(outcome.bodyText);
  }
}

/** The request target as a URL, or `undefined` when it cannot be one (`//`, `http://[::1`): the client's mistake. */
function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://emulator.invalid');
  } catch {
    return undefined;
  }
}

function badTarget(target: string): Outcome {
  return jsonOutcome(400, { error: `malformed request target ${JSON.stringify(target)}; the collect endpoint is POST ${COLLECT_PATH}` });
}

/** A bug in the emulator answers 500 with the error text rather than crashing the test process. */
function answerInternalError(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.socket?.destroy();
    return;
  }
  const outcome = jsonOutcome(500, { error: `Gravity emulator bug: ${String(error)}` });
  response.writeHead(outcome.status, outcome.headers);
  response.end(outcome.bodyText);
}
