/** Pure classification rules for retries (style guide §2.5; shared/gravity-wire-format.md §7). */

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
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMillis);
}
