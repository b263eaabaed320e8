/**
 * Eager checks for code-supplied analytics input. They run the mapping itself (mapping/map-record.ts) on
 * the record about to be emitted, so the facade, the exporter options and the exporters can never disagree.
 */
import {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_TIME_FREE,
} from '../attributes.js';
import { GravityValidationError } from '../errors.js';
import { mapRecord } from '../mapping/map-record.js';
import type { MappingContext, Rejection } from '../mapping/map-record.js';
import { describeType } from '../mapping/values.js';
import { VERSION } from '../version.js';

/** Lenient mapping context: strict (debug) limits and the time window are the exporter's business. */
export const EAGER_MAPPING_CONTEXT: MappingContext = Object.freeze({
  libVersion: VERSION,
  strict: false,
  now: Date.now,
});

/** The facade's names for the `ge.*` fields the mapping reports. */
const FIELD_NAMES: Readonly<Record<string, string>> = Object.freeze({
  [ATTR_GE_CLIENT_ID]: 'clientId',
  [ATTR_GE_EVENT_NAME]: 'eventName',
  'event name': 'eventName',
  [ATTR_GE_TIME_FREE]: 'timeFree',
  [ATTR_GE_CLIENT_IP]: 'clientIp',
  [ATTR_GE_CLIENT_UA]: 'clientUa',
});

/** Turns a mapping rejection into the error thrown at the caller of `where` (e.g. `track`). */
export function toValidationError(where: string, rejection: Rejection): GravityValidationError {
  const problem = rejection.reason.startsWith(`${rejection.field}: `)
    ? rejection.reason.slice(rejection.field.length + 2)
    : rejection.reason;
  const keyIndex = /^body\[(\d+)\]$/.exec(rejection.field);
  const field = FIELD_NAMES[rejection.field] ?? (keyIndex !== null ? `keys[${keyIndex[1]}]` : rejection.field);
  return new GravityValidationError(`${where}: ${field}: ${problem}`, field, rejection.code);
}

/** An error for an argument of the wrong shape (before the mapping can look at it). */
export function invalidArgument(where: string, field: string, expected: string, actual: unknown): GravityValidationError {
  return new GravityValidationError(`${where}: ${field}: expected ${expected}, got ${describeType(actual)}`, field, 'invalid_argument');
}

/** A properties argument: a non-array object (or `undefined` where allowed). */
export function isPropertyMap(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
