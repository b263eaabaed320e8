/**
 * OTLP/protobuf through protobufjs: the schema (otlp-schema.ts) parsed once, requests decoded by protobufjs's
 * reflection decoders, responses and `google.rpc.Status` (with `RetryInfo`) encoded the same way.
 */
import protobuf from 'protobufjs';
import type { HrTime } from '@opentelemetry/api';
import { ALL_SCHEMAS } from './otlp-schema.js';
import { hrTimeOfNanos, int64Value, keyValues, list, logEntries, OtlpDecodeError, spanEntries } from './otlp-records.js';
import type { DecodedRequest, WireFlavour } from './otlp-records.js';

/** A protobufjs 64-bit integer (`Long`, as protobufjs decodes int64 and fixed64 when the long package is there). */
interface LongLike {
  readonly low: number;
  readonly high: number;
}

interface Types {
  readonly logRecord: protobuf.Type;
  readonly span: protobuf.Type;
  readonly logsRequest: protobuf.Type;
  readonly logsResponse: protobuf.Type;
  readonly traceRequest: protobuf.Type;
  readonly traceResponse: protobuf.Type;
  readonly status: protobuf.Type;
  readonly retryInfo: protobuf.Type;
}

let types: Types | undefined;

function loadTypes(): Types {
  if (types !== undefined) return types;
  const root = new protobuf.Root();
  for (const text of ALL_SCHEMAS) protobuf.parse(text, root);
  root.resolveAll();
  types = {
    logRecord: root.lookupType('opentelemetry.proto.logs.v1.LogRecord'),
    span: root.lookupType('opentelemetry.proto.trace.v1.Span'),
    logsRequest: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    logsResponse: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    traceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    traceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    status: root.lookupType('google.rpc.Status'),
    retryInfo: root.lookupType('google.rpc.RetryInfo'),
  };
  return types;
}

function isLong(value: unknown): value is LongLike {
  return typeof value === 'object' && value !== null && typeof (value as LongLike).low === 'number' && typeof (value as LongLike).high === 'number';
}

function int64(value: unknown, path: string): number | bigint {
  if (typeof value === 'number') return value;
  if (!isLong(value)) throw new OtlpDecodeError(`${path}: expected a 64-bit integer`);
  const { low, high } = value;
  // Exact while |n| < 2^53, which covers the common case without a bigint.
  const n = high * 4_294_967_296 + (low >>> 0);
  if (Number.isSafeInteger(n)) return n;
  return int64Value(BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)));
}

/** protobufjs sets only the oneof member it read as an own property (defaults live on the prototype). */
function anyValue(value: unknown, path: string): unknown {
  if (value === undefined || value === null) return null;
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  const set = keys[keys.length - 1];
  switch (set) {
    case 'stringValue':
    case 'boolValue':
    case 'doubleValue':
      return v[set];
    case 'intValue':
      return int64(v[set], `${path}.intValue`);
    case 'kvlistValue':
      return keyValues((v[set] as Record<string, unknown> | null)?.['values'], PROTOBUF, `${path}.kvlistValue.values`);
    case 'arrayValue': {
      const values = list((v[set] as Record<string, unknown> | null)?.['values'], `${path}.arrayValue.values`);
      const result = new Array<unknown>(values.length);
      for (let i = 0; i < values.length; i++) result[i] = anyValue(values[i], `${path}.arrayValue.values[${i}]`);
      return result;
    }
    case 'bytesValue': {
      const bytes = v[set] as Uint8Array;
      // A view, not the Buffer subclass: the mapping then names the type as it does for an SDK value.
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    default:
      return null;
  }
}

function nanos(value: unknown, path: string): HrTime | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value === 0 ? undefined : hrTimeOfNanos(BigInt(Math.trunc(value)));
  if (!isLong(value)) throw new OtlpDecodeError(`${path}: expected a 64-bit integer`);
  if (value.low === 0 && value.high === 0) return undefined;
  return hrTimeOfNanos((BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
}

const PROTOBUF: WireFlavour = {
  anyValue,
  nanos,
  id: (value) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') : ''),
  record: (value, kind) => decodeWith(kind === 'logRecord' ? loadTypes().logRecord : loadTypes().span, value as Uint8Array) as Record<string, unknown>,
};

function decodeWith(type: protobuf.Type, body: Uint8Array): unknown {
  try {
    return type.decode(body);
  } catch (error) {
    throw new OtlpDecodeError(`not a valid ${type.name} protobuf message: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An ExportLogsServiceRequest's log records, each still protobuf bytes (read by `readLogRecord`). */
export function decodeLogsProtobuf(body: Uint8Array, resourceAllowList: readonly string[]): DecodedRequest {
  return logEntries(decodeWith(loadTypes().logsRequest, body), PROTOBUF, resourceAllowList);
}

/** An ExportTraceServiceRequest's spans, each still protobuf bytes (read by `readSpan`). */
export function decodeTracesProtobuf(body: Uint8Array, resourceAllowList: readonly string[]): DecodedRequest {
  return spanEntries(decodeWith(loadTypes().traceRequest, body), PROTOBUF, resourceAllowList);
}

/** An ExportLogsServiceResponse / ExportTraceServiceResponse; `partial_success` only when something was rejected. */
export function encodeExportResponse(signal: 'logs' | 'traces', rejected: number, errorMessage: string): Uint8Array {
  const t = loadTypes();
  if (rejected === 0 && errorMessage === '') return new Uint8Array(0);
  const partialSuccess = signal === 'logs' ? { rejectedLogRecords: rejected, errorMessage } : { rejectedSpans: rejected, errorMessage };
  const type = signal === 'logs' ? t.logsResponse : t.traceResponse;
  return type.encode(type.fromObject({ partialSuccess })).finish();
}

/** A `google.rpc.Status`, with a `RetryInfo` detail when a retry delay is given (OTLP's throttling signal). */
export function encodeStatus(code: number, message: string, retryDelayMillis?: number): Uint8Array {
  const t = loadTypes();
  const details: Array<{ typeUrl: string; value: Uint8Array }> = [];
  if (retryDelayMillis !== undefined) {
    const retryDelay = { seconds: Math.floor(retryDelayMillis / 1000), nanos: (retryDelayMillis % 1000) * 1e6 };
    details.push({ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: t.retryInfo.encode(t.retryInfo.fromObject({ retryDelay })).finish() });
  }
  return t.status.encode(t.status.fromObject({ code, message, details })).finish();
}

/** Decodes a `google.rpc.Status` (tests read the gateway's error bodies with it). */
export function decodeStatus(body: Uint8Array): { code: number; message: string; retryDelayMillis: number | undefined } {
  const t = loadTypes();
  const status = t.status.toObject(t.status.decode(body), { longs: Number, defaults: true }) as {
    code: number;
    message: string;
    details: Array<{ typeUrl: string; value: Uint8Array }>;
  };
  let retryDelayMillis: number | undefined;
  for (const detail of status.details) {
    if (!detail.typeUrl.endsWith('google.rpc.RetryInfo')) continue;
    const info = t.retryInfo.toObject(t.retryInfo.decode(detail.value), { longs: Number, defaults: true }) as { retryDelay?: { seconds: number; nanos: number } };
    retryDelayMillis = (info.retryDelay?.seconds ?? 0) * 1000 + Math.round((info.retryDelay?.nanos ?? 0) / 1e6);
  }
  return { code: status.code, message: status.message, retryDelayMillis };
}

/** Decodes an export response body (tests read `partial_success` with it). */
export function decodeExportResponse(signal: 'logs' | 'traces', body: Uint8Array): { rejected: number; errorMessage: string } {
  const t = loadTypes();
  const type = signal === 'logs' ? t.logsResponse : t.traceResponse;
  const response = type.toObject(type.decode(body), { longs: Number, defaults: true }) as {
    partialSuccess?: { rejectedLogRecords?: number; rejectedSpans?: number; errorMessage?: string };
  };
  const partial = response.partialSuccess;
  return { rejected: partial?.rejectedLogRecords ?? partial?.rejectedSpans ?? 0, errorMessage: partial?.errorMessage ?? '' };
}
