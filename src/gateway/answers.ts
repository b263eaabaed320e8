/**
 * How an OTLP request is answered, in terms both receivers translate (HTTP status or gRPC code): accepted
 * (with OTLP `partial_success` for rejected records), retryable (the sender keeps the records and retries), or
 * refused as a request (malformed, too large, unauthenticated).
 */
import type { Settled } from '../delivery/delivery.js';
import { GravityClientNotInitialisedError, GravityExportError, GravityHttpError, GravityRejectedError } from '../common/errors.js';
import type { Rejection } from '../mapping/map-record.js';

/** gRPC status codes the gateway answers with (grpc/status codes; the numbers are the protocol's). */
export const GRPC_CODE = Object.freeze({
  OK: 0,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
  UNIMPLEMENTED: 12,
});

export type Answer =
  /** HTTP 200 / gRPC OK; `rejected` > 0 becomes `partial_success`. */
  | { readonly kind: 'accepted'; readonly rejected: number; readonly message: string }
  /** HTTP 429 or 503 with Retry-After / gRPC RESOURCE_EXHAUSTED or UNAVAILABLE with RetryInfo. */
  | { readonly kind: 'retry'; readonly reason: 'overloaded' | 'unavailable'; readonly retryAfterMillis: number; readonly message: string }
  /** A request that cannot be taken as it is (not retryable). */
  | { readonly kind: 'refused'; readonly httpStatus: number; readonly grpcCode: number; readonly message: string };

/** Retry-After when the memory cap is reached: the requests in progress finish within their deadline. */
export const OVERLOADED_RETRY_AFTER_MILLIS = 1_000;
/**
 * Retry-After when Gravity could not be reached (or answered code 2000) and it gave no Retry-After: short, so
 * that an SDK's own retry budget (OTel JS: 5 attempts within its 10 s timeout) still covers a few tries.
 */
export const UNAVAILABLE_RETRY_AFTER_MILLIS = 2_000;
/** Retry-After while draining: another replica (or this one restarted) takes the retry. */
export const DRAINING_RETRY_AFTER_MILLIS = 1_000;
/** A Retry-After from Gravity is passed on, up to this. */
const MAX_RETRY_AFTER_MILLIS = 60_000;
/** Reasons quoted in one `error_message`; the count covers the rest. */
const MAX_REASONS = 10;

/**
 * Whether Gravity refused these records for good (sending them again would be refused again): a non-zero
 * `code` other than 2000, or a record too large for the service. Everything else (network errors, 5xx, 429,
 * code 2000, a deadline, a full buffer, a misconfigured token) is the gateway's or Gravity's state, not the
 * records' fault: the sender keeps them and retries.
 */
export function isRefusedForGood(error: Error | undefined): boolean {
  if (error instanceof GravityClientNotInitialisedError) return false;
  if (error instanceof GravityRejectedError) return true;
  if (error instanceof GravityHttpError) return error.status === 400 || error.status === 413 || error.status === 422;
  return error instanceof GravityExportError && error.code === 'GRAVITY_RECORD_TOO_LARGE';
}

/** What became of one request's records, by client. */
export interface Outcome {
  /** Clients all of whose records are delivered, spooled or refused for good. */
  readonly settledClients: Set<string>;
  /** Records refused for good by Gravity, with their reasons. */
  readonly refused: { records: number; reasons: string[] };
  /** Whether some records must be sent again (the answer is then retryable). */
  readonly retry: boolean;
  /** The longest Retry-After Gravity asked for, if any. */
  readonly retryAfterMillis: number | undefined;
  /** The first cause of a retry, for the message. */
  readonly firstRetryCause: string | undefined;
  /** Some records failed for a reason of Gravity's reachability (not a client's initialisation). */
  readonly unreachable: boolean;
}

export function summariseSettled(settled: readonly Settled[]): Outcome {
  const pendingClients = new Set<string>();
  const touched = new Set<string>();
  const refused = { records: 0, reasons: [] as string[] };
  let retryAfterMillis: number | undefined;
  let firstRetryCause: string | undefined;
  let unreachable = false;
  for (const s of settled) {
    touched.add(s.clientId);
    if (s.outcome === 'sent' || s.outcome === 'spooled') continue;
    if (s.outcome === 'failed' && isRefusedForGood(s.error)) {
      refused.records += s.records;
      if (refused.reasons.length < MAX_REASONS) refused.reasons.push(`client ${JSON.stringify(s.clientId)}: ${s.error?.message ?? 'refused'}`);
      continue;
    }
    // failed (retryably), dropped, or parked (only in spool mode, where parking is the pipeline's business)
    if (s.outcome === 'parked') continue;
    pendingClients.add(s.clientId);
    if (!(s.error instanceof GravityClientNotInitialisedError)) unreachable = true;
    firstRetryCause ??= `client ${JSON.stringify(s.clientId)}: ${s.error?.message ?? s.outcome}`;
    if (s.error instanceof GravityHttpError && s.error.retryAfterMillis !== undefined) {
      retryAfterMillis = Math.max(retryAfterMillis ?? 0, s.error.retryAfterMillis);
    }
  }
  const settledClients = new Set<string>();
  for (const client of touched) if (!pendingClients.has(client)) settledClients.add(client);
  return { settledClients, refused, retry: pendingClients.size > 0, retryAfterMillis, firstRetryCause, unreachable };
}

/** The `error_message` of `partial_success`: counts and the first reasons (each names its field). */
export function describeRejected(unit: string, rejections: readonly Rejection[], refused: { records: number; reasons: readonly string[] }): string {
  const parts: string[] = [];
  if (rejections.length > 0) {
    const reasons = rejections.slice(0, MAX_REASONS).map((r) => r.reason);
    const more = rejections.length > reasons.length ? `; and ${rejections.length - reasons.length} more` : '';
    parts.push(`${rejections.length} ${unit} rejected by validation: ${reasons.join('; ')}${more}`);
  }
  if (refused.records > 0) parts.push(`${refused.records} ${unit} refused by Gravity: ${refused.reasons.join('; ')}`);
  return parts.join('. ');
}

/** Gravity's own Retry-After when it gave one (at least 1 s, at most 60 s), else the default. */
export function retryAfterFor(outcome: Outcome): number {
  if (outcome.retryAfterMillis === undefined) return UNAVAILABLE_RETRY_AFTER_MILLIS;
  return Math.min(MAX_RETRY_AFTER_MILLIS, Math.max(1_000, outcome.retryAfterMillis));
}
