/**
 * Why records of an import were not delivered, in words for its summary, and which failures mean the endpoint
 * itself refuses or cannot be reached (the import then stops early rather than grinding through the file).
 */
import {
  GravityClientNotInitialisedError,
  GravityHttpError,
  GravityNetworkError,
  GravityRejectedError,
  GravityTimeoutError,
  truncate,
} from '../../common/errors.js';
import { redact } from '../../common/diag.js';

/** What records abandoned by an interrupted or stopped import are told. */
export const STOPPED_BEFORE_DELIVERY = 'not sent: the import stopped before Gravity confirmed them';

/** Network errors that say nothing listens at the URL, or that its host cannot be found or reached. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** TLS failures: a certificate that does not verify, or no TLS at all where https was asked for. */
const TLS_CODE = /CERT|TLS|SSL|EPROTO|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** An attempt or record given up by the import itself (interrupted, or stopped already): not the endpoint's doing. */
export function isAbandonment(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'GRAVITY_SHUTDOWN' || (error instanceof GravityNetworkError && error.networkCode === 'ABORTED');
}

/** One line of text per distinct cause (requests refused alike share it); never the access token. */
export function describeFailure(error: Error | undefined, outcome: string): string {
  if (error === undefined) return `not delivered (${outcome})`;
  if (isAbandonment(error)) return STOPPED_BEFORE_DELIVERY;
  return redact(truncate(error.message.replace(/\s+/g, ' '), 300));
}

/**
 * How a failed attempt bears on the endpoint: `refused` (a token, path or app refused, or nothing to
 * connect to: every other request will fail alike), `silent` (no answer in time: the same, while no request
 * has ever succeeded), or `other` (a failure of this request: a 5xx, a reset, a client not initialised).
 */
export function classifyFailure(error: Error): 'refused' | 'silent' | 'other' {
  if (error instanceof GravityHttpError) return error.status === 401 || error.status === 403 || error.status === 404 ? 'refused' : 'other';
  if (error instanceof GravityClientNotInitialisedError) return 'other';
  if (error instanceof GravityRejectedError) return 'refused';
  if (error instanceof GravityTimeoutError) return 'silent';
  if (error instanceof GravityNetworkError) {
    const code = error.networkCode ?? '';
    const cause = (error.cause as { code?: unknown } | undefined)?.code;
    const codes = [code, typeof cause === 'string' ? cause : ''];
    return codes.some((c) => UNREACHABLE_CODES.has(c) || TLS_CODE.test(c)) ? 'refused' : 'other';
  }
  return 'other';
}

/** What to check for the cause that stopped an import early: a sentence. */
export function hintFor(error: Error): string | undefined {
  if (error instanceof GravityHttpError && (error.status === 401 || error.status === 403)) {
    return 'Check the access token (--token or GE_ACCESS_TOKEN).';
  }
  if (error instanceof GravityHttpError && error.status === 404) return 'Check the URL (--url or GE_SERVER_URL): nothing is served at that path.';
  if (error instanceof GravityRejectedError && /token|app/i.test(error.serviceMessage)) {
    return 'Check the access token (--token or GE_ACCESS_TOKEN).';
  }
  if (error instanceof GravityNetworkError || error instanceof GravityTimeoutError) return 'Check the URL (--url or GE_SERVER_URL) and that the endpoint is up.';
  return undefined;
}
