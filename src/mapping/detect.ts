/** Which OTel records are analytics records (the `ge.*` attribute contract, README). */
import { ATTR_GE_CLIENT_ID, GE_ATTRIBUTE_KEYS } from './attributes.js';

/**
 * True when the attributes carry `ge.client_id`, or another `ge.*` key of the contract (such a record
 * is meant as analytics, so it is mapped and rejected for its missing client id rather than ignored).
 * Everything else is not analytics and costs one property lookup plus a scan of short key lists.
 */
export function isGravityRecord(attributes: Readonly<Record<string, unknown>> | undefined): boolean {
  if (attributes === undefined) return false;
  if (attributes[ATTR_GE_CLIENT_ID] !== undefined) return true;
  for (const key of GE_ATTRIBUTE_KEYS) {
    if (attributes[key] !== undefined) return true;
  }
  return false;
}

/** Epoch milliseconds (integer) of an OTel `HrTime`. */
export function hrTimeToMillis(hrTime: readonly [number, number]): number {
  return hrTime[0] * 1000 + Math.floor(hrTime[1] / 1e6);
}
