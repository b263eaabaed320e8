/** ReadableLogRecord → Gravity record (properties = body map + non-`ge.*` attributes). */
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { hrTimeToMillis, isGravityRecord } from './detect.js';
import { mapRecord } from './map-record.js';
import type { MapResult, MappingContext } from './map-record.js';

function isMap(value: unknown): value is Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** What the mapping reads of a log record: an SDK `ReadableLogRecord`, or one the gateway decoded from OTLP. */
export type LogRecordInput = Pick<ReadableLogRecord, 'attributes' | 'body' | 'eventName' | 'hrTime'>;

/**
 * Maps a log record. Returns `undefined` when the record is not analytics (no `ge.*` attributes).
 * The body counts when it is a map (its keys become properties, attributes win over them); for
 * `ge.user_op: unset` a body that is a list of names is the list of properties to unset.
 */
export function mapLogRecord(record: LogRecordInput, ctx: MappingContext): MapResult | undefined {
  const attributes = record.attributes as Readonly<Record<string, unknown>>;
  if (!isGravityRecord(attributes)) return undefined;
  const body: unknown = record.body;
  return mapRecord(
    {
      ge: (key) => attributes[key],
      sources: isMap(body) ? [body, attributes] : [attributes],
      keyList: Array.isArray(body) ? body : undefined,
      defaultEventName: record.eventName,
      timeMillis: hrTimeToMillis(record.hrTime),
    },
    ctx,
  );
}
