/**
 * One line of an import file → one Gravity record, through the exporters' own mapping (`mapRecord`), so the
 * payload is the one the exporters send for the same record. The line shape is Gravity's own `event_list`
 * item plus the client id (so an export of Gravity data imports as is), or the facade's vocabulary with `op`:
 *
 * ```json
 * {"client_id":"u1","type":"track","event":"buy","time":1700000000000,"properties":{"amount":3}}
 * {"client_id":"u1","type":"profile","event":"profile_set","time":"2024-01-02T03:04:05Z","properties":{"plan":"pro"}}
 * {"client_id":"u1","op":"increment","time":1700000000000,"properties":{"coins":5}}
 * ```
 * `time` (required): epoch milliseconds or an ISO 8601 string. `time_free` defaults to `true` (history).
 * Optional `client_ip`, `client_ua`. `unset` takes a list of names or an object whose keys are the names.
 * A refused line is described in the file's terms: its fields (`client_id`, `event`, `properties.price`).
 */
import {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_TIME_FREE,
  ATTR_GE_USER_OP,
  GE_ATTRIBUTE_PREFIX,
} from '../../mapping/attributes.js';
import { isPropertyMap } from '../../mapping/eager-check.js';
import { mapRecord } from '../../mapping/map-record.js';
import type { GravityRecord, MappingContext, PropertySource, Rejection } from '../../mapping/map-record.js';
import { isInTimeWindow, isProfileEventName, SDK_METADATA_KEYS } from '../../mapping/rules.js';
import { isUserOperation, toProfileEventName, USER_OPERATIONS } from '../../mapping/user-operation.js';
import type { UserOperation } from '../../mapping/user-operation.js';
import { describeType } from '../../mapping/values.js';

/** A line that cannot be sent: a reason code and a message that starts with the field it names. */
export interface LineRejection {
  readonly ok: false;
  /** `invalid_json`, `invalid_record`, or the mapping's reason code (`invalid_key`, ...). */
  readonly reason: string;
  readonly message: string;
}

export type LineResult = { readonly ok: true; readonly value: GravityRecord } | LineRejection;

const OPERATION_BY_PROFILE_EVENT: ReadonlyMap<string, UserOperation> = new Map(
  USER_OPERATIONS.map((op) => [toProfileEventName(op), op] as const),
);

/** A date, or a date and time with an optional fraction and zone (`2024-05-01`, `2024-05-01T08:00:00.5+08:00`). */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** The largest time a `Date` holds: a larger number is a unit mistake (micro- or nanoseconds). */
const MAX_DATE_MILLIS = 8.64e15;

/** The line's name for each field the mapping reports by its `ge.*` attribute. */
const LINE_FIELDS: ReadonlyMap<string, string> = new Map([
  [ATTR_GE_CLIENT_ID, 'client_id'],
  [ATTR_GE_EVENT_NAME, 'event'],
  ['event name', 'event'],
  [ATTR_GE_USER_OP, 'op'],
  [ATTR_GE_TIME_FREE, 'time_free'],
  [ATTR_GE_CLIENT_IP, 'client_ip'],
  [ATTR_GE_CLIENT_UA, 'client_ua'],
  ['time', 'time'],
  ['properties', 'properties'],
  ['record', 'line'],
]);

/** A refusal about `field` of the line; `line` for the line as a whole (the message is then the problem alone). */
function refuse(reason: string, field: string, problem: string): LineRejection {
  return { ok: false, reason, message: field === 'line' ? problem : `${field}: ${problem}` };
}

/** The mapping's reason codes in the line's terms: a line's fields are not OTel attributes. */
const LINE_REASONS: ReadonlyMap<string, string> = new Map([['invalid_ge_attribute', 'invalid_field']]);

function invalidRecord(field: string, problem: string): LineRejection {
  return refuse('invalid_record', field, problem);
}

/** The field of the line a mapping rejection is about: `client_id`, `properties.price`, `properties[1]`... */
function lineField(field: string): string {
  const known = LINE_FIELDS.get(field);
  if (known !== undefined) return known;
  const listIndex = /^body\[(\d+)\]$/.exec(field);
  if (listIndex !== null) return `properties[${listIndex[1]}]`;
  return `properties.${field}`;
}

/** A mapping rejection in the line's terms (the mapping names `ge.*` attributes the line never had). */
export function toLineRejection(rejection: Rejection): LineRejection {
  const problem = rejection.reason.startsWith(`${rejection.field}: `) ? rejection.reason.slice(rejection.field.length + 2) : rejection.reason;
  return refuse(LINE_REASONS.get(rejection.code) ?? rejection.code, lineField(rejection.field), problem);
}

function operationOf(line: Record<string, unknown>): UserOperation | 'track' | LineRejection {
  const { op, type, event } = line;
  if (op !== undefined) {
    if (op === 'track' || isUserOperation(op)) return op;
    return invalidRecord('op', `unknown operation ${JSON.stringify(op)}; expected track, ${USER_OPERATIONS.join(', ')}`);
  }
  if (type === 'track') return 'track';
  if (type === 'profile') {
    if (typeof event === 'string' && isProfileEventName(event)) return OPERATION_BY_PROFILE_EVENT.get(event)!;
    return invalidRecord('event', `${JSON.stringify(event) ?? 'nothing'} is not a profile operation (profile_set, profile_increment, ...)`);
  }
  return invalidRecord('type', `expected "track" or "profile" (or an "op"), got ${JSON.stringify(type) ?? 'nothing'}`);
}

/** The line's time in epoch milliseconds, or why it is not one. */
function timeOf(line: Record<string, unknown>): number | LineRejection {
  const { time, time_free: timeFree } = line;
  let millis: number;
  if (typeof time === 'number') millis = time;
  // V8's Date.parse takes "12" or "user 7" for dates: only ISO 8601 is read.
  else if (typeof time === 'string' && time.trim() !== '') millis = ISO_8601.test(time.trim()) ? Date.parse(time.trim()) : Number.NaN;
  else return invalidRecord('time', `expected epoch milliseconds or an ISO 8601 string, got ${time === undefined ? 'nothing' : describeType(time)}`);
  if (!Number.isFinite(millis) || millis < 0 || millis > MAX_DATE_MILLIS) {
    return invalidRecord('time', `${JSON.stringify(time)} is not a date (epoch milliseconds or ISO 8601)`);
  }
  if (timeFree !== undefined && typeof timeFree !== 'boolean') {
    return invalidRecord('time_free', `expected true or false, got ${describeType(timeFree)}`);
  }
  // The service refuses a whole request for one record outside its window: refuse the line here instead.
  if (timeFree === false && !isInTimeWindow(millis, Date.now())) {
    return refuse(
      'out_of_time_window',
      'time',
      `${new Date(millis).toISOString()} is outside the service's window (10 days back, 1 hour ahead) and time_free is false`,
    );
  }
  return Math.floor(millis);
}

/**
 * Gravity's own data carries `$lib`/`$lib_version` (the PHP SDK puts them on profile records too): they name
 * the SDK that sent it, not properties; the exporter adds its own to track records.
 */
function withoutSdkMetadata(properties: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  if (!Object.keys(properties).some((key) => SDK_METADATA_KEYS.has(key))) return properties;
  return Object.fromEntries(Object.entries(properties).filter(([key]) => !SDK_METADATA_KEYS.has(key)));
}

/** The mapping's input for the line's properties: sources, or for `unset` a list of names. */
function propertiesOf(
  line: Record<string, unknown>,
  op: UserOperation | 'track',
): { sources: readonly PropertySource[]; keyList?: readonly unknown[] } | LineRejection {
  const properties = line['properties'];
  if (op === 'delete' || properties === undefined || properties === null) return { sources: [] };
  if (op === 'unset' && Array.isArray(properties)) return { sources: [], keyList: properties };
  if (!isPropertyMap(properties)) {
    return invalidRecord('properties', `expected an object${op === 'unset' ? ' or a list of names' : ''}, got ${describeType(properties)}`);
  }
  // The mapping leaves `ge.*` keys out of properties (they steer it on OTel records): a line's key is its data.
  for (const key of Object.keys(properties)) {
    if (key.startsWith(GE_ATTRIBUTE_PREFIX)) {
      return refuse('invalid_key', `properties.${key}`, `a property key cannot start with "${GE_ATTRIBUTE_PREFIX}" (reserved)`);
    }
  }
  return { sources: [withoutSdkMetadata(properties)] };
}

/**
 * Parses and maps one line. Never throws: a line that cannot be sent comes back as a {@link LineRejection}
 * (`invalid_json`, `invalid_record`, `out_of_time_window`, or the mapping's reason code).
 */
export function mapImportLine(text: string, context: MappingContext): LineResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return refuse('invalid_json', 'line', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isPropertyMap(parsed)) return invalidRecord('line', `expected a JSON object, got ${describeType(parsed)}`);
  const line = parsed as Record<string, unknown>;
  const clientId = line['client_id'];
  if (clientId === undefined || clientId === null) return refuse('missing_client_id', 'client_id', 'missing');
  const op = operationOf(line);
  if (typeof op === 'object') return op;
  const event = line['event'];
  if (op === 'track' && (event === undefined || event === null || event === '')) {
    return refuse('missing_event_name', 'event', 'missing (a track line names its event)');
  }
  const timeMillis = timeOf(line);
  if (typeof timeMillis === 'object') return timeMillis;
  const properties = propertiesOf(line, op);
  if ('ok' in properties) return properties;
  const attributes: Readonly<Record<string, unknown>> = {
    [ATTR_GE_CLIENT_ID]: clientId,
    [ATTR_GE_USER_OP]: op === 'track' ? undefined : op,
    [ATTR_GE_EVENT_NAME]: op === 'track' ? event : undefined,
    [ATTR_GE_TIME_FREE]: line['time_free'] ?? true,
    [ATTR_GE_CLIENT_IP]: line['client_ip'],
    [ATTR_GE_CLIENT_UA]: line['client_ua'],
  };
  const result = mapRecord(
    { ge: (key) => attributes[key], sources: properties.sources, keyList: properties.keyList, defaultEventName: undefined, timeMillis },
    context,
  );
  return result.ok ? result : toLineRejection(result);
}
