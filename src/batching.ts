/**
 * Groups mapped records into request batches: one per client (and client_ip / client_ua), records in
 * emit order, split so no request exceeds the record count or byte limit (wire format §0.1, §6).
 */
import type { GravityRecord, Rejection } from './mapping/map-record.js';

/** The records of one request, each already serialised to JSON once. */
export interface RequestBatch {
  readonly clientId: string;
  readonly clientIp: string | undefined;
  readonly clientUa: string | undefined;
  /** JSON text of each `event_list` item, in emit order. */
  readonly eventJson: string[];
  /** Sum of the items' UTF-8 byte lengths. */
  bytes: number;
}

/**
 * A record already serialised for the wire: what the durable spool stores, and what batches are made of.
 * `eventJson` is the JSON text of one `event_list` item (it carries the record's original `time`).
 */
export interface SerialisedRecord {
  readonly clientId: string;
  readonly clientIp?: string | undefined;
  readonly clientUa?: string | undefined;
  readonly eventJson: string;
}

export interface BatchLimits {
  readonly maxBatchSize: number;
  readonly maxBatchBytes: number;
}

export interface Batching {
  readonly batches: RequestBatch[];
  /** Records too large for any request. */
  readonly oversized: Rejection[];
}

/** Room for the envelope `{"client_id":…,"event_list":[…]}` around the items. */
const ENVELOPE_BYTES = 64;

function groupKey(record: SerialisedRecord): string {
  if (record.clientIp === undefined && record.clientUa === undefined) return record.clientId;
  return `${record.clientId}\u0000${record.clientIp ?? ''}\u0000${record.clientUa ?? ''}`;
}

/** A mapped record as the wire and the spool carry it: its event serialised once, here. */
export function serialiseRecord(record: GravityRecord): SerialisedRecord {
  return { clientId: record.clientId, clientIp: record.clientIp, clientUa: record.clientUa, eventJson: JSON.stringify(record.event) };
}

/** Groups serialised records (fresh from an export, or replayed from the spool) into request batches. */
export function groupIntoBatches(records: Iterable<SerialisedRecord>, limits: BatchLimits): Batching {
  const open = new Map<string, RequestBatch>();
  const batches: RequestBatch[] = [];
  const oversized: Rejection[] = [];
  for (const record of records) {
    const json = record.eventJson;
    const bytes = json.length <= 0x3fff ? byteLengthFast(json) : Buffer.byteLength(json, 'utf8');
    const envelope = ENVELOPE_BYTES + jsonStringBytes(record.clientId) + jsonStringBytes(record.clientIp) + jsonStringBytes(record.clientUa);
    if (bytes + envelope > limits.maxBatchBytes) {
      oversized.push({
        ok: false,
        code: 'record_too_large',
        field: 'record',
        reason: `record: ${bytes} bytes of JSON is over maxBatchBytes (${limits.maxBatchBytes})`,
      });
      continue;
    }
    const key = groupKey(record);
    let batch = open.get(key);
    if (
      batch !== undefined &&
      (batch.eventJson.length >= limits.maxBatchSize || batch.bytes + bytes + 1 + envelope > limits.maxBatchBytes)
    ) {
      batch = undefined;
    }
    if (batch === undefined) {
      // Made with its first item: an empty array that is pushed to reserves room for 17 (most batches hold one).
      batch = { clientId: record.clientId, clientIp: record.clientIp ?? undefined, clientUa: record.clientUa ?? undefined, eventJson: [json], bytes };
      open.set(key, batch);
      batches.push(batch);
    } else {
      batch.eventJson.push(json);
      batch.bytes += bytes + 1;
    }
  }
  return { batches, oversized };
}

/**
 * Halves a batch the service refused as too large (HTTP 413), keeping emit order: the first half is sent
 * before the second. A batch of one record cannot be split (`undefined`).
 */
export function splitBatch(batch: RequestBatch): [RequestBatch, RequestBatch] | undefined {
  const count = batch.eventJson.length;
  if (count < 2) return undefined;
  const middle = Math.ceil(count / 2);
  const half = (eventJson: string[]): RequestBatch => ({
    clientId: batch.clientId,
    clientIp: batch.clientIp,
    clientUa: batch.clientUa,
    eventJson,
    bytes: eventJson.reduce((n, json) => n + byteLengthFast(json), 0) + eventJson.length - 1,
  });
  return [half(batch.eventJson.slice(0, middle)), half(batch.eventJson.slice(middle))];
}

/** The records of a batch, one by one (what the spool stores). */
export function toSerialisedRecords(batch: RequestBatch): SerialisedRecord[] {
  return batch.eventJson.map((eventJson) => {
    const record: { clientId: string; clientIp?: string; clientUa?: string; eventJson: string } = { clientId: batch.clientId, eventJson };
    if (batch.clientIp !== undefined) record.clientIp = batch.clientIp;
    if (batch.clientUa !== undefined) record.clientUa = batch.clientUa;
    return record;
  });
}

/** Bytes of a top-level string once JSON-escaped (quotes, backslashes and control characters grow). */
function jsonStringBytes(value: string | undefined): number {
  return value === undefined ? 0 : byteLengthFast(JSON.stringify(value));
}

/** UTF-8 length without allocating: ASCII is one byte, surrogate pairs four, the rest two or three. */
function byteLengthFast(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}
