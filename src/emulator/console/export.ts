/**
 * The console's downloads: accepted records as NDJSON in the shape `gravity-otel import` reads, and the
 * collect request bodies as they arrived.
 */
import { COLLECT_PATH } from '../../mapping/rules.js';
import type { AcceptedEvent, ReceivedRequest } from '../types.js';

/**
 * One line per accepted record: Gravity's record plus its request's `client_id`, `client_ip` and `client_ua`,
 * so `gravity-otel import` sends the same records again (`time_free` is kept as it arrived).
 */
export function recordsNdjson(events: readonly AcceptedEvent[]): string {
  let text = '';
  for (const event of events) {
    const line: Record<string, unknown> = { client_id: event.client_id };
    if (event.client_ip !== undefined) line['client_ip'] = event.client_ip;
    if (event.client_ua !== undefined) line['client_ua'] = event.client_ua;
    line['type'] = event.type;
    line['event'] = event.event;
    line['time'] = event.time;
    line['time_free'] = event.time_free;
    line['properties'] = event.properties;
    text += `${JSON.stringify(line)}\n`;
  }
  return text;
}

/**
 * One line per collect request whose body is JSON, accepted or not, in arrival order: the body text exactly as
 * it arrived (after gunzip). A body written over several lines (no Gravity SDK sends one) is put on one line;
 * the per-request download ({@link requestBody}) gives its exact bytes.
 */
export function bodiesNdjson(requests: readonly ReceivedRequest[]): string {
  let text = '';
  for (const request of requests) {
    if (!isCollectWithJson(request)) continue;
    text += /[\r\n]/.test(request.bodyText) ? JSON.stringify(request.body) : request.bodyText;
    text += '\n';
  }
  return text;
}

/** The decoded body text of one request, exactly as it arrived; `undefined` when there is no such request. */
export function requestBody(requests: readonly ReceivedRequest[], seq: number): string | undefined {
  return requests.find((request) => request.seq === seq)?.bodyText;
}

function isCollectWithJson(request: ReceivedRequest): boolean {
  return request.method === 'POST' && request.path === COLLECT_PATH && request.body !== undefined;
}
