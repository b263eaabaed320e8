/**
 * `GravityAnalytics`: the official SDKs' method set (track, user_set, ... user_del) on the OTel Logs API.
 * It emits ordinary log records that follow the `ge.*` contract, so they flow through whatever log
 * processors are registered (Gravity's exporter, OTLP, console...).
 */
import {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_TIME_FREE,
  ATTR_GE_USER_OP,
} from '../mapping/attributes.js';
import { createLogger } from '../common/diag.js';
import { configurationError } from '../common/errors.js';
import { mapRecord, toGravityKey } from '../mapping/map-record.js';
import type { PropertySource } from '../mapping/map-record.js';
import { isValidGravityKey } from '../mapping/keys.js';
import { valueRuleOf } from '../mapping/user-operation.js';
import type { OperationValueRule, UserOperation } from '../mapping/user-operation.js';
import { normaliseValue, resetWalked, snapshotValue, walkedJsonBytesBound } from '../mapping/values.js';
import type { GravityProperties } from '../mapping/wire-types.js';
import { checkTrackProperties, EAGER_MAPPING_CONTEXT, isPropertyMap } from '../mapping/eager-check.js';
import { registeredGlobalLoggerProvider } from './otel-logs.js';
import type { AnyValue, AnyValueMap, Logger, LoggerProvider } from './otel-logs.js';
import { invalidArgument, toValidationError } from './validate.js';
import { checkRecordSize, sureFitBudget } from './record-size.js';

/** Name of the logger the facade emits through (when no `logger` is given). */
export const GRAVITY_ANALYTICS_LOGGER_NAME = 'gravity-otel-exporter';

/** A property value: JSON values, and `Date` (sent as `YYYY-MM-DD HH:mm:ss.SSS`, local time) at any depth. */
export type AnalyticsValue =
  | string
  | number
  | boolean
  | null
  | Date
  | readonly AnalyticsValue[]
  | { readonly [key: string]: AnalyticsValue | undefined };

/** Properties of a track event or user operation. Keys: `^[A-Za-z$][A-Za-z0-9_]{0,49}$`, dots become `_`. */
export type AnalyticsProperties = { readonly [key: string]: AnalyticsValue | undefined };

/** Options of `GravityAnalytics`. */
export interface GravityAnalyticsOptions {
  /**
   * Logger to emit through. `flush()`/`close()` then act on `loggerProvider` if given, and do nothing otherwise.
   * @default a logger of the global provider (`logs.getLogger('gravity-otel-exporter')`), see `loggerProvider`
   */
  logger?: Logger;
  /**
   * Provider to take the logger from, and to flush (`forceFlush`) and close (`shutdown`).
   * @default the global logger provider, registered through `@opentelemetry/api`'s `logs` (OpenTelemetry JS
   * 3.x, e.g. by NodeSDK) or `@opentelemetry/api-logs` (2.x), also when registered after construction. While
   * none is, calls are validated and dropped, and the first one says so once (`diag`, and stderr by default).
   */
  loggerProvider?: LoggerProvider;
  /** Initial static super properties (see `setSuperProperties`). */
  superProperties?: AnalyticsProperties;
  /**
   * Called on every `track` call; its properties win over the static super properties, the call's own
   * properties win over both. Not applied to user operations. If it throws, `track` throws.
   */
  dynamicSuperProperties?: () => AnalyticsProperties;
}

/** Per-call options of every method. */
export interface GravityEventOptions {
  /**
   * Event time: a `Date` or epoch milliseconds. Without `timeFree`, Gravity stores only events from 10 days
   * back to 1 hour ahead. @default now
   */
  time?: Date | number;
  /** `true` for historical imports: lifts the service's time window (`ge.time_free`). @default false */
  timeFree?: boolean;
  /** Sent as the request's `client_ip` (`ge.client_ip`); the service uses it as `$ip`. */
  clientIp?: string;
  /** Sent as the request's `client_ua` (`ge.client_ua`); the service uses it as `$ua`. */
  clientUa?: string;
}

type FlushableProvider = LoggerProvider & { forceFlush?: () => Promise<unknown>; shutdown?: () => Promise<unknown> };

const EMPTY_SOURCES: readonly PropertySource[] = Object.freeze([]);

/**
 * Typed analytics facade over the OTel Logs API, with the method set of Gravity's official SDKs.
 * Every method validates eagerly and throws `GravityValidationError` on misuse (empty client id, bad key,
 * non-numeric increment, non-array append, NaN/Infinity, a record too large for one request of the exporter's
 * default `maxBatchBytes`...); nothing is emitted then. Valid calls emit one
 * log record each: `ge.*` attributes, the properties in the body (`Date` values already formatted), and the
 * event time as the record's timestamp.
 *
 * @example
 * ```ts
 * const ge = new GravityAnalytics();          // the global logger provider
 * ge.track('user-42', 'purchase', { amount: 30, item: 'sword' });
 * ge.userIncrement('user-42', { total_revenue: 30 });
 * await ge.flush();
 * ```
 */
export class GravityAnalytics {
  /** `undefined` until a global provider is registered, when the facade uses the global one. */
  private _logger: Logger | undefined;
  private readonly _provider: FlushableProvider | undefined;
  private readonly _usesGlobalProvider: boolean;
  private readonly _dynamicSuperProperties: (() => AnalyticsProperties) | undefined;
  private _superProperties: AnalyticsProperties | undefined;

  /** @throws {TypeError} for an option of the wrong type; {@link GravityValidationError} for bad super properties. */
  constructor(options: GravityAnalyticsOptions = {}) {
    const { logger, loggerProvider, dynamicSuperProperties, superProperties } = options;
    if (logger !== undefined && typeof (logger as Partial<Logger>).emit !== 'function') {
      throw configurationError('type', 'logger', 'an OTel Logger', 'no emit method');
    }
    if (loggerProvider !== undefined && typeof (loggerProvider as Partial<LoggerProvider>).getLogger !== 'function') {
      throw configurationError('type', 'loggerProvider', 'an OTel LoggerProvider', 'no getLogger method');
    }
    if (dynamicSuperProperties !== undefined && typeof dynamicSuperProperties !== 'function') {
      throw configurationError('type', 'dynamicSuperProperties', 'a function', typeof dynamicSuperProperties);
    }
    this._provider = loggerProvider as FlushableProvider | undefined;
    this._usesGlobalProvider = logger === undefined && loggerProvider === undefined;
    this._logger = logger ?? (loggerProvider ?? registeredGlobalLoggerProvider())?.getLogger(GRAVITY_ANALYTICS_LOGGER_NAME);
    this._dynamicSuperProperties = dynamicSuperProperties;
    if (superProperties !== undefined) this.setSuperProperties(superProperties);
  }

  /**
   * Records a track event. Super properties are added (the call's properties win).
   * @throws {GravityValidationError} on an invalid client id, event name, key or value.
   */
  track(clientId: string, eventName: string, properties?: AnalyticsProperties, options?: GravityEventOptions): void {
    if (properties !== undefined && !isPropertyMap(properties)) {
      throw invalidArgument('track', 'properties', 'an object', properties);
    }
    let dynamic: unknown;
    if (this._dynamicSuperProperties !== undefined) {
      dynamic = this._dynamicSuperProperties();
      if (dynamic !== undefined && !isPropertyMap(dynamic)) {
        throw invalidArgument('track', 'dynamicSuperProperties()', 'an object', dynamic);
      }
    }
    const sources: PropertySource[] = [];
    if (this._superProperties !== undefined) sources.push(this._superProperties);
    if (dynamic !== undefined) sources.push(dynamic as PropertySource);
    if (properties !== undefined) sources.push(properties);
    this._emit('track', undefined, clientId, eventName, sources, undefined, options);
  }

  /** `profile_set`: sets the user's properties. @throws {GravityValidationError} */
  userSet(clientId: string, properties: AnalyticsProperties, options?: GravityEventOptions): void {
    this._emitOperation('userSet', 'set', clientId, properties, options);
  }

  /** `profile_set_once`: sets the properties the user does not have yet. @throws {GravityValidationError} */
  userSetOnce(clientId: string, properties: AnalyticsProperties, options?: GravityEventOptions): void {
    this._emitOperation('userSetOnce', 'set_once', clientId, properties, options);
  }

  /** `profile_increment`: adds numbers (negative subtracts). @throws {GravityValidationError} on a non-number. */
  userIncrement(clientId: string, properties: { readonly [key: string]: number }, options?: GravityEventOptions): void {
    this._emitOperation('userIncrement', 'increment', clientId, properties, options);
  }

  /** `profile_number_max`: keeps the larger number. @throws {GravityValidationError} on a non-number. */
  userMax(clientId: string, properties: { readonly [key: string]: number }, options?: GravityEventOptions): void {
    this._emitOperation('userMax', 'max', clientId, properties, options);
  }

  /** `profile_number_min`: keeps the smaller number. @throws {GravityValidationError} on a non-number. */
  userMin(clientId: string, properties: { readonly [key: string]: number }, options?: GravityEventOptions): void {
    this._emitOperation('userMin', 'min', clientId, properties, options);
  }

  /** `profile_append`: appends to list properties. @throws {GravityValidationError} on a non-array value. */
  userAppend(clientId: string, properties: { readonly [key: string]: readonly AnalyticsValue[] }, options?: GravityEventOptions): void {
    this._emitOperation('userAppend', 'append', clientId, properties, options);
  }

  /** `profile_uniq_append`: appends the values a list does not hold yet. @throws {GravityValidationError} */
  userUniqAppend(
    clientId: string,
    properties: { readonly [key: string]: readonly AnalyticsValue[] },
    options?: GravityEventOptions,
  ): void {
    this._emitOperation('userUniqAppend', 'uniq_append', clientId, properties, options);
  }

  /** `profile_unset`: resets the named properties (sent as `{key: 0}`). @throws {GravityValidationError} */
  userUnset(clientId: string, keys: readonly string[], options?: GravityEventOptions): void {
    if (!Array.isArray(keys)) throw invalidArgument('userUnset', 'keys', 'an array of property names', keys);
    this._emit('userUnset', 'unset', clientId, undefined, EMPTY_SOURCES, keys, options);
  }

  /** `profile_delete`: deletes the user (their past events stay). @throws {GravityValidationError} */
  userDelete(clientId: string, options?: GravityEventOptions): void {
    this._emit('userDelete', 'delete', clientId, undefined, EMPTY_SOURCES, undefined, options);
  }

  /**
   * Merges properties into the static super properties added to every track event.
   * @throws {GravityValidationError} on a bad key or value (the super properties stay as they were).
   */
  setSuperProperties(properties: AnalyticsProperties): void {
    if (!isPropertyMap(properties)) throw invalidArgument('setSuperProperties', 'properties', 'an object', properties);
    const rejection = checkTrackProperties(properties);
    if (rejection !== undefined) throw toValidationError('setSuperProperties', rejection);
    // Merged by Gravity key: a later `app.version` replaces an earlier `app_version` (both are sent as app_version).
    const replaced = new Set(Object.keys(properties).map(toGravityKey));
    const kept: Record<string, AnalyticsValue | undefined> = {};
    for (const [key, value] of Object.entries(this._superProperties ?? {})) if (!replaced.has(toGravityKey(key))) kept[key] = value;
    this._superProperties = Object.freeze({ ...kept, ...snapshotValue(properties) });
  }

  /** Removes every static super property. */
  clearSuperProperties(): void {
    this._superProperties = undefined;
  }

  /** The static super properties (a frozen copy). */
  getSuperProperties(): AnalyticsProperties {
    return this._superProperties ?? Object.freeze({});
  }

  /**
   * Force-flushes the logger provider (`loggerProvider`, else the global one), so everything emitted so far
   * has been exported when it resolves. A serverless handler awaits this before returning.
   */
  async flush(): Promise<void> {
    const provider = this._flushTarget();
    if (typeof provider?.forceFlush === 'function') await provider.forceFlush();
  }

  /** Shuts the logger provider down (flushing first, as the SDK's provider does). Later calls are dropped by it. */
  async close(): Promise<void> {
    const provider = this._flushTarget();
    if (typeof provider?.shutdown === 'function') await provider.shutdown();
  }

  private _flushTarget(): FlushableProvider | undefined {
    if (this._provider !== undefined) return this._provider;
    return this._usesGlobalProvider ? (registeredGlobalLoggerProvider() as FlushableProvider | undefined) : undefined;
  }

  /** The global provider's logger once one is registered; until then `undefined`, reported once. */
  private _globalLogger(): Logger | undefined {
    const provider = this._usesGlobalProvider ? registeredGlobalLoggerProvider() : undefined;
    if (provider === undefined) {
      reportNowhereToSend();
      return undefined;
    }
    this._logger = provider.getLogger(GRAVITY_ANALYTICS_LOGGER_NAME);
    return this._logger;
  }

  private _emitOperation(
    where: string,
    op: UserOperation,
    clientId: string,
    properties: unknown,
    options: GravityEventOptions | undefined,
  ): void {
    if (!isPropertyMap(properties)) throw invalidArgument(where, 'properties', 'an object', properties);
    this._emit(where, op, clientId, undefined, [properties], undefined, options);
  }

  /**
   * Builds the record's attributes and emits it. The common call (valid string ids and keys, JSON values, no
   * `Date`) is checked and copied in one pass without the mapping; anything else goes through the mapping
   * itself, which gives the same body for it and the error for a bad call.
   */
  private _emit(
    where: string,
    op: UserOperation | undefined,
    clientId: string,
    eventName: string | undefined,
    sources: readonly PropertySource[],
    keyList: readonly unknown[] | undefined,
    options: GravityEventOptions | undefined,
  ): void {
    const attributes: AnyValueMap = { [ATTR_GE_CLIENT_ID]: clientId };
    if (op !== undefined) attributes[ATTR_GE_USER_OP] = op;
    let timeMillis: number;
    if (options === undefined) {
      timeMillis = Date.now();
    } else {
      timeMillis = options.time === undefined ? Date.now() : toTimeMillis(where, options.time);
      if (options.timeFree !== undefined && options.timeFree !== false) attributes[ATTR_GE_TIME_FREE] = options.timeFree;
      if (options.clientIp !== undefined) attributes[ATTR_GE_CLIENT_IP] = options.clientIp;
      if (options.clientUa !== undefined) attributes[ATTR_GE_CLIENT_UA] = options.clientUa;
    }
    const fastBody = cleanBody(op, clientId, eventName, sources, options);
    if (fastBody !== NOT_CLEAN) {
      (this._logger ?? this._globalLogger())?.emit({
        eventName,
        timestamp: [Math.floor(timeMillis / 1000), (timeMillis % 1000) * 1e6],
        attributes,
        body: fastBody,
      });
      return;
    }
    const result = mapRecord(
      {
        ge: (key) => (key === ATTR_GE_EVENT_NAME ? eventName : attributes[key]),
        sources,
        keyList,
        defaultEventName: undefined,
        timeMillis,
      },
      EAGER_MAPPING_CONTEXT,
    );
    if (!result.ok) throw toValidationError(where, result);
    const tooLarge = checkRecordSize(where, result.value);
    if (tooLarge !== undefined) throw tooLarge;
    const event = result.value.event;
    let body: AnyValue;
    if (op === undefined) body = withoutLibProperties(event.properties);
    else if (op === 'unset') body = Object.keys(event.properties);
    else if (op === 'delete') body = undefined;
    else body = event.properties as AnyValueMap;
    (this._logger ?? this._globalLogger())?.emit({
      eventName: event.type === 'track' ? event.event : undefined,
      timestamp: [Math.floor(timeMillis / 1000), (timeMillis % 1000) * 1e6],
      attributes,
      body,
    });
  }
}

let reportedNowhereToSend = false;

/**
 * Says once per process that facade calls are dropped for want of a provider (through `diag`, and on stderr
 * while no diag logger is registered): without it, a setup that forgot to register one would lose every
 * event without a word.
 */
function reportNowhereToSend(): void {
  if (reportedNowhereToSend) return;
  reportedNowhereToSend = true;
  const message =
    'GravityAnalytics has nowhere to send: no logger or loggerProvider was given and no global OpenTelemetry ' +
    'logger provider is registered, so its records are dropped until one is (start NodeSDK or call ' +
    'logs.setGlobalLoggerProvider() first, or pass { loggerProvider })';
  createLogger('facade').report('facade_nowhere_to_send', message);
}

/** {@link cleanBody}'s answer when the call needs the mapping (to normalise a value, or to name an error). */
const NOT_CLEAN: unique symbol = Symbol('not clean');

/**
 * The body the mapping would produce for a call that needs no normalisation, or {@link NOT_CLEAN}. Clean means:
 * a non-blank client id; a track event name or property keys that are Gravity keys as written (no dot to
 * convert, no `ge.*`, no `$lib`/`$lib_version`); values the mapping would send unchanged (no `Date`, no
 * `undefined`, finite numbers), fitting the operation; and string / boolean `ge.*` options. Set, set-once,
 * numeric and append operations only: unset and delete always take the mapping. Clean also means the body
 * surely fits one request (bounded from what the checks walked); a larger one takes the mapping, which
 * measures it exactly.
 */
function cleanBody(
  op: UserOperation | undefined,
  clientId: unknown,
  eventName: string | undefined,
  sources: readonly PropertySource[],
  options: GravityEventOptions | undefined,
): AnyValueMap | typeof NOT_CLEAN {
  if (typeof clientId !== 'string' || clientId.trim() === '') return NOT_CLEAN;
  if (options !== undefined) {
    if (options.timeFree !== undefined && typeof options.timeFree !== 'boolean') return NOT_CLEAN;
    if (options.clientIp !== undefined && typeof options.clientIp !== 'string') return NOT_CLEAN;
    if (options.clientUa !== undefined && typeof options.clientUa !== 'string') return NOT_CLEAN;
  }
  let rule: OperationValueRule;
  if (op === undefined) {
    if (typeof eventName !== 'string' || !isValidGravityKey(eventName)) return NOT_CLEAN;
    rule = 'any';
  } else {
    rule = valueRuleOf(op);
    if (rule === 'key-only' || rule === 'none') return NOT_CLEAN;
  }
  let body: AnyValueMap | undefined;
  let topLevelBytes = 0;
  resetWalked();
  for (const source of sources) {
    if (source === undefined) continue;
    // A native copy (spread), later sources winning as in the mapping; the loop below only checks.
    body = body === undefined ? { ...(source as AnyValueMap) } : { ...body, ...(source as AnyValueMap) };
    for (const key in source) {
      if (!Object.prototype.hasOwnProperty.call(source, key)) continue;
      if (!isValidGravityKey(key)) return NOT_CLEAN;
      if (op === undefined && (key === '$lib' || key === '$lib_version')) return NOT_CLEAN;
      topLevelBytes += 6 * key.length + 32;
      const value = source[key];
      switch (rule) {
        case 'number':
          if (typeof value !== 'number' || !Number.isFinite(value)) return NOT_CLEAN;
          break;
        case 'array':
          if (!Array.isArray(value) || normaliseValue(value, false) !== value) return NOT_CLEAN;
          break;
        default:
          if (value === undefined || normaliseValue(value, false) !== value) return NOT_CLEAN;
      }
    }
  }
  const clientIp = options?.clientIp;
  const clientUa = options?.clientUa;
  if (topLevelBytes + walkedJsonBytesBound() > sureFitBudget(clientId, eventName, clientIp, clientUa)) return NOT_CLEAN;
  // Nested objects and arrays are kept by reference, as `logger.emit` keeps a body (README, The facade).
  return body ?? {};
}

/** The mapped track properties without `$lib`/`$lib_version`: the exporter adds those, other exporters need not. */
function withoutLibProperties(properties: GravityProperties): AnyValueMap {
  const body: AnyValueMap = {};
  for (const key in properties) {
    if (key !== '$lib' && key !== '$lib_version') body[key] = properties[key] as AnyValue;
  }
  return body;
}

function toTimeMillis(where: string, time: unknown): number {
  const millis = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Number.NaN;
  if (!Number.isFinite(millis) || millis < 0) {
    throw invalidArgument(where, 'time', 'a valid Date or epoch milliseconds ≥ 0', time);
  }
  return Math.floor(millis);
}
