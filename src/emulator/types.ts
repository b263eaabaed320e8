/**
 * Public types of the local Gravity emulator (`gravity-otel-exporter/emulator`).
 * The wire contract they describe is the types in mapping/wire-types.ts.
 */
import type { CollectPayload, GravityEvent } from '../mapping/wire-types.js';

/** Options of {@link startEmulator}. Every field is optional. */
export interface EmulatorOptions {
  /** TCP port to listen on. `0` picks a free ephemeral port. @default 0 */
  port?: number;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string;
  /**
   * When set, a request whose `access_token` query parameter differs is answered with HTTP 200
   * `{code: 1, msg: 'invalid access_token', extra: {}}` and nothing is stored. When unset, any token is accepted.
   */
  accessToken?: string;
  /**
   * Strict mode adds the checks the official debug consumers imply: `Content-Type: application/json`,
   * `GE-Integration-Count` equal to the record count, string values ≤ 2048 UTF-8 bytes and lists ≤ 500
   * elements at any depth, exactly one record under `Turbo-Debug-Mode: 1`, and no `$lib`/`$lib_version`
   * on profile records. @default false
   */
  strict?: boolean;
  /** Clock for the time window, epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Every response is delayed this long (milliseconds); requests are delayed concurrently, not queued. @default 0 */
  responseDelayMillis?: number;
  /** Client ids answered with `code` 2000 ("client_id not initialised") until {@link Emulator.initialiseClient}. */
  uninitialisedClients?: Iterable<string>;
  /** Largest raw (possibly gzipped) body in bytes; a larger one gets HTTP 413 and nothing is stored. @default 5 MiB */
  maxBodyBytes?: number;
  /**
   * Called once per request as soon as its outcome is decided (before any response delay).
   * Used by the `gravity-otel emulator` CLI to print one line per request. Exceptions thrown by it are ignored.
   */
  onRequest?: (request: ReceivedRequest) => void;
  /**
   * Serve the web console at `/` (see {@link Emulator.consoleUrl}): a live view of requests and records, fault
   * switches and exports. It never shows the access token. @default true
   */
  console?: boolean;
}

/** A fault injected into the handling of one request. */
export type EmulatorFault =
  /** Answer this HTTP status (and `Retry-After` if given); nothing is stored. `body` defaults to a small JSON error. */
  | { kind: 'status'; status: number; retryAfter?: string | number; body?: string }
  /**
   * Destroy the socket instead of answering. `'before'` (default): the request is not processed or stored;
   * `'after'`: it is processed and stored, then the socket is destroyed (the client cannot know it arrived).
   */
  | { kind: 'reset'; when?: 'before' | 'after' }
  /** Wait `delayMillis`, then process normally. */
  | { kind: 'delay'; delayMillis: number }
  /** Accept the request and never answer; the socket stays open until `close()` or `setDown(true)`. */
  | { kind: 'hang' }
  /** Answer HTTP 200 with this non-zero `code` (2000 defaults `msg` to 'client_id not initialised'); nothing stored. */
  | { kind: 'code'; code: number; msg?: string };

/** What the emulator did with a request. */
export type EmulatorResponse = { status: number; body: unknown } | { reset: true } | { hang: true };

/** One request as the emulator saw it. */
export interface ReceivedRequest {
  /** 1-based arrival number; it keeps counting across {@link Emulator.clear}. */
  seq: number;
  /** When the request arrived (wall clock, epoch milliseconds). */
  receivedAt: number;
  method: string;
  /** URL path without the query string. */
  path: string;
  /**
   * Query parameters (the last value wins for repeated names), with `access_token` shown as `[REDACTED]`: what
   * the emulator records may be printed, served by its console or attached to a bug report.
   */
  query: Record<string, string>;
  /**
   * The request's `access_token`: `matched` or `mismatched` against the emulator's `accessToken`, `present`
   * when the emulator checks none, `missing` when the request has none.
   */
  accessToken: 'matched' | 'mismatched' | 'present' | 'missing';
  /** Request headers with lower-case names; repeated headers are joined with `, `. */
  headers: Record<string, string>;
  /** The body was gunzipped because of `Gravity-Content-Compress: gzip`. */
  compressed: boolean;
  /** Length of the body as received, in bytes. */
  rawLength: number;
  /** The decoded body text (`''` when it could not be decoded). */
  bodyText: string;
  /** The parsed JSON body, `undefined` when the body is not JSON. */
  body: unknown;
  response: EmulatorResponse;
  /** The request's records were stored (they appear in `payloads()` and `events()`). */
  accepted: boolean;
  /** The fault that was applied to this request, if any. */
  fault?: EmulatorFault;
}

/** One accepted record, flattened with its request's top-level fields. `time_free` is `false` when it was absent. */
export interface AcceptedEvent extends GravityEvent {
  client_id: string;
  client_ip?: string;
  client_ua?: string;
  /** `seq` of the request that carried it. */
  requestSeq: number;
}

/** Configuration of {@link Emulator.setRandomFaults}. */
export interface RandomFaultConfig {
  /** Probability in [0, 1] that a request (without a queued fault) gets a fault. */
  rate: number;
  /** Faults to pick from, uniformly. Must not be empty when `rate` > 0. */
  faults: EmulatorFault[];
  /** Seed of the PRNG; the same seed yields the same fault sequence. @default a random seed */
  seed?: number;
}

/** A running emulator. Obtain one from {@link startEmulator}; always `close()` it. */
export interface Emulator {
  /** Full collect URL: `http://127.0.0.1:PORT/event_center/api/v1/event/collect/`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly port: number;
  /** The web console, `http://127.0.0.1:PORT/`; `undefined` when started with `console: false`. */
  readonly consoleUrl: string | undefined;
  /** A snapshot of every request whose outcome is decided, in arrival (`seq`) order. */
  readonly requests: readonly ReceivedRequest[];
  /** Accepted request bodies, in order. */
  payloads(): CollectPayload[];
  /** Accepted records, flattened, in order. */
  events(): AcceptedEvent[];
  /** Queue faults (FIFO): each next POST to the collect path consumes one. */
  enqueueFaults(...faults: EmulatorFault[]): void;
  /**
   * Fail each POST without a queued fault with probability `rate`, using a fault picked from `faults` by a
   * seeded PRNG; `null` turns random faults off. Throws `RangeError` on a bad rate or an empty list.
   */
  setRandomFaults(config: RandomFaultConfig | null): void;
  /**
   * Give every POST for `clientId` this fault (instead of a queued or random one), as a service that keeps
   * failing one client's requests would; `null` stops it.
   */
  setClientFault(clientId: string, fault: EmulatorFault | null): void;
  /** Change the response delay (milliseconds) for later requests. */
  setResponseDelay(ms: number): void;
  /**
   * `true`: stop listening and destroy open sockets (new connections are refused; pending delayed requests are
   * dropped unanswered). `false`: listen again on the same port.
   */
  setDown(down: boolean): Promise<void>;
  /** Let this client id be accepted from now on (see `uninitialisedClients`). */
  initialiseClient(clientId: string): void;
  /** Answer this client id's requests with `code` 2000 from now on, until {@link initialiseClient}. */
  uninitialiseClient(clientId: string): void;
  /**
   * Resolve with `events()` once at least `count` records were accepted; reject with an error naming
   * the count on timeout (default 5000 ms) or when the emulator closes.
   */
  waitForEvents(count: number, timeoutMillis?: number): Promise<AcceptedEvent[]>;
  /** Like {@link waitForEvents}, for `requests` (any outcome, including hung requests). */
  waitForRequests(count: number, timeoutMillis?: number): Promise<ReceivedRequest[]>;
  /** Forget recorded requests, accepted payloads and queued faults (random faults stay configured). */
  clear(): void;
  /** Destroy all connections, stop listening and cancel timers. Idempotent. */
  close(): Promise<void>;
}
