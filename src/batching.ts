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

function groupKey(record: GravityRecord): string {
  if (record.clientIp === undefined && record.clientUa === undefined) return record.clientId;
  return `${record.clientId}\u0000${record.clientIp ?? ''}\u0000${record.clientUa ?? ''}`;
}

export function groupIntoBatches(records: Iterable<GravityRecord>, limits: BatchLimits): Batching {
  const open = new Map<string, RequestBatch>();
  const batches: RequestBatch[] = [];
  const oversized: Rejection[] = [];
  for (const record of records) {
    const json = JSON.stringify(record.event);
    const bytes = json.length <= 0x3fff ? byteLengthFast(json) : Buffer.byteLength(json, 'utf8');
    const envelope = ENVELOPE_BYTES + byteLengthFast(record.clientId) + (record.clientIp?.length ?? 0) * 3 + (record.clientUa?.length ?? 0) * 3;
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
      batch = { clientId: record.clientId, clientIp: record.clientIp, clientUa: record.clientUa, eventJson: [], bytes: 0 };
      open.set(key, batch);
      batches.push(batch);
    }
    batch.eventJson.push(json);
    batch.bytes += bytes + (batch.eventJson.length > 1 ? 1 : 0);
  }
  return { batches, oversized };
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
