/** Request body bytes: the collect payload as JSON, gzipped when configured (the service reads `Content-Encoding: gzip`). */
import { gzipSync } from 'node:zlib';
import type { ZlibOptions } from 'node:zlib';
import type { RequestBatch } from './request-batch.js';
import type { GravityCompression } from '../config/options.js';

/**
 * Level 1, synchronous. Measured with bench/encode-micro.ts on the bench workload (2-core EPYC, Node 20):
 * a 200-record body (76 kB) costs 138 µs at level 1 (0.10 of plain), 158 µs at level 3 (0.09), 383 µs at
 * level 6 (0.07); a 1–5 record body ~20–30 µs at any level. The async `zlib.gzip` cost ~160 µs per body of
 * any size (stream setup and the thread-pool hop), 8× the work, so bodies are compressed inline.
 */
const GZIP_OPTIONS: ZlibOptions = Object.freeze({ level: 1 });

/**
 * `compression: 'auto'` sends bodies below this many bytes plain. Such a body and its headers fit one TCP
 * segment either way, so gzip saves no packet, while it costs ~20 µs of CPU per body (bench/encode-micro.ts:
 * a 1-record body of 416 bytes shrinks to 286 in 20 µs; plain costs 0.1 µs).
 */
export const AUTO_GZIP_MIN_BYTES = 1_200;

/**
 * `{client_id, [client_ip], [client_ua], event_list}` built from the items' JSON text, so that each
 * record is serialised exactly once.
 */
export function toPayloadJson(batch: RequestBatch): string {
  let head = `{"client_id":${JSON.stringify(batch.clientId)}`;
  if (batch.clientIp !== undefined) head += `,"client_ip":${JSON.stringify(batch.clientIp)}`;
  if (batch.clientUa !== undefined) head += `,"client_ua":${JSON.stringify(batch.clientUa)}`;
  return `${head},"event_list":[${batch.eventJson.join(',')}]}`;
}

export interface EncodedBody {
  readonly body: Buffer;
  readonly compressed: boolean;
}

/** The body bytes of `json`: gzip (`gzip`; `auto` from {@link AUTO_GZIP_MIN_BYTES} on) or plain UTF-8. */
export function encodeBody(json: string, compression: GravityCompression): EncodedBody {
  const plain = Buffer.from(json, 'utf8');
  if (compression === 'none' || (compression === 'auto' && plain.length < AUTO_GZIP_MIN_BYTES)) {
    return { body: plain, compressed: false };
  }
  return { body: gzipSync(plain, GZIP_OPTIONS), compressed: true };
}
