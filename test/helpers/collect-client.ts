/**
 * A tiny client for the Gravity collect endpoint (real HTTP through undici) and record builders,
 * for tests that talk to the emulator directly.
 */
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import type { CollectPayload, GravityEvent } from '../../src/mapping/wire-types.js';

/** Options of {@link postCollect}. */
export interface PostCollectOptions {
  /** Gzip the body and send `Gravity-Content-Compress: gzip`. */
  gzip?: boolean;
  /** `access_token` query parameter. @default 'test-token' */
  token?: string | null;
  headers?: Record<string, string>;
  method?: 'POST' | 'GET' | 'PUT';
  signal?: AbortSignal;
}

/** Status, headers and parsed body of an answer. */
export interface PostCollectResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** POST `payload` (an object is JSON-encoded; a string or Buffer is sent as is) to `url`. */
export async function postCollect(
  url: string,
  payload: unknown,
  options: PostCollectOptions = {},
): Promise<PostCollectResult> {
  const text = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  let body: string | Buffer = text;
  if (options.gzip === true) {
    body = gzipSync(text);
    headers['gravity-content-compress'] = 'gzip';
  }
  const target = new URL(url);
  const token = options.token === undefined ? 'test-token' : options.token;
  if (token !== null) target.searchParams.set('access_token', token);
  const method = options.method ?? 'POST';
  const response = await request(target, {
    method,
    headers,
    body: method === 'GET' ? undefined : body,
    signal: options.signal,
  });
  const responseText = await response.body.text();
  let parsed: unknown = responseText;
  try {
    parsed = JSON.parse(responseText);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.statusCode, headers: response.headers, body: parsed };
}

/** A valid track record at `time` (default now). */
export function trackRecord(overrides: Partial<GravityEvent> = {}): GravityEvent {
  return {
    type: 'track',
    event: 'purchase',
    time: Date.now(),
    time_free: false,
    properties: { $lib: 'node', $lib_version: '0.1.0', amount: 30, item: 'sword' },
    ...overrides,
  };
}

/** A valid profile record for `operation`. */
export function profileRecord(
  operation: string,
  properties: GravityEvent['properties'],
  overrides: Partial<GravityEvent> = {},
): GravityEvent {
  return { type: 'profile', event: operation, time: Date.now(), time_free: false, properties, ...overrides } as GravityEvent;
}

/** A collect body for one client. */
export function collectPayload(clientId: string, records: GravityEvent[], extra: Partial<CollectPayload> = {}): CollectPayload {
  return { client_id: clientId, ...extra, event_list: records };
}
