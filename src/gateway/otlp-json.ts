/**
 * OTLP/JSON (the protocol's JSON mapping of the same messages): lowerCamelCase field names, 64-bit integers
 * as decimal strings (or numbers), bytes as base64, trace and span ids as hex. Parsed with `JSON.parse`, then
 * read by otlp-records.ts like the protobuf messages.
 */
import type { HrTime } from '@opentelemetry/api';
import { hrTimeOfNanos, int64Value, keyValues, list, logEntries, message, OtlpDecodeError, spanEntries } from './otlp-records.js';
import type { DecodedRequest, WireFlavour } from './otlp-records.js';

const INTEGER = /^-?\d+$/;

function int64(value: unknown, path: string): number | bigint {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && INTEGER.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : int64Value(BigInt(value));
  }
  throw new OtlpDecodeError(`${path}: expected an integer (a decimal string or a number)`);
}

function anyValue(value: unknown, path: string): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new OtlpDecodeError(`${path}: expected an AnyValue object`);
  const v = value as Record<string, unknown>;
  // A null member counts as absent, except a null double: JSON.stringify writes NaN and ±Infinity as null, and
  // the mapping rejects that record as it would the SDK's value (nothing else in the request is lost).
  if (v['stringValue'] != null) {
    if (typeof v['stringValue'] !== 'string') throw new OtlpDecodeError(`${path}.stringValue: expected a string`);
    return v['stringValue'];
  }
  if (v['intValue'] != null) return int64(v['intValue'], `${path}.intValue`);
  if (v['doubleValue'] !== undefined) return v['doubleValue'] === null ? Number.NaN : double(v['doubleValue'], `${path}.doubleValue`);
  if (v['boolValue'] != null) {
    if (typeof v['boolValue'] !== 'boolean') throw new OtlpDecodeError(`${path}.boolValue: expected a boolean`);
    return v['boolValue'];
  }
  if (v['kvlistValue'] != null) {
    return keyValues((v['kvlistValue'] as Record<string, unknown>)['values'], JSON_FLAVOUR, `${path}.kvlistValue.values`);
  }
  if (v['arrayValue'] != null) {
    const values = list((v['arrayValue'] as Record<string, unknown>)['values'], `${path}.arrayValue.values`);
    return values.map((item, i) => anyValue(item, `${path}.arrayValue.values[${i}]`));
  }
  if (v['bytesValue'] != null) {
    if (typeof v['bytesValue'] !== 'string') throw new OtlpDecodeError(`${path}.bytesValue: expected a base64 string`);
    return new Uint8Array(Buffer.from(v['bytesValue'], 'base64'));
  }
  return null;
}

/** The proto3 JSON mapping writes non-finite doubles as strings. */
function double(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new OtlpDecodeError(`${path}: expected a number`);
}

function nanos(value: unknown, path: string): HrTime | undefined {
  if (value === undefined || value === null || value === 0 || value === '0') return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return hrTimeOfNanos(BigInt(value));
  if (typeof value === 'string' && /^\d+$/.test(value)) return hrTimeOfNanos(BigInt(value));
  throw new OtlpDecodeError(`${path}: expected nanoseconds since the epoch (a decimal string or a number)`);
}

const JSON_FLAVOUR: WireFlavour = {
  anyValue,
  nanos,
  id: (value) => (typeof value === 'string' ? value.toLowerCase() : ''),
  record: (value, _kind, path) => message(value, path),
};

function parse(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw new OtlpDecodeError(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An ExportLogsServiceRequest in JSON; its log records are read by `readLogRecord`. */
export function decodeLogsJson(body: Uint8Array, resourceAllowList: readonly string[]): DecodedRequest {
  return logEntries(parse(body), JSON_FLAVOUR, resourceAllowList);
}

/** An ExportTraceServiceRequest in JSON; its spans are read by `readSpan`. */
export function decodeTracesJson(body: Uint8Array, resourceAllowList: readonly string[]): DecodedRequest {
  return spanEntries(parse(body), JSON_FLAVOUR, resourceAllowList);
}

/** An export response in OTLP/JSON; `{}` when nothing was rejected. int64 as a decimal string, per the mapping. */
export function encodeExportResponseJson(signal: 'logs' | 'traces', rejected: number, errorMessage: string): string {
  if (rejected === 0 && errorMessage === '') return '{}';
  const count = String(rejected);
  const partialSuccess = signal === 'logs' ? { rejectedLogRecords: count, errorMessage } : { rejectedSpans: count, errorMessage };
  return JSON.stringify({ partialSuccess });
}

/** A `google.rpc.Status` in JSON (the body of OTLP/HTTP error answers to JSON requests). */
export function encodeStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}
