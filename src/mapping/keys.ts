/** Gravity key checks with a bounded memo: the same few dozen keys recur on every record. */
import { GRAVITY_KEY_PATTERN } from './rules.js';

/**
 * Keys remembered as valid. Past the bound new keys are checked with the pattern every time (no eviction:
 * a stream of unique keys must not churn the set, and the common keys arrive first).
 */
const MAX_CACHED_KEYS = 4_096;
const validKeys = new Set<string>();

/** `GRAVITY_KEY_PATTERN.test(key)`, memoised for valid keys. */
export function isValidGravityKey(key: string): boolean {
  if (validKeys.has(key)) return true;
  if (!GRAVITY_KEY_PATTERN.test(key)) return false;
  if (validKeys.size < MAX_CACHED_KEYS) validKeys.add(key);
  return true;
}
