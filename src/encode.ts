/** Request body bytes: the collect payload as JSON, gzipped when configured (wire format §5). */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { RequestBatch } from './batching.js';
import type { GravityCompression } from './options.js';

const gzip = promisify(gzipCallback);

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

export async function encodeBody(json: string, compression: GravityCompression): Promise<EncodedBody> {
  const plain = Buffer.from(json, 'utf8');
  if (compression === 'none') return { body: plain, compressed: false };
  return { body: await gzip(plain), compressed: true };
}
