/**
 * Eager checks for code-supplied analytics input (facade calls, exporter super properties). They run the
 * mapping itself on the input, so the facade, the exporter options and the exporters can never disagree.
 */
import { ATTR_GE_CLIENT_ID } from './attributes.js';
import { VERSION } from '../common/version.js';
import { mapRecord } from './map-record.js';
import type { MappingContext, Rejection } from './map-record.js';

/** Lenient mapping context: strict (debug) limits and the time window are the exporter's business. */
export const EAGER_MAPPING_CONTEXT: MappingContext = Object.freeze({
  libVersion: VERSION,
  strict: false,
  now: Date.now,
});

/**
 * A properties argument: a plain object (`{…}`, `Object.create(null)`, JSON.parse output). A `Map` or a class
 * instance is refused, as it is at any depth of a value: its data is not in its own enumerable keys, and
 * copying those would send an empty or partial event without a word.
 */
export function isPropertyMap(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks properties the way the mapping checks a track record's properties (keys, dotted keys, values at any
 * depth, NaN/Infinity). Returns the rejection, or `undefined` when they would be sent.
 */
export function checkTrackProperties(properties: Readonly<Record<string, unknown>>): Rejection | undefined {
  const result = mapRecord(
    {
      ge: (key) => (key === ATTR_GE_CLIENT_ID ? 'check' : undefined),
      sources: [properties],
      defaultEventName: 'check',
      timeMillis: 0,
    },
    EAGER_MAPPING_CONTEXT,
  );
  return result.ok ? undefined : result;
}
