/**
 * How the emulator answers a collect request, as the service does: HTTP 200 with `code` 0 when
 * stored, a non-zero `code` with `msg` (and `extra.errors`) otherwise.
 */
import { STATUS_CODES } from 'node:http';
import { CODE_CLIENT_NOT_INITIALISED, COLLECT_PATH } from '../mapping/rules.js';
import type { CollectPayload, CollectResponse } from '../mapping/wire-types.js';
import type { DecodedBody } from './body.js';
import type { EmulatorFault } from './types.js';
import { validateCollectRequest } from './validate.js';

/** `code` for rejected data; the service's other non-zero codes are undocumented. */
export const CODE_INVALID = 1;

/** What to answer, and the payload to store when the request is accepted. */
export interface Outcome {
  status: number;
  /** The answer as recorded in `ReceivedRequest.response.body` (parsed JSON, or the text). */
  body: unknown;
  bodyText: string;
  headers: Record<string, string>;
  accept?: CollectPayload;
}

/** Everything {@link evaluateCollectRequest} looks at. */
export interface CollectRequestInput {
  /** The decoded body, or `undefined` when it was larger than `maxBodyBytes`. */
  decoded: DecodedBody | undefined;
  rawLength: number;
  maxBodyBytes: number;
  /** Whether the request's access_token is the one the emulator requires (`true` when it requires none). */
  accessTokenMatches: boolean;
  headers: Readonly<Record<string, string>>;
  accessToken: string | undefined;
  strict: boolean;
  nowMillis: number;
  uninitialisedClients: ReadonlySet<string>;
}

/**
 * Decide the answer to a POST on the collect path: 413 when too large, then the access token, the body
 * encoding, validation (any error rejects the whole request) and the client's initialisation.
 */
export function evaluateCollectRequest(input: CollectRequestInput): Outcome {
  const { decoded } = input;
  if (decoded === undefined) {
    return jsonOutcome(413, {
      code: CODE_INVALID,
      msg: `request body of ${input.rawLength} bytes exceeds the limit of ${input.maxBodyBytes} bytes`,
      extra: {},
    });
  }
  if (input.accessToken !== undefined && !input.accessTokenMatches) {
    return gravityOutcome(CODE_INVALID, 'invalid access_token');
  }
  if (!decoded.ok) return gravityOutcome(CODE_INVALID, decoded.msg);
  const errors = validateCollectRequest(decoded.json, {
    nowMillis: input.nowMillis,
    strict: input.strict,
    headers: input.headers,
  });
  if (errors.length > 0) return gravityOutcome(CODE_INVALID, 'invalid data', { errors });
  // validateCollectRequest checked every field of CollectPayload.
  const payload = decoded.json as CollectPayload;
  if (input.uninitialisedClients.has(payload.client_id)) {
    return gravityOutcome(CODE_CLIENT_NOT_INITIALISED, 'client_id not initialised');
  }
  return { ...gravityOutcome(0, 'ok'), accept: payload };
}

/** The answer to a `{kind: 'status'}` fault: that status, `Retry-After` if given, and the body (JSON by default). */
export function faultStatusResponse(fault: Extract<EmulatorFault, { kind: 'status' }>): Outcome {
  const outcome =
    fault.body === undefined
      ? jsonOutcome(fault.status, { error: `injected fault: HTTP ${fault.status} ${STATUS_CODES[fault.status] ?? ''}`.trim() })
      : { status: fault.status, body: parseJsonOrText(fault.body), bodyText: fault.body, headers: { 'content-type': contentTypeOf(fault.body) } };
  if (fault.retryAfter !== undefined) outcome.headers['retry-after'] = String(fault.retryAfter);
  return outcome;
}

/** The answer to a `{kind: 'code'}` fault: HTTP 200 with that code. */
export function faultCodeResponse(fault: Extract<EmulatorFault, { kind: 'code' }>): Outcome {
  const defaultMsg = fault.code === CODE_CLIENT_NOT_INITIALISED ? 'client_id not initialised' : `injected fault: code ${fault.code}`;
  return gravityOutcome(fault.code, fault.msg ?? defaultMsg);
}

/** HTTP 404 for any path but the collect path. */
export function notFound(path: string): Outcome {
  return jsonOutcome(404, { error: `not found: ${path}; the collect endpoint is POST ${COLLECT_PATH}` });
}

/** HTTP 405 (with `Allow: POST`) for other methods on the collect path. */
export function methodNotAllowed(method: string): Outcome {
  const outcome = jsonOutcome(405, { error: `method ${method} not allowed; use POST` });
  outcome.headers['allow'] = 'POST';
  return outcome;
}

/** HTTP 200 with a Gravity response body. */
export function gravityOutcome(code: number, msg: string, extra: Record<string, unknown> = {}): Outcome {
  const body: CollectResponse = { code, msg, extra };
  return jsonOutcome(200, body);
}

/** An answer with a JSON body. */
export function jsonOutcome(status: number, body: unknown): Outcome {
  return {
    status,
    body,
    bodyText: JSON.stringify(body),
    headers: { 'content-type': 'application/json; charset=utf-8' },
  };
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function contentTypeOf(text: string): string {
  return parseJsonOrText(text) === text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
}
