/** Pure classification rules for retries (by HTTP status and the service's `code`). */

/** HTTP statuses worth another attempt: timeouts, throttling and server errors. Other 4xx are final. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date, relative to `nowMillis`.
 * Returns `undefined` for a missing or unparsable value; never negative.
 */
export function parseRetryAfterMillis(value: string | string[] | undefined, nowMillis = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Otherwise an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"): it names a day or month. Without a letter,
  // Date.parse would read "-1" or "+3" as a year.
  if (!/[a-z]/i.test(text)) return undefined;
  // HTTP dates are GMT; the asctime form ("Sun Nov  6 08:49:37 1994") says no zone and would parse as local time.
  const date = Date.parse(/\b(GMT|UTC|UT)\b|[+-]\d{4}$/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMillis);
}

/** Backoff schedule of the retrying transport, in milliseconds. */
export interface BackoffSchedule {
  /** Upper bound of the first delay. */
  readonly initialBackoffMillis: number;
  /** Cap of every delay. */
  readonly maxBackoffMillis: number;
  /** Growth factor of the bound per attempt. */
  readonly backoffMultiplier: number;
}

/**
 * Delay before retry number `retry` (1 = the first retry): "full jitter", a uniform pick in
 * [0, min(max, initial * multiplier^(retry-1))]. `random` returns a number in [0, 1).
 */
export function computeBackoffMillis(retry: number, schedule: BackoffSchedule, random: () => number = Math.random): number {
  const exponent = Math.max(0, retry - 1);
  const bound = Math.min(schedule.maxBackoffMillis, schedule.initialBackoffMillis * schedule.backoffMultiplier ** exponent);
  return Math.floor(random() * bound);
}
