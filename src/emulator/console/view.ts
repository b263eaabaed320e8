/**
 * What the web console shows of a request: a plain, JSON-ready view built field by field from what the
 * emulator recorded. It is built from an allow-list, so the query string (where the access token travels)
 * and any header not listed here never reach the page.
 */
import { COLLECT_PATH } from '../../mapping/rules.js';
import { isOutageFault } from '../faults.js';
import type { EmulatorFault, ReceivedRequest } from '../types.js';

/** Request headers the console shows: how the body was encoded, debug mode, and who sent it. */
const SHOWN_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'gravity-content-compress', 'turbo-debug-mode', 'user-agent', 'version']);
/** `GE-Integration-*` and the iOS client's older `TA-Integration-*`. */
const INTEGRATION_HEADER = /^(ge|ta)-integration-[a-z]+$/;

/** Records of one request shown in full; a larger request shows this many and counts the rest. */
export const MAX_RECORDS_PER_ENTRY = 200;

/** A validation error split into the field it names and the reason. */
export interface FieldError {
  /** `properties.coins`, `headers.content-type`, `client_id`; `''` when the message names no field. */
  field: string;
  reason: string;
}

/** One record of a request's `event_list`, as sent (accepted or not). */
export interface ConsoleRecord {
  index: number;
  /** `track`, `profile`, or the JSON text of whatever else was sent. */
  type: string;
  event: string;
  time: number | undefined;
  timeFree: boolean | undefined;
  properties: unknown;
  /** The validation errors the emulator answered for this record. */
  errors: FieldError[];
}

/** What the client was answered. */
export type ConsoleResponse =
  | { kind: 'http'; status: number; code?: number; msg?: string; text?: string }
  | { kind: 'reset'; stored: boolean }
  | { kind: 'hang' };

/** One request as the console shows it. */
export interface ConsoleEntry {
  seq: number;
  receivedAt: number;
  method: string;
  /** The path only: the query string carries the access token. */
  path: string;
  /** A POST on the collect path. */
  collect: boolean;
  clientId?: string;
  clientIp?: string;
  clientUa?: string;
  /** The headers that matter, lower-case names (see SHOWN_HEADERS). */
  headers: Record<string, string>;
  compressed: boolean;
  rawLength: number;
  /** The decoded body parsed as JSON. */
  bodyIsJson: boolean;
  response: ConsoleResponse;
  /** The records were stored. */
  accepted: boolean;
  /** `'accepted'`, or why not: `HTTP 503`, `code 1: invalid data`, `connection reset`, `outage`, `no answer`. */
  outcome: string;
  /** The injected fault, described (`HTTP 503, Retry-After 1`, `outage: connection reset`). */
  fault?: string;
  /** Errors that name no single record (headers, client_id, event_list itself). */
  errors: FieldError[];
  records: ConsoleRecord[];
  /** Records not shown (past {@link MAX_RECORDS_PER_ENTRY}). */
  moreRecords: number;
}

/** Build the console's view of a request. */
export function toConsoleEntry(request: ReceivedRequest): ConsoleEntry {
  const body = isObject(request.body) ? request.body : undefined;
  const collect = request.path === COLLECT_PATH && request.method === 'POST';
  const response = describeResponse(request);
  const validationErrors = collect && response.kind === 'http' ? errorsOf(request) : [];
  const entry: ConsoleEntry = {
    seq: request.seq,
    receivedAt: request.receivedAt,
    method: request.method,
    path: request.path,
    collect,
    headers: shownHeaders(request.headers),
    compressed: request.compressed,
    rawLength: request.rawLength,
    bodyIsJson: request.body !== undefined,
    response,
    accepted: request.accepted,
    outcome: outcomeOf(request, response),
    errors: [],
    records: [],
    moreRecords: 0,
  };
  if (request.fault !== undefined) entry.fault = describeFault(request.fault);
  if (body !== undefined) {
    if (typeof body['client_id'] === 'string') entry.clientId = body['client_id'];
    if (typeof body['client_ip'] === 'string') entry.clientIp = body['client_ip'];
    if (typeof body['client_ua'] === 'string') entry.clientUa = body['client_ua'];
  }
  const list = Array.isArray(body?.['event_list']) ? (body['event_list'] as unknown[]) : [];
  const byRecord = new Map<number, FieldError[]>();
  for (const error of validationErrors) {
    const located = locateError(error);
    if (located.record === undefined) entry.errors.push(located.error);
    else {
      const errors = byRecord.get(located.record) ?? [];
      errors.push(located.error);
      byRecord.set(located.record, errors);
    }
  }
  list.slice(0, MAX_RECORDS_PER_ENTRY).forEach((item, index) => {
    entry.records.push(toConsoleRecord(item, index, byRecord.get(index) ?? []));
  });
  entry.moreRecords = Math.max(0, list.length - MAX_RECORDS_PER_ENTRY);
  // Errors of records past the shown ones stay visible on the request.
  for (const [index, errors] of byRecord) {
    if (index >= entry.records.length) entry.errors.push(...errors.map((e) => ({ field: `event_list[${index}].${e.field}`, reason: e.reason })));
  }
  return entry;
}

/** How many records the request carried (shown or not). */
export function recordCount(request: ReceivedRequest): number {
  const body = isObject(request.body) ? request.body : undefined;
  return Array.isArray(body?.['event_list']) ? (body['event_list'] as unknown[]).length : 0;
}

function toConsoleRecord(item: unknown, index: number, errors: FieldError[]): ConsoleRecord {
  if (!isObject(item)) {
    return { index, type: jsonText(item), event: '', time: undefined, timeFree: undefined, properties: item, errors };
  }
  const { type, event, time, time_free: timeFree, properties } = item;
  return {
    index,
    type: typeof type === 'string' ? type : jsonText(type),
    event: typeof event === 'string' ? event : jsonText(event),
    time: typeof time === 'number' ? time : undefined,
    timeFree: typeof timeFree === 'boolean' ? timeFree : undefined,
    properties: properties ?? null,
    errors,
  };
}

function shownHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (SHOWN_HEADERS.has(name) || INTEGRATION_HEADER.test(name)) shown[name] = value;
  }
  return shown;
}

function describeResponse(request: ReceivedRequest): ConsoleResponse {
  const { response } = request;
  if ('reset' in response) return { kind: 'reset', stored: request.accepted };
  if ('hang' in response) return { kind: 'hang' };
  const described: ConsoleResponse = { kind: 'http', status: response.status };
  const body = response.body;
  if (isObject(body) && typeof body['code'] === 'number') {
    described.code = body['code'];
    if (typeof body['msg'] === 'string') described.msg = body['msg'];
  } else if (isObject(body) && typeof body['error'] === 'string') {
    described.text = body['error'];
  } else if (typeof body === 'string') {
    described.text = body.slice(0, 200);
  }
  return described;
}

/** `'accepted'` or why not, as in {@link ConsoleEntry.outcome}. */
export function requestOutcome(request: ReceivedRequest): string {
  return outcomeOf(request, describeResponse(request));
}

function outcomeOf(request: ReceivedRequest, response: ConsoleResponse): string {
  if (response.kind === 'reset') {
    if (request.accepted) return 'accepted';
    return isOutageFault(request.fault) ? 'outage' : 'connection reset';
  }
  if (response.kind === 'hang') return 'no answer';
  if (response.status !== 200) return `HTTP ${response.status}`;
  if (response.code === 0) return 'accepted';
  if (response.code !== undefined) return `code ${response.code}: ${response.msg ?? ''}`.trim();
  return 'HTTP 200 without a Gravity answer';
}

/** A fault in a few words. */
export function describeFault(fault: EmulatorFault): string {
  if (isOutageFault(fault)) return 'outage: connection reset';
  switch (fault.kind) {
    case 'status':
      return `HTTP ${fault.status}${fault.retryAfter === undefined ? '' : `, Retry-After ${fault.retryAfter}`}`;
    case 'reset':
      return fault.when === 'after' ? 'connection reset after storing' : 'connection reset';
    case 'delay':
      return `delay ${fault.delayMillis} ms`;
    case 'hang':
      return 'no answer';
    case 'code':
      return `code ${fault.code}${fault.msg === undefined ? '' : ` (${fault.msg})`}`;
    default: {
      const unknown: never = fault;
      return String((unknown as { kind: unknown }).kind);
    }
  }
}

function errorsOf(request: ReceivedRequest): string[] {
  const { response } = request;
  if (!('status' in response) || !isObject(response.body)) return [];
  const extra = response.body['extra'];
  const errors = isObject(extra) ? extra['errors'] : undefined;
  return Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
}

/**
 * Split `event_list[2].properties["a b"].x: reason` into record 2, field `properties["a b"].x` and the reason.
 * The emulator's validator writes every error as `path: reason`; a path is names joined by `.`, `[n]` indices
 * and `["quoted"]` keys, so a `: ` inside a quoted key does not end it.
 */
export function locateError(text: string): { record?: number; error: FieldError } {
  const end = pathEnd(text);
  if (end === undefined) return { error: { field: '', reason: text } };
  const path = text.slice(0, end);
  const reason = text.slice(end + 2);
  const match = /^event_list\[(\d+)\](?:\.(.*))?$/s.exec(path);
  if (match === null) return { error: { field: path, reason } };
  return { record: Number(match[1]), error: { field: match[2] ?? '(record)', reason } };
}

/** Index of the `: ` that ends the leading path, or `undefined` when the text does not start with one. */
function pathEnd(text: string): number | undefined {
  let i = 0;
  let segments = 0;
  while (i < text.length) {
    if (text[i] === '[') {
      if (text[i + 1] === '"') {
        i += 2;
        while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
        if (text[i + 1] !== ']') return undefined;
        i += 2;
      } else {
        const close = text.indexOf(']', i);
        if (close < 0 || !/^\d+$/.test(text.slice(i + 1, close))) return undefined;
        i = close + 1;
      }
    } else {
      if (segments > 0) {
        if (text[i] !== '.') break;
        i++;
      }
      const start = i;
      while (i < text.length && /[A-Za-z0-9_$-]/.test(text[i]!)) i++;
      if (i === start) return undefined;
    }
    segments++;
    if (text.startsWith(': ', i)) return i;
  }
  return undefined;
}

function jsonText(value: unknown): string {
  return value === undefined ? '(missing)' : (JSON.stringify(value) ?? String(value));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
