/**
 * The facade's check of a record's size against what the exporter can send: a record whose JSON does not fit
 * one request of the default `maxBatchBytes` would be rejected at export (`record_too_large`), long after the
 * call returned. The facade throws at the call instead, naming the property that makes it too large.
 */
import { DEFAULTS } from '../config/resolve-config.js';
import { GravityValidationError } from '../common/errors.js';
import { envelopeBytes, serialiseEvent } from '../batching/request-batch.js';
import type { GravityRecord } from '../mapping/map-record.js';

/** The request size the facade holds a record to: the exporter's default `maxBatchBytes`. */
export const FACADE_MAX_RECORD_REQUEST_BYTES = DEFAULTS.maxBatchBytes;

/** Bytes a record needs besides its properties' JSON (type, event, time, `$lib`...), generously. */
const RECORD_OVERHEAD_BYTES = 512;
/** Nesting deeper than the mapping allows (32) is never valid: no need to walk further. */
const MAX_DEPTH = 40;

/**
 * An upper bound of the UTF-8 bytes of the JSON of `value`, computed without serialising it; once past
 * `budget` it stops and returns `Infinity`. A UTF-16 unit counts 6 bytes (an escaped control character), so
 * ordinary records are far below any limit and only a few large ones need the exact count.
 */
export function jsonBytesBound(value: unknown, budget: number): number {
  return bound(value, budget, 0);
}

function bound(value: unknown, budget: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 6 * value.length + 2;
    case 'number':
    case 'boolean':
    case 'undefined':
      return 24;
    case 'object': {
      if (value === null) return 4;
      if (value instanceof Date) return 32;
      if (depth > MAX_DEPTH) return Number.POSITIVE_INFINITY;
      let total = 2;
      if (Array.isArray(value)) {
        for (const item of value) {
          total += bound(item, budget - total, depth + 1) + 1;
          if (total > budget) return Number.POSITIVE_INFINITY;
        }
        return total;
      }
      for (const key in value) {
        total += 6 * key.length + 4 + bound((value as Record<string, unknown>)[key], budget - total, depth + 1);
        if (total > budget) return Number.POSITIVE_INFINITY;
      }
      return total;
    }
    default:
      return 32;
  }
}

/**
 * The bytes of JSON the properties of a record with these ids (client id, event name, ip, ua) may take for it to
 * surely fit one request; past it {@link checkRecordSize} decides exactly.
 */
export function sureFitBudget(clientId: unknown, eventName: unknown, clientIp: unknown, clientUa: unknown): number {
  return FACADE_MAX_RECORD_REQUEST_BYTES - RECORD_OVERHEAD_BYTES - idBytes(clientId) - idBytes(eventName) - idBytes(clientIp) - idBytes(clientUa);
}

function idBytes(id: unknown): number {
  return typeof id === 'string' ? 6 * id.length + 2 : 0;
}

/**
 * The error for a mapped record that would not fit one request, or `undefined`. Exact: the record is
 * serialised as the exporter serialises it and measured with its request envelope, as the exporter measures it.
 */
export function checkRecordSize(where: string, record: GravityRecord): GravityValidationError | undefined {
  const budget = sureFitBudget(record.clientId, record.event.event, record.clientIp, record.clientUa);
  if (jsonBytesBound(record.event.properties, budget) <= budget) return undefined;
  const bytes = Buffer.byteLength(serialiseEvent(record), 'utf8') + envelopeBytes(record.clientId, record.clientIp, record.clientUa);
  if (bytes <= FACADE_MAX_RECORD_REQUEST_BYTES) return undefined;
  const { path, bytes: largest } = largestPart(record.event.properties as Record<string, unknown>);
  const field = path === '' ? 'properties' : path;
  return new GravityValidationError(
    `${where}: ${field}: ${largest} bytes of JSON make the record ${bytes} bytes, over the ${FACADE_MAX_RECORD_REQUEST_BYTES} bytes one request carries (maxBatchBytes); the exporter would reject it`,
    field,
    'record_too_large',
  );
}

/** The path of the largest value (`order.items[0]`), going down while one part holds most of the bytes. */
function largestPart(properties: Record<string, unknown>): { path: string; bytes: number } {
  let path = '';
  let value: unknown = properties;
  let bytes = jsonBytes(properties);
  for (let depth = 0; depth < MAX_DEPTH && typeof value === 'object' && value !== null; depth++) {
    let bestKey: string | undefined;
    let bestBytes = -1;
    const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((item, i) => [String(i), item]) : Object.entries(value);
    for (const [key, child] of entries) {
      const childBytes = jsonBytes(child);
      if (childBytes > bestBytes) {
        bestKey = key;
        bestBytes = childBytes;
      }
    }
    // Stop where no single part holds most of it: that value as a whole is what is too large.
    if (bestKey === undefined || bestBytes * 2 < bytes) break;
    path = Array.isArray(value) ? `${path}[${bestKey}]` : path === '' ? bestKey : `${path}.${bestKey}`;
    value = Array.isArray(value) ? value[Number(bestKey)] : (value as Record<string, unknown>)[bestKey];
    bytes = bestBytes;
  }
  return { path, bytes };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}
