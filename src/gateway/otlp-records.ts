/**
 * Decoded OTLP → the inputs the mapping takes (mapping/map-log-record.ts, mapping/map-span-event.ts), so a record
 * received over OTLP goes through the same code as one emitted in-process. Values are turned into what the OTel
 * JS SDK would have held: AnyValue kvlist → plain object, array → array, bytes → Uint8Array (which the mapping
 * rejects, as it does in-process), int64 → number when exactly representable, else bigint (rejected by the
 * mapping rather than rounded), an empty AnyValue → null.
 *
 * The two OTLP encodings differ only in their leaves (see `WireFlavour`): protobuf gives protobufjs messages with
 * `Long` 64-bit integers and `Buffer` bytes; JSON gives strings (or numbers) for 64-bit integers, base64 for
 * bytes and hex for trace and span ids.
 */
import type { HrTime } from '@opentelemetry/api';
import { ATTR_GE_CLIENT_ID } from '../mapping/attributes.js';
import { isGravityRecord } from '../mapping/detect.js';
import type { LogRecordInput } from '../mapping/map-log-record.js';
import type { MappingContext, PropertySource } from '../mapping/map-record.js';
import type { SpanInput } from '../mapping/map-span-event.js';

/** The resource a record came with: only the allow-listed attributes, as track-record properties. */
export interface GatewayResource {
  readonly properties: PropertySource;
  /** The mapping context with `properties` under the configured super properties (made on first use). */
  ctx?: MappingContext;
}

export interface GatewayLogRecord extends LogRecordInput {
  readonly resource: GatewayResource;
}

export interface GatewaySpan extends SpanInput {
  readonly resource: GatewayResource;
}

/** A request's analytics inputs, with counts for admission and the counters. */
export interface DecodedRequest<T> {
  /** Inputs that carry analytics records (the others are not analytics and are not mapped at all). */
  readonly items: T[];
  /** Log records or span events in the request. */
  readonly records: number;
  /** Of those, the ones that are analytics (`ge.*` attributes, or a span with `ge.client_id`). */
  readonly candidates: number;
}

/** A request that does not follow the OTLP message shapes; `message` names the path. */
export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

/** How one encoding spells the leaves. Everything else is read by field name, the same in both. */
export interface WireFlavour {
  /** An AnyValue → the JS value the SDK would hold. */
  anyValue(value: unknown, path: string): unknown;
  /** A fixed64 of nanoseconds since the epoch, or `undefined` when zero or absent. */
  nanos(value: unknown, path: string): HrTime | undefined;
  /** A trace or span id as lower-case hex. */
  id(value: unknown): string;
}

type Wire = Record<string, unknown>;

const NO_PROPERTIES: GatewayResource = Object.freeze({ properties: undefined });

export function list(value: unknown, path: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${path}: expected an array`);
  return value;
}

function message(value: unknown, path: string): Wire | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new OtlpDecodeError(`${path}: expected an object`);
  return value as Wire;
}

/** `target[key] = value`, keeping a `__proto__` key a key. */
export function setProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A repeated KeyValue → an object (a later duplicate key wins, as a later `setAttribute` would). */
export function keyValues(values: unknown, flavour: WireFlavour, path: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const entries = list(values, path);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Wire | null;
    const key = entry?.['key'];
    if (typeof key !== 'string') throw new OtlpDecodeError(`${path}[${i}].key: expected a string`);
    setProperty(result, key, flavour.anyValue(entry!['value'], `${path}[${i}].value`));
  }
  return result;
}

/** Nanoseconds → the SDK's `HrTime`, exactly (the mapping turns it into milliseconds as it does in-process). */
export function hrTimeOfNanos(nanos: bigint): HrTime {
  return [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];
}

/** An int64 as the SDK would hold it: a number when exact, else a bigint (which the mapping rejects by name). */
export function int64Value(value: bigint): number | bigint {
  const n = Number(value);
  return Number.isSafeInteger(n) || BigInt(n) === value ? n : value;
}

function resourceOf(value: unknown, allowList: readonly string[], flavour: WireFlavour, path: string): GatewayResource {
  if (allowList.length === 0) return NO_PROPERTIES;
  const attributes = keyValues(message(value, path)?.['attributes'], flavour, `${path}.attributes`);
  let properties: Record<string, unknown> | undefined;
  for (const key of allowList) {
    if (attributes[key] === undefined) continue;
    properties ??= {};
    setProperty(properties, key, attributes[key]);
  }
  return properties === undefined ? NO_PROPERTIES : { properties };
}

/** The SDK's record time: `time_unix_nano`, else `observed_time_unix_nano` (OTLP: 0 means unknown), else now. */
function recordTime(record: Wire, flavour: WireFlavour, path: string, now: () => number): HrTime {
  const time = flavour.nanos(record['timeUnixNano'], `${path}.timeUnixNano`) ?? flavour.nanos(record['observedTimeUnixNano'], `${path}.observedTimeUnixNano`);
  if (time !== undefined) return time;
  const millis = now();
  return [Math.floor(millis / 1000), (millis % 1000) * 1e6];
}

/** An ExportLogsServiceRequest → the log records that carry analytics. */
export function toLogRecords(request: unknown, flavour: WireFlavour, resourceAllowList: readonly string[], now: () => number): DecodedRequest<GatewayLogRecord> {
  const items: GatewayLogRecord[] = [];
  let records = 0;
  const resourceLogs = list(message(request, 'request')?.['resourceLogs'], 'resourceLogs');
  for (let r = 0; r < resourceLogs.length; r++) {
    const rPath = `resourceLogs[${r}]`;
    const resourceEntry = message(resourceLogs[r], rPath);
    let resource: GatewayResource | undefined;
    const scopeLogs = list(resourceEntry?.['scopeLogs'], `${rPath}.scopeLogs`);
    for (let s = 0; s < scopeLogs.length; s++) {
      const sPath = `${rPath}.scopeLogs[${s}]`;
      const logRecords = list(message(scopeLogs[s], sPath)?.['logRecords'], `${sPath}.logRecords`);
      records += logRecords.length;
      for (let i = 0; i < logRecords.length; i++) {
        const path = `${sPath}.logRecords[${i}]`;
        const record = message(logRecords[i], path);
        if (record === undefined) continue;
        const attributes = keyValues(record['attributes'], flavour, `${path}.attributes`);
        // Not analytics: the mapping would ignore it; its body is not even converted.
        if (!isGravityRecord(attributes)) continue;
        resource ??= resourceOf(resourceEntry?.['resource'], resourceAllowList, flavour, `${rPath}.resource`);
        const eventName = record['eventName'];
        if (eventName !== undefined && typeof eventName !== 'string') throw new OtlpDecodeError(`${path}.eventName: expected a string`);
        // The SDK's types are narrower than what OTLP carries (bigint, bytes); the mapping reads every value as
        // `unknown` and rejects what it cannot send, as it does for SDK records.
        items.push({
          attributes: attributes as LogRecordInput['attributes'],
          body: (record['body'] === undefined || record['body'] === null ? undefined : flavour.anyValue(record['body'], `${path}.body`)) as LogRecordInput['body'],
          eventName: eventName === '' ? undefined : eventName,
          hrTime: recordTime(record, flavour, path, now),
          resource,
        });
      }
    }
  }
  return { items, records, candidates: items.length };
}

/** An ExportTraceServiceRequest → the spans with analytics events (each keeps all its events). */
export function toSpans(request: unknown, flavour: WireFlavour, resourceAllowList: readonly string[], now: () => number): DecodedRequest<GatewaySpan> {
  const items: GatewaySpan[] = [];
  let records = 0;
  let candidates = 0;
  const resourceSpans = list(message(request, 'request')?.['resourceSpans'], 'resourceSpans');
  for (let r = 0; r < resourceSpans.length; r++) {
    const rPath = `resourceSpans[${r}]`;
    const resourceEntry = message(resourceSpans[r], rPath);
    let resource: GatewayResource | undefined;
    const scopeSpans = list(resourceEntry?.['scopeSpans'], `${rPath}.scopeSpans`);
    for (let s = 0; s < scopeSpans.length; s++) {
      const sPath = `${rPath}.scopeSpans[${s}]`;
      const spans = list(message(scopeSpans[s], sPath)?.['spans'], `${sPath}.spans`);
      for (let i = 0; i < spans.length; i++) {
        const path = `${sPath}.spans[${i}]`;
        const span = message(spans[i], path);
        const wireEvents = list(span?.['events'], `${path}.events`);
        if (span === undefined || wireEvents.length === 0) continue;
        records += wireEvents.length;
        const attributes = keyValues(span['attributes'], flavour, `${path}.attributes`);
        const spanHasClientId = attributes[ATTR_GE_CLIENT_ID] !== undefined;
        let analytics = 0;
        const events = wireEvents.map((wireEvent, e) => {
          const ePath = `${path}.events[${e}]`;
          const event = message(wireEvent, ePath) ?? {};
          const eventAttributes = keyValues(event['attributes'], flavour, `${ePath}.attributes`);
          if (spanHasClientId || isGravityRecord(eventAttributes)) analytics++;
          const name = event['name'] ?? '';
          if (typeof name !== 'string') throw new OtlpDecodeError(`${ePath}.name: expected a string`);
          return { name, time: recordTime(event, flavour, ePath, now), attributes: eventAttributes };
        });
        if (analytics === 0) continue;
        candidates += analytics;
        resource ??= resourceOf(resourceEntry?.['resource'], resourceAllowList, flavour, `${rPath}.resource`);
        const traceId = span['traceId'];
        const spanId = span['spanId'];
        items.push({
          attributes: attributes as SpanInput['attributes'],
          events: events as SpanInput['events'],
          // Read only with traceCorrelation; the ids are turned into hex then.
          spanContext: () => ({ traceId: flavour.id(traceId), spanId: flavour.id(spanId), traceFlags: 0 }),
          resource,
        });
      }
    }
  }
  return { items, records, candidates };
}
