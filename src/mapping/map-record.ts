/**
 * The one mapping from an analytics source (log record or span event) to a Gravity record.
 * Pure, synchronous and total: every input yields a record or a rejection that names the field.
 */
import {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_TIME_FREE,
  ATTR_GE_USER_OP,
  GE_ATTRIBUTE_PREFIX,
} from './attributes.js';
import { findUnknownGeKey, nearestGeKey } from './detect.js';
import { GRAVITY_KEY_PATTERN, isInTimeWindow, SDK_METADATA_KEYS } from './rules.js';
import { isValidGravityKey } from './keys.js';
import { isUserOperation, toProfileEventName, USER_OPERATIONS, valueRuleOf } from './user-operation.js';
import type { UserOperation } from './user-operation.js';
import { describeType, INVALID_VALUE, normaliseValue, toGravityValue } from './values.js';
import type { GravityEvent, GravityProperties } from './wire-types.js';

/** What the mapping needs from its surroundings. */
export interface MappingContext {
  /** `$lib_version` on track records. */
  readonly libVersion: string;
  /** Debug mode: string and list limits, the service's time window. */
  readonly strict: boolean;
  /** Clock for the time window in strict mode, epoch ms. */
  readonly now: () => number;
  /** Properties added to every track record; the record's own properties win (exporter option). */
  readonly superProperties?: PropertySource;
  /**
   * Called per track record (at export time); what it returns wins over `superProperties`, the record's
   * own properties win over both. If it throws, the record is rejected with a reason naming it.
   */
  readonly dynamicSuperProperties?: () => PropertySource;
}

/** Stable reason codes for rejected records; the stats count rejections per code. */
export type RejectionCode =
  | 'invalid_client_id'
  | 'missing_client_id'
  | 'invalid_user_op'
  | 'missing_event_name'
  | 'invalid_event_name'
  | 'invalid_key'
  | 'invalid_value'
  | 'invalid_operation_value'
  | 'invalid_ge_attribute'
  | 'unknown_ge_attribute'
  | 'out_of_time_window'
  | 'record_too_large';

/** A record that cannot be sent correctly. `reason` starts with the field it names. */
export interface Rejection {
  readonly ok: false;
  readonly code: RejectionCode;
  readonly field: string;
  readonly reason: string;
}

/** A record ready for the wire, with what it is grouped by. */
export interface GravityRecord {
  readonly clientId: string;
  readonly clientIp: string | undefined;
  readonly clientUa: string | undefined;
  readonly event: GravityEvent;
}

export type MapResult = { readonly ok: true; readonly value: GravityRecord } | Rejection;

/** A source of property keys and values; later sources win over earlier ones. */
export type PropertySource = Readonly<Record<string, unknown>> | undefined;

/** The neutral input both exporters build from their OTel records. */
export interface RecordInput {
  /** Looks up a `ge.*` attribute (for span events: on the event, else on its span). */
  readonly ge: (key: string) => unknown;
  /** Property maps, later wins; `ge.*` keys in them are skipped, and must all be part of the contract. */
  readonly sources: readonly PropertySource[];
  /** For span events: the span's attributes, whose `ge.*` keys must be part of the contract too. */
  readonly spanAttributes?: PropertySource;
  /** For `unset`: property names given as a list (a log body that is an array of strings). */
  readonly keyList?: readonly unknown[];
  /** The event name when `ge.event_name` is absent (log record `eventName`, span event name). */
  readonly defaultEventName: string | undefined;
  /** Event time, epoch ms. */
  readonly timeMillis: number;
}

function reject(code: RejectionCode, field: string, problem: string): Rejection {
  return { ok: false, code, field, reason: `${field}: ${problem}` };
}

/** Dotted OTel-style keys become Gravity keys: `http.route` → `http_route`. */
export function toGravityKey(key: string): string {
  return key.includes('.') ? key.replaceAll('.', '_') : key;
}

function optionalString(input: RecordInput, key: string): string | undefined | Rejection {
  const value = input.ge(key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    return reject('invalid_ge_attribute', key, `expected a string, got ${describeType(value)}`);
  }
  return value;
}

/** Maps one analytics source. Call it only for sources that carry `ge.*` keys (see detect.ts). */
export function mapRecord(input: RecordInput, ctx: MappingContext): MapResult {
  // First: a typo (`ge.clientid`) is the reason the rest looks wrong, and must never be sent as something else
  // (`ge.user_opp: set` as a track event).
  const unknown = unknownGeKey(input);
  if (unknown !== undefined) return unknown;
  const clientId = input.ge(ATTR_GE_CLIENT_ID);
  if (clientId === undefined) {
    return reject('missing_client_id', ATTR_GE_CLIENT_ID, 'missing on a record that carries other ge.* attributes');
  }
  if (typeof clientId !== 'string') {
    return reject('invalid_client_id', ATTR_GE_CLIENT_ID, `expected a non-empty string, got ${describeType(clientId)}`);
  }
  if (clientId.trim() === '') return reject('invalid_client_id', ATTR_GE_CLIENT_ID, 'empty string');

  const clientIp = optionalString(input, ATTR_GE_CLIENT_IP);
  if (typeof clientIp === 'object') return clientIp;
  const clientUa = optionalString(input, ATTR_GE_CLIENT_UA);
  if (typeof clientUa === 'object') return clientUa;

  const timeFree = input.ge(ATTR_GE_TIME_FREE);
  if (timeFree !== undefined && typeof timeFree !== 'boolean') {
    return reject('invalid_ge_attribute', ATTR_GE_TIME_FREE, `expected a boolean, got ${describeType(timeFree)}`);
  }
  if (ctx.strict && timeFree !== true) {
    if (!isInTimeWindow(input.timeMillis, ctx.now())) {
      return reject(
        'out_of_time_window',
        'time',
        `${new Date(input.timeMillis).toISOString()} is outside the service's window (10 days back, 1 hour ahead); set ge.time_free for history`,
      );
    }
  }

  const op = input.ge(ATTR_GE_USER_OP);
  let event: GravityEvent | Rejection;
  if (op === undefined) {
    event = mapTrack(input, ctx, timeFree === true);
  } else if (isUserOperation(op)) {
    event = mapUserOperation(input, ctx, op, timeFree === true);
  } else {
    return reject(
      'invalid_user_op',
      ATTR_GE_USER_OP,
      `unknown operation ${typeof op === 'string' ? JSON.stringify(op) : `(${describeType(op)})`}; expected one of ${USER_OPERATIONS.join(', ')}`,
    );
  }
  if ('ok' in event) return event;
  return { ok: true, value: { clientId, clientIp, clientUa, event } };
}

function unknownGeKey(input: RecordInput): Rejection | undefined {
  for (const source of input.sources) {
    const key = findUnknownGeKey(source);
    if (key !== undefined) return reject('unknown_ge_attribute', key, `not a ge.* attribute of the contract; did you mean ${nearestGeKey(key)}?`);
  }
  const onSpan = findUnknownGeKey(input.spanAttributes);
  if (onSpan === undefined) return undefined;
  return reject('unknown_ge_attribute', onSpan, `(on the span) not a ge.* attribute of the contract; did you mean ${nearestGeKey(onSpan)}?`);
}

function mapTrack(input: RecordInput, ctx: MappingContext, timeFree: boolean): GravityEvent | Rejection {
  const explicit = input.ge(ATTR_GE_EVENT_NAME);
  if (explicit !== undefined && typeof explicit !== 'string') {
    return reject('invalid_event_name', ATTR_GE_EVENT_NAME, `expected a string, got ${describeType(explicit)}`);
  }
  const name = explicit ?? input.defaultEventName;
  if (name === undefined || name === '') {
    return reject('missing_event_name', ATTR_GE_EVENT_NAME, "missing: a track record needs ge.event_name or the record's event name");
  }
  const eventName = toGravityKey(name);
  if (!isValidGravityKey(eventName)) {
    const field = explicit === undefined ? 'event name' : ATTR_GE_EVENT_NAME;
    return reject('invalid_event_name', field, `${JSON.stringify(name)} does not fit ${GRAVITY_KEY_PATTERN}`);
  }
  // $lib and $lib_version come first and cannot be overwritten, like the Python SDK's payloads.
  const properties: GravityProperties = { $lib: 'node', $lib_version: ctx.libVersion };
  const sources = withSuperProperties(input.sources, ctx);
  if (!Array.isArray(sources)) return sources as Rejection;
  const problem = collectProperties(sources, properties, ctx.strict, 'any', true);
  if (problem !== undefined) return problem;
  return { type: 'track', event: eventName, time: input.timeMillis, time_free: timeFree, properties };
}

/** The record's sources behind the exporter's super properties (earlier sources lose). */
function withSuperProperties(sources: readonly PropertySource[], ctx: MappingContext): readonly PropertySource[] | Rejection {
  if (ctx.superProperties === undefined && ctx.dynamicSuperProperties === undefined) return sources;
  let dynamic: unknown;
  if (ctx.dynamicSuperProperties !== undefined) {
    try {
      dynamic = ctx.dynamicSuperProperties();
    } catch (error) {
      return reject('invalid_value', 'dynamicSuperProperties', `threw ${error instanceof Error ? error.message : String(error)}`);
    }
    if (dynamic !== undefined && (typeof dynamic !== 'object' || dynamic === null || Array.isArray(dynamic))) {
      return reject('invalid_value', 'dynamicSuperProperties', `expected an object, got ${describeType(dynamic)}`);
    }
  }
  return [ctx.superProperties, dynamic as PropertySource, ...sources];
}

function mapUserOperation(
  input: RecordInput,
  ctx: MappingContext,
  op: UserOperation,
  timeFree: boolean,
): GravityEvent | Rejection {
  const rule = valueRuleOf(op);
  const properties: GravityProperties = {};
  if (rule !== 'none') {
    if (input.keyList !== undefined && rule === 'key-only') {
      const problem = collectKeyList(input.keyList, properties);
      if (problem !== undefined) return problem;
    }
    const problem = collectProperties(input.sources, properties, ctx.strict, rule, false);
    if (problem !== undefined) return problem;
    if (rule === 'key-only' && Object.keys(properties).length === 0) {
      return reject('invalid_operation_value', 'properties', 'unset names no property to unset');
    }
  }
  return { type: 'profile', event: toProfileEventName(op), time: input.timeMillis, time_free: timeFree, properties };
}

function collectKeyList(keys: readonly unknown[], into: GravityProperties): Rejection | undefined {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key !== 'string') {
      return reject('invalid_key', `body[${i}]`, `unset takes property names, got ${describeType(key)}`);
    }
    const gravityKey = toGravityKey(key);
    if (!isValidGravityKey(gravityKey)) {
      return reject('invalid_key', `body[${i}]`, `${JSON.stringify(key)} does not fit ${GRAVITY_KEY_PATTERN}`);
    }
    into[gravityKey] = 0;
  }
  return undefined;
}

/**
 * Copies the sources' properties into `into`: `ge.*` skipped, dotted keys converted (a key written
 * exactly wins over a converted one of the same source), values checked against the operation.
 */
function collectProperties(
  sources: readonly PropertySource[],
  into: GravityProperties,
  strict: boolean,
  rule: 'any' | 'number' | 'array' | 'key-only',
  isTrack: boolean,
): Rejection | undefined {
  for (const source of sources) {
    if (source === undefined) continue;
    for (const key in source) {
      if (!Object.prototype.hasOwnProperty.call(source, key) || key.startsWith(GE_ATTRIBUTE_PREFIX)) continue;
      const gravityKey = toGravityKey(key);
      if (gravityKey !== key && Object.prototype.hasOwnProperty.call(source, gravityKey)) continue;
      if (!isValidGravityKey(gravityKey)) {
        return reject('invalid_key', key, `property key ${JSON.stringify(key)} does not fit ${GRAVITY_KEY_PATTERN}`);
      }
      if (isTrack && SDK_METADATA_KEYS.has(gravityKey)) continue;
      const raw = source[key];
      if (rule === 'key-only') {
        into[gravityKey] = 0;
        continue;
      }
      const value = normaliseValue(raw, strict);
      if (value === INVALID_VALUE) {
        const checked = toGravityValue(raw, key, strict);
        const problem = checked.ok ? { path: key, problem: 'cannot be sent as JSON' } : checked.problem;
        return reject('invalid_value', problem.path, problem.problem);
      }
      if (value === undefined) continue;
      if (rule === 'number' && typeof value !== 'number') {
        return reject('invalid_operation_value', key, `this operation needs a number, got ${describeType(raw)}`);
      }
      if (rule === 'array' && !Array.isArray(value)) {
        return reject('invalid_operation_value', key, `this operation needs an array, got ${describeType(raw)}`);
      }
      into[gravityKey] = value;
    }
  }
  return undefined;
}
