/**
 * Reading and decoding request bodies for the emulator (the server decides
 * decompression from `Gravity-Content-Compress: gzip`; absent or `none` means plain JSON).
 */
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** Most bytes a gzip body may inflate to; guards the emulator against gzip bombs. */
const MAX_DECODED_BODY_BYTES = 64 * 1024 * 1024;

/** A body as read from the socket. */
export interface RawBody {
  /** The bytes kept (empty when the body was too large). */
  bytes: Buffer;
  /** Bytes received in total. */
  rawLength: number;
  /** More than the limit arrived; the excess was read and discarded. */
  tooLarge: boolean;
}

/**
 * Read the whole request body. Past `maxBodyBytes` the rest is drained and discarded, so the client can
 * still read the 413 answer instead of failing on a half-written request. Rejects if the client aborts.
 */
export async function readRawBody(request: IncomingMessage, maxBodyBytes: number): Promise<RawBody> {
  const chunks: Buffer[] = [];
  let rawLength = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    rawLength += chunk.length;
    if (rawLength <= maxBodyBytes) chunks.push(chunk);
    else chunks.length = 0;
  }
  const tooLarge = rawLength > maxBodyBytes;
  return { bytes: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), rawLength, tooLarge };
}

/** Result of {@link decodeBody}: the text and parsed JSON, or the message the service would answer. */
export type DecodedBody =
  | { ok: true; compressed: boolean; text: string; json: unknown }
  | { ok: false; compressed: boolean; text: string; msg: string };

/** Gunzip per `Gravity-Content-Compress`, then parse JSON. */
export async function decodeBody(bytes: Buffer, compressHeader: string | undefined): Promise<DecodedBody> {
  const compression = (compressHeader ?? 'none').trim().toLowerCase();
  let text: string;
  let compressed = false;
  if (compression === 'gzip') {
    compressed = true;
    try {
      text = (await gunzipAsync(bytes, { maxOutputLength: MAX_DECODED_BODY_BYTES })).toString('utf8');
    } catch {
      return { ok: false, compressed, text: '', msg: 'body is not valid gzip' };
    }
  } else if (compression === 'none' || compression === '') {
    text = bytes.toString('utf8');
  } else {
    return {
      ok: false,
      compressed,
      text: '',
      msg: `unsupported Gravity-Content-Compress ${JSON.stringify(compressHeader)}, expected gzip or none`,
    };
  }
  try {
    return { ok: true, compressed, text, json: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, compressed, text, msg: 'body is not valid JSON' };
  }
}

/** Request headers as one string per lower-case name; repeated headers are joined with `, `. */
export function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
