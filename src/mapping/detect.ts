/** Which OTel records are analytics records (the `ge.*` attribute contract, README). */
import { ATTR_GE_CLIENT_ID, GE_ATTRIBUTE_KEYS, GE_ATTRIBUTE_PREFIX } from './attributes.js';

const KNOWN_GE_KEYS: ReadonlySet<string> = new Set(GE_ATTRIBUTE_KEYS);

/**
 * True when the attributes carry `ge.client_id`, or any other `ge.*` key: such a record is meant as analytics,
 * so it is mapped and rejected for what is wrong with it (a missing client id, a key that is not part of the
 * contract such as `ge.clientid`) rather than ignored. Everything else is not analytics and costs one property
 * lookup plus a look at each key's first characters.
 */
export function isGravityRecord(attributes: Readonly<Record<string, unknown>> | undefined): boolean {
  if (attributes === undefined) return false;
  if (attributes[ATTR_GE_CLIENT_ID] !== undefined) return true;
  for (const key in attributes) {
    if (key.startsWith(GE_ATTRIBUTE_PREFIX) && attributes[key] !== undefined) return true;
  }
  return false;
}

/** The first `ge.*` key of `attributes` that is not part of the contract (a typo), if any. */
export function findUnknownGeKey(attributes: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (attributes === undefined) return undefined;
  for (const key in attributes) {
    if (key.startsWith(GE_ATTRIBUTE_PREFIX) && !KNOWN_GE_KEYS.has(key) && Object.prototype.hasOwnProperty.call(attributes, key)) return key;
  }
  return undefined;
}

/** Case and separators aside: `ge.ClientId`, `ge.client-id` and `ge.clientid` are all `ge.clientid`. */
function looseForm(key: string): string {
  return key.toLowerCase().replace(/[_\-\s]/g, '');
}

const LOOSE_KNOWN_KEYS = GE_ATTRIBUTE_KEYS.map((key) => [key, looseForm(key)] as const);

/**
 * The contract key nearest to an unknown `ge.*` key, for "did you mean": the fewest single-character edits
 * once case and separators are set aside, a key that starts the other (`ge.event` → `ge.event_name`)
 * counting as one edit. Ties go to the earlier key of the contract (`ge.client_id` first).
 */
export function nearestGeKey(key: string): string {
  const loose = looseForm(key);
  let best = GE_ATTRIBUTE_KEYS[0]!;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const [known, looseKnown] of LOOSE_KNOWN_KEYS) {
    let distance = editDistance(loose, looseKnown);
    if (distance > 1 && (looseKnown.startsWith(loose) || loose.startsWith(looseKnown))) distance = 1;
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (keys are short: a two-row table). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Epoch milliseconds (integer) of an OTel `HrTime`. */
export function hrTimeToMillis(hrTime: readonly [number, number]): number {
  return hrTime[0] * 1000 + Math.floor(hrTime[1] / 1e6);
}
