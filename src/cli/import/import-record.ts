/**
 * One line of an import file → one facade call. The line shape is Gravity's own `event_list` item plus the
 * client id (so an export of Gravity data imports as is), or the facade's vocabulary with `op`:
 *
 * ```json
 * {"client_id":"u1","type":"track","event":"buy","time":1700000000000,"properties":{"amount":3}}
 * {"client_id":"u1","type":"profile","event":"profile_set","time":"2024-01-02T03:04:05Z","properties":{"plan":"pro"}}
 * {"client_id":"u1","op":"increment","time":1700000000000,"properties":{"coins":5}}
 * ```
 * `time` (required): epoch milliseconds or an ISO 8601 string. `time_free` defaults to `true` (history).
 * Optional `client_ip`, `client_ua`. `unset` takes a list of names or an object whose keys are the names.
 */
import { GravityValidationError } from '../../common/errors.js';
import type { AnalyticsProperties, GravityAnalytics, GravityEventOptions } from '../../facade/gravity-analytics.js';
import { isPropertyMap } from '../../mapping/eager-check.js';
import { isInTimeWindow, isProfileEventName, SDK_METADATA_KEYS } from '../../mapping/rules.js';
import { isUserOperation, toProfileEventName, USER_OPERATIONS } from '../../mapping/user-operation.js';
import type { UserOperation } from '../../mapping/user-operation.js';
import { describeType } from '../../mapping/values.js';

const OPERATION_BY_PROFILE_EVENT: ReadonlyMap<string, UserOperation> = new Map(
  USER_OPERATIONS.map((op) => [toProfileEventName(op), op] as const),
);

/** A date, or a date and time with an optional fraction and zone (`2024-05-01`, `2024-05-01T08:00:00.5+08:00`). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** The largest time a `Date` holds: a larger number is a unit mistake (micro- or nanoseconds). */
const MAX_DATE_MILLIS = 8.64e15;

function invalidRecord(field: string, problem: string): GravityValidationError {
  return new GravityValidationError(`${field}: ${problem}`, field, 'invalid_record');
}

function operationOf(line: Record<string, unknown>): UserOperation | 'track' {
  const { op, type, event } = line;
  if (op !== undefined) {
    if (op === 'track' || isUserOperation(op)) return op;
    throw invalidRecord('op', `unknown operation ${JSON.stringify(op)}; expected track, ${USER_OPERATIONS.join(', ')}`);
  }
  if (type === 'track') return 'track';
  if (type === 'profile') {
    if (typeof event === 'string' && isProfileEventName(event)) return OPERATION_BY_PROFILE_EVENT.get(event)!;
    throw invalidRecord('event', `${JSON.stringify(event)} is not a profile operation (profile_set, profile_increment, ...)`);
  }
  throw invalidRecord('type', `expected "track" or "profile" (or an "op"), got ${JSON.stringify(type) ?? 'nothing'}`);
}

function eventOptions(line: Record<string, unknown>): GravityEventOptions {
  const { time, time_free: timeFree, client_ip: clientIp, client_ua: clientUa } = line;
  let millis: number;
  if (typeof time === 'number') millis = time;
  // V8's Date.parse takes "12" or "user 7" for dates: only ISO 8601 is read.
  else if (typeof time === 'string' && time.trim() !== '') millis = ISO_8601.test(time.trim()) ? Date.parse(time.trim()) : Number.NaN;
  else throw invalidRecord('time', `expected epoch milliseconds or an ISO 8601 string, got ${describeType(time)}`);
  if (!Number.isFinite(millis) || millis < 0 || millis > MAX_DATE_MILLIS) {
    throw invalidRecord('time', `${JSON.stringify(time)} is not a date (epoch milliseconds or ISO 8601)`);
  }
  if (timeFree !== undefined && typeof timeFree !== 'boolean') {
    throw invalidRecord('time_free', `expected a boolean, got ${describeType(timeFree)}`);
  }
  // The service refuses a whole request for one record outside its window: refuse the line here instead.
  if (timeFree === false && !isInTimeWindow(millis, Date.now())) {
    throw new GravityValidationError(
      `time: ${new Date(millis).toISOString()} is outside the service's window (10 days back, 1 hour ahead) and time_free is false`,
      'time',
      'out_of_time_window',
    );
  }
  const options: GravityEventOptions = { time: millis, timeFree: timeFree ?? true };
  if (clientIp !== undefined) options.clientIp = clientIp as string;
  if (clientUa !== undefined) options.clientUa = clientUa as string;
  return options;
}

/**
 * Gravity's own data carries `$lib`/`$lib_version` (the PHP SDK puts them on profile records too): they name
 * the SDK that sent it, not properties; the exporter adds its own to track records.
 */
function withoutSdkMetadata(properties: unknown): unknown {
  if (!isPropertyMap(properties) || !Object.keys(properties).some((key) => SDK_METADATA_KEYS.has(key))) return properties;
  return Object.fromEntries(Object.entries(properties).filter(([key]) => !SDK_METADATA_KEYS.has(key)));
}

/**
 * Parses one line and hands it to the facade.
 * @throws {GravityValidationError} when the line is not JSON (`invalid_json`), has the wrong shape
 * (`invalid_record`), or the facade refuses it (the mapping's reason code).
 */
export function importLine(ge: GravityAnalytics, text: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GravityValidationError(`not JSON: ${error instanceof Error ? error.message : String(error)}`, 'line', 'invalid_json');
  }
  if (!isPropertyMap(parsed)) throw invalidRecord('line', `expected a JSON object, got ${describeType(parsed)}`);
  const line = parsed as Record<string, unknown>;
  const op = operationOf(line);
  const options = eventOptions(line);
  const clientId = line['client_id'] as string;
  const properties = withoutSdkMetadata(line['properties'] ?? {}) as AnalyticsProperties;
  switch (op) {
    case 'track':
      return ge.track(clientId, line['event'] as string, properties, options);
    case 'set':
      return ge.userSet(clientId, properties, options);
    case 'set_once':
      return ge.userSetOnce(clientId, properties, options);
    case 'increment':
      return ge.userIncrement(clientId, properties as Record<string, number>, options);
    case 'max':
      return ge.userMax(clientId, properties as Record<string, number>, options);
    case 'min':
      return ge.userMin(clientId, properties as Record<string, number>, options);
    case 'append':
      return ge.userAppend(clientId, properties as Record<string, never[]>, options);
    case 'uniq_append':
      return ge.userUniqAppend(clientId, properties as Record<string, never[]>, options);
    case 'unset':
      return ge.userUnset(
        clientId,
        (Array.isArray(properties) ? properties : isPropertyMap(properties) ? Object.keys(properties) : properties) as string[],
        options,
      );
    case 'delete':
      return ge.userDelete(clientId, options);
    default: {
      const unreachable: never = op;
      return unreachable;
    }
  }
}
