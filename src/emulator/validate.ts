/**
 * Validation of a decoded collect request, the way Gravity documents its rules
 * (the request body, record types, property keys and values, and strict mode).
 * Pure: it returns every error it finds, each naming its path; an empty list means valid.
 */
import {
  ARRAY_PROFILE_EVENTS,
  GRAVITY_KEY_PATTERN,
  MAX_LIST_LENGTH,
  MAX_STRING_VALUE_BYTES,
  NUMERIC_PROFILE_EVENTS,
  PROFILE_EVENT_NAMES,
  SDK_METADATA_KEYS,
  TIME_WINDOW_FUTURE_MILLIS,
  TIME_WINDOW_PAST_MILLIS,
  isInTimeWindow,
  isProfileEventName,
} from '../mapping/rules.js';
import { isValidGravityKey } from '../mapping/keys.js';

/** What the validator needs to know besides the body. */
export interface ValidationContext {
  /** Server clock, epoch milliseconds, for the time window. */
  nowMillis: number;
  /** Apply the strict-mode checks too. */
  strict: boolean;
  /** Request headers with lower-case names (used by the strict checks). */
  headers: Readonly<Record<string, string>>;
}

type JsonObject = Record<string, unknown>;

/**
 * Validate a parsed collect body. Returns all errors as `path: problem` strings, e.g.
 * `event_list[2].properties.coins: profile_increment needs a number, got string`; `[]` when valid.
 */
export function validateCollectRequest(body: unknown, context: ValidationContext): string[] {
  const errors: string[] = [];
  if (!isJsonObject(body)) {
    errors.push(`body: expected a JSON object, got ${describeType(body)}`);
    return errors;
  }
  checkTopLevel(body, errors);
  const eventList = body['event_list'];
  if (Array.isArray(eventList)) {
    eventList.forEach((item, index) => checkRecord(item, `event_list[${index}]`, context, errors));
  }
  if (context.strict) checkStrictRequest(body, context, errors);
  return errors;
}

function checkTopLevel(body: JsonObject, errors: string[]): void {
  const clientId = body['client_id'];
  if (clientId === undefined) errors.push('client_id: required');
  else if (typeof clientId !== 'string' || clientId === '') {
    errors.push(`client_id: expected a non-empty string, got ${describeValue(clientId)}`);
  }
  for (const name of ['client_ip', 'client_ua']) {
    const value = body[name];
    if (value !== undefined && typeof value !== 'string') {
      errors.push(`${name}: expected a string, got ${describeType(value)}`);
    }
  }
  const eventList = body['event_list'];
  if (eventList === undefined) errors.push('event_list: required');
  else if (!Array.isArray(eventList)) errors.push(`event_list: expected an array, got ${describeType(eventList)}`);
  else if (eventList.length === 0) errors.push('event_list: must hold at least one record');
}

function checkRecord(item: unknown, path: string, context: ValidationContext, errors: string[]): void {
  if (!isJsonObject(item)) {
    errors.push(`${path}: expected an object, got ${describeType(item)}`);
    return;
  }
  const type = item['type'];
  const event = item['event'];
  if (type !== 'track' && type !== 'profile') {
    errors.push(`${path}.type: expected "track" or "profile", got ${describeValue(type)}`);
  }
  if (typeof event !== 'string') {
    errors.push(`${path}.event: expected a string, got ${describeType(event)}`);
  } else if (type === 'track' && !isValidGravityKey(event)) {
    errors.push(`${path}.event: ${JSON.stringify(event)} does not match the key rule ${GRAVITY_KEY_PATTERN.source}`);
  } else if (type === 'profile' && !isProfileEventName(event)) {
    errors.push(
      `${path}.event: unknown profile operation ${JSON.stringify(event)}, expected one of ${PROFILE_EVENT_NAMES.join(', ')}`,
    );
  }
  const timeFree = item['time_free'];
  if (timeFree !== undefined && typeof timeFree !== 'boolean') {
    errors.push(`${path}.time_free: expected a boolean, got ${describeType(timeFree)}`);
  }
  checkTime(item['time'], timeFree === true, `${path}.time`, context.nowMillis, errors);
  const properties = item['properties'];
  if (!isJsonObject(properties)) {
    errors.push(`${path}.properties: expected an object, got ${describeType(properties)}`);
    return;
  }
  const operation = type === 'profile' && typeof event === 'string' ? event : undefined;
  // profile_delete's properties mean nothing to the service; the official SDKs send {}, {"":""} (Go) or $lib (PHP).
  if (operation !== 'profile_delete' || context.strict) checkProperties(properties, operation, `${path}.properties`, errors);
  if (context.strict) checkStrictRecord(properties, type, `${path}.properties`, errors);
}

function checkTime(time: unknown, timeFree: boolean, path: string, nowMillis: number, errors: string[]): void {
  if (typeof time !== 'number' || !Number.isInteger(time)) {
    errors.push(`${path}: expected an integer (epoch milliseconds), got ${describeValue(time)}`);
    return;
  }
  if (timeFree) return;
  // The service's time window: accepted from 10 days before to 1 hour after server time, unless time_free.
  if (!isInTimeWindow(time, nowMillis)) {
    const earliest = nowMillis - TIME_WINDOW_PAST_MILLIS;
    const latest = nowMillis + TIME_WINDOW_FUTURE_MILLIS;
    errors.push(
      `${path}: ${time} is outside the accepted window [${earliest}, ${latest}] ` +
        '(10 days before to 1 hour after server time); set time_free: true to import history',
    );
  }
}

function checkProperties(properties: JsonObject, operation: string | undefined, path: string, errors: string[]): void {
  for (const [key, value] of Object.entries(properties)) {
    const keyPath = propertyPath(path, key);
    if (!isValidGravityKey(key)) {
      errors.push(`${keyPath}: key does not match the key rule ${GRAVITY_KEY_PATTERN.source}`);
    }
    // $lib/$lib_version are SDK metadata, not operands (PHP adds them to every profile record).
    if (operation === undefined || SDK_METADATA_KEYS.has(key)) continue;
    if (NUMERIC_PROFILE_EVENTS.has(operation) && (typeof value !== 'number' || !Number.isFinite(value))) {
      const actual = typeof value === 'number' ? `non-finite number ${value}` : describeType(value);
      errors.push(`${keyPath}: ${operation} needs a number, got ${actual}`);
    }
    if (ARRAY_PROFILE_EVENTS.has(operation) && !Array.isArray(value)) {
      errors.push(`${keyPath}: ${operation} needs an array, got ${describeType(value)}`);
    }
  }
}

function checkStrictRequest(body: JsonObject, context: ValidationContext, errors: string[]): void {
  const contentType = context.headers['content-type'];
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    errors.push(
      `headers.content-type: strict mode expects application/json, got ${contentType === undefined ? 'none' : JSON.stringify(contentType)}`,
    );
  }
  const eventList = body['event_list'];
  const recordCount = Array.isArray(eventList) ? eventList.length : 0;
  const integrationCount = context.headers['ge-integration-count'];
  if (integrationCount !== undefined && integrationCount.trim() !== String(recordCount)) {
    errors.push(
      `headers.ge-integration-count: ${JSON.stringify(integrationCount)} does not equal the record count ${recordCount}`,
    );
  }
  if (context.headers['turbo-debug-mode'] === '1' && recordCount !== 1) {
    errors.push(`event_list: a debug request (Turbo-Debug-Mode: 1) carries exactly one record, got ${recordCount}`);
  }
}

function checkStrictRecord(properties: JsonObject, type: unknown, path: string, errors: string[]): void {
  if (type === 'profile') {
    // Only PHP puts the SDK markers on profile records.
    for (const key of SDK_METADATA_KEYS) {
      if (key in properties) errors.push(`${propertyPath(path, key)}: not allowed on profile records`);
    }
  }
  for (const [key, value] of Object.entries(properties)) checkValueLimits(value, propertyPath(path, key), errors);
}

/** String and list limits apply at any depth, as the service applies them. */
function checkValueLimits(value: unknown, path: string, errors: string[]): void {
  if (typeof value === 'string') {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_STRING_VALUE_BYTES) {
      errors.push(`${path}: string of ${bytes} UTF-8 bytes exceeds ${MAX_STRING_VALUE_BYTES}`);
    }
  } else if (Array.isArray(value)) {
    if (value.length > MAX_LIST_LENGTH) {
      errors.push(`${path}: list of ${value.length} elements exceeds ${MAX_LIST_LENGTH}`);
    }
    value.forEach((element, index) => checkValueLimits(element, `${path}[${index}]`, errors));
  } else if (isJsonObject(value)) {
    for (const [key, nested] of Object.entries(value)) checkValueLimits(nested, propertyPath(path, key), errors);
  }
}

/** `a.b` for plain keys, `a["b-c"]` for keys that would make the path ambiguous. */
function propertyPath(path: string, key: string): string {
  return /^[A-Za-z$_][A-Za-z0-9$_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The type, plus the value itself for short scalars (`number 1.5`, `string "x"`). */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'string' && value.length <= 40) return `string ${JSON.stringify(value)}`;
  return describeType(value);
}
