/**
 * Decoded OTLP → the inputs the mapping takes (mapping/map-log-record.ts, mapping/map-span-event.ts), so a record
 * received over OTLP goes through the same code as one emitted in-process. Values are turned into what the OTel
 * JS SDK would have held: AnyValue kvlist → plain object, array → array, bytes → Uint8Array (which the mapping
 * rejects, as it does in-process), int64 → number when exactly representable, else bigint (rejected by the
 * mapping rather than rounded), an empty AnyValue → null.
 *
 * A request is first split into its records (`logEntries`, `spanEntries`); each record is read when it is
 * mapped (`readLogRecord`, `readSpan`). The two OTLP encodings differ only in their leaves (see `WireFlavour`):
 * protobuf gives protobufjs messages with `Long` 64-bit integers and `Buffer` bytes; JSON gives strings (or
 * numbers) for 64-bit integers, base64 for bytes and hex for trace and span ids.
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

/**
 * One log record or span of a request, not read yet: the gateway hands these to the export pipeline, whose
 * mapper reads each one just before mapping it (`readLogRecord`, `readSpan`), a slice at a time. Nothing of a
 * large request is held in decoded form at once, and delivery of its first slices overlaps reading the rest.
 */
export interface WireEntry {
  /** The record as the encoding gives it: protobuf bytes, or the parsed JSON object. */
  readonly wire: unknown;
  /** Where it is in the request (for error messages). */
  readonly path: string;
  readonly flavour: WireFlavour;
  /** Its resource, read on first use. */
  readonly resource: ResourceRef;
}

/** A request's entries, in order. */
export interface DecodedRequest {
  readonly entries: WireEntry[];
}

/** The resource message of some entries, turned into its allow-listed properties on first use. */
export interface ResourceRef {
  readonly wire: unknown;
  readonly path: string;
  readonly allowList: readonly string[];
  resolved?: GatewayResource;
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
  /** One entry of `logRecords` / `spans` → the message (protobuf decodes each record on its own). */
  record(value: unknown, kind: 'logRecord' | 'span', path: string): Record<string, unknown> | undefined;
}

type Wire = Record<string, unknown>;

const NO_PROPERTIES: GatewayResource = Object.freeze({ properties: undefined });

export function list(value: unknown, path: string): readonly unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OtlpDecodeError(`${path}: expected an array`);
  return value;
}

export function message(value: unknown, path: string): Wire | undefined {
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

/** Walks `resource<Signal>[].scope<Signal>[].<records>[]` and lists the records, not reading them. */
function entriesOf(request: unknown, flavour: WireFlavour, allowList: readonly string[], names: readonly [string, string, string]): DecodedRequest {
  const [resourceField, scopeField, recordField] = names;
  const entries: WireEntry[] = [];
  const resources = list(message(request, 'request')?.[resourceField], resourceField);
  for (let r = 0; r < resources.length; r++) {
    const rPath = `${resourceField}[${r}]`;
    const resourceEntry = message(resources[r], rPath);
    const resource: ResourceRef = { wire: resourceEntry?.['resource'], path: `${rPath}.resource`, allowList };
    const scopes = list(resourceEntry?.[scopeField], `${rPath}.${scopeField}`);
    for (let s = 0; s < scopes.length; s++) {
      const sPath = `${rPath}.${scopeField}[${s}]`;
      const records = list(message(scopes[s], sPath)?.[recordField], `${sPath}.${recordField}`);
      for (let i = 0; i < records.length; i++) entries.push({ wire: records[i], path: `${sPath}.${recordField}[${i}]`, flavour, resource });
    }
  }
  return { entries };
}

/** An ExportLogsServiceRequest → its log records, to be read one at a time by `readLogRecord`. */
export function logEntries(request: unknown, flavour: WireFlavour, resourceAllowList: readonly string[]): DecodedRequest {
  return entriesOf(request, flavour, resourceAllowList, ['resourceLogs', 'scopeLogs', 'logRecords']);
}

/** An ExportTraceServiceRequest → its spans, to be read one at a time by `readSpan`. */
export function spanEntries(request: unknown, flavour: WireFlavour, resourceAllowList: readonly string[]): DecodedRequest {
  return entriesOf(request, flavour, resourceAllowList, ['resourceSpans', 'scopeSpans', 'spans']);
}

function resourceOfEntry(entry: WireEntry): GatewayResource {
  const ref = entry.resource;
  ref.resolved ??= resourceOf(ref.wire, ref.allowList, entry.flavour, ref.path);
  return ref.resolved;
}

/**
 * Reads one log record; `undefined` when it is not analytics (its body is then not even converted). Throws
 * `OtlpDecodeError` for a record that does not decode.
 */
export function readLogRecord(entry: WireEntry, now: () => number): GatewayLogRecord | undefined {
  const { flavour, path } = entry;
  const record = flavour.record(entry.wire, 'logRecord', path);
  if (record === undefined) return undefined;
  const attributes = keyValues(record['attributes'], flavour, `${path}.attributes`);
  if (!isGravityRecord(attributes)) return undefined;
  const eventName = record['eventName'];
  if (eventName !== undefined && eventName !== null && typeof eventName !== 'string') throw new OtlpDecodeError(`${path}.eventName: expected a string`);
  // The SDK's types are narrower than what OTLP carries (bigint, bytes); the mapping reads every value as
  // `unknown` and rejects what it cannot send, as it does for SDK records.
  return {
    attributes: attributes as LogRecordInput['attributes'],
    body: (record['body'] === undefined || record['body'] === null ? undefined : flavour.anyValue(record['body'], `${path}.body`)) as LogRecordInput['body'],
    eventName: typeof eventName === 'string' && eventName !== '' ? eventName : undefined,
    hrTime: recordTime(record, flavour, path, now),
    resource: resourceOfEntry(entry),
  };
}

/** One span read: the span when some of its events are analytics (it keeps all of them), and the counts. */
export interface SpanRead {
  readonly span: GatewaySpan | undefined;
  readonly events: number;
  readonly analytics: number;
}

/** Reads one span. Throws `OtlpDecodeError` for a span that does not decode. */
export function readSpan(entry: WireEntry, now: () => number): SpanRead {
  const { flavour, path } = entry;
  const span = flavour.record(entry.wire, 'span', path);
  const wireEvents = list(span?.['events'], `${path}.events`);
  if (span === undefined || wireEvents.length === 0) return { span: undefined, events: 0, analytics: 0 };
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
  if (analytics === 0) return { span: undefined, events: events.length, analytics };
  const traceId = span['traceId'];
  const spanId = span['spanId'];
  return {
    span: {
      attributes: attributes as SpanInput['attributes'],
      events: events as SpanInput['events'],
      // Read only with traceCorrelation; the ids are turned into hex then.
      spanContext: () => ({ traceId: flavour.id(traceId), spanId: flavour.id(spanId), traceFlags: 0 }),
      resource: resourceOfEntry(entry),
    },
    events: events.length,
    analytics,
  };
}
