/**
 * What the gateway remembers of recent requests, so that a sender's retry does not deliver records twice.
 *
 * OTLP senders retry a whole request, with the same bytes, when its answer was retryable or never arrived
 * (a timeout). A request is known by a digest of its decoded body. For a request answered successfully the
 * gateway keeps the answer and gives it again to a retry, delivering nothing; for one answered retryably after
 * some clients' records were delivered (or refused for good), it keeps those clients, and the retry skips
 * their records; a retry that arrives while the original is still in progress waits for it and gets its answer.
 * Bounded: entries older than `windowMillis`, or beyond `maxEntries`, are forgotten (oldest first).
 */
import { createHash } from 'node:crypto';

/** What a later identical request needs. */
export interface RememberedRequest<A> {
  /** The answer given, when the request was settled; a retry gets it again. */
  readonly answer?: A;
  /** Clients whose records were delivered or refused for good; a retry skips them. */
  readonly settledClients?: ReadonlySet<string>;
  /** Records of those clients refused for good, and why (they still count in the final answer). */
  readonly refused?: { readonly records: number; readonly reasons: readonly string[] };
}

interface Entry<A> {
  readonly value: RememberedRequest<A>;
  readonly expiresAtMillis: number;
}

export const DEFAULT_REQUEST_MEMORY_WINDOW_MILLIS = 10 * 60_000;
export const DEFAULT_REQUEST_MEMORY_ENTRIES = 100_000;

export class RequestMemory<A> {
  private readonly _entries = new Map<string, Entry<A>>();
  private readonly _running = new Map<string, Promise<A>>();
  private readonly _windowMillis: number;
  private readonly _maxEntries: number;
  private readonly _now: () => number;

  constructor(windowMillis = DEFAULT_REQUEST_MEMORY_WINDOW_MILLIS, maxEntries = DEFAULT_REQUEST_MEMORY_ENTRIES, now: () => number = Date.now) {
    this._windowMillis = windowMillis;
    this._maxEntries = maxEntries;
    this._now = now;
  }

  /** The key of a request: its signal and a digest of its decoded body. */
  static keyOf(signal: string, body: Uint8Array): string {
    return `${signal}:${createHash('sha256').update(body).digest('base64')}`;
  }

  get(key: string): RememberedRequest<A> | undefined {
    const entry = this._entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMillis <= this._now()) {
      this._entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: RememberedRequest<A>): void {
    const now = this._now();
    this._entries.delete(key);
    this._entries.set(key, { value, expiresAtMillis: now + this._windowMillis });
    // Insertion order is age order: drop from the front while too many or expired.
    for (const [oldest, entry] of this._entries) {
      if (this._entries.size <= this._maxEntries && entry.expiresAtMillis > now) break;
      this._entries.delete(oldest);
    }
  }

  /** The request with this key in progress, if any. */
  running(key: string): Promise<A> | undefined {
    return this._running.get(key);
  }

  /** Marks the request in progress until `work` settles. */
  track(key: string, work: Promise<A>): void {
    this._running.set(key, work);
    void work.then(
      () => this._running.delete(key),
      () => this._running.delete(key),
    );
  }

  get size(): number {
    return this._entries.size;
  }
}
