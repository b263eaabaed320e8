/** The facade's typed errors for misuse, made from the mapping's rejections (see mapping/eager-check.ts). */
import {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_TIME_FREE,
} from '../mapping/attributes.js';
import { GravityValidationError } from '../common/errors.js';
import type { Rejection } from '../mapping/map-record.js';
import { describeType } from '../mapping/values.js';

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
