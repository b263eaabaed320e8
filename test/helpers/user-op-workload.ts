/**
 * A workload whose outcome depends on order: each client gets a sequence of user operations (set, increment,
 * unset, set_once, append, delete, ...), so a profile built from them in another order ends up different.
 * Record `i` belongs to client `c<i % clients>` and carries its sequence number in its event time
 * (`T0 + i` ms; `unset` and `delete` have no other place for it), so arrival order can be checked per client.
 */
import type { LogAttributes, LogBody } from './otel-line.js';

/** Event time of record 0: an hour ago (well inside the service's 10-day window). */
export function workloadTimeOrigin(): number {
  return Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
}

interface Operation {
  readonly op: string;
  readonly body?: (n: number) => LogBody;
}

const OPERATIONS: readonly Operation[] = [
  { op: 'set', body: (n) => ({ level: n, plan: n % 2 === 0 ? 'free' : 'pro' }) },
  { op: 'increment', body: () => ({ coins: 3 }) },
  { op: 'unset', body: () => ['plan'] },
  { op: 'set_once', body: (n) => ({ first_level: n }) },
  { op: 'append', body: (n) => ({ path: [`step-${n}`] }) },
  { op: 'increment', body: (n) => ({ coins: -n }) },
  { op: 'delete' },
  { op: 'set', body: (n) => ({ level: n * 10 }) },
];

/** What `logger.emit` gets for record `i`. */
export function workloadRecord(i: number, clients: number, t0: number): { timestamp: number; body?: LogBody; attributes: LogAttributes } {
  const n = Math.floor(i / clients);
  const operation = OPERATIONS[n % OPERATIONS.length]!;
  const attributes: LogAttributes = { 'ge.client_id': `c${i % clients}`, 'ge.user_op': operation.op };
  const body = operation.body?.(n);
  return body === undefined ? { timestamp: t0 + i, attributes } : { timestamp: t0 + i, body, attributes };
}

/** The record number an accepted event carries. */
export function seqOfEvent(event: { time: number }, t0: number): number {
  return event.time - t0;
}

type Profile = Record<string, unknown>;

/** Applies profile operations (wire names) in the given order, as the service would. */
export function buildProfile(events: ReadonlyArray<{ event: string; properties: Record<string, unknown> }>): Profile {
  let profile: Profile = {};
  for (const { event, properties } of events) {
    switch (event) {
      case 'profile_set':
        profile = { ...profile, ...properties };
        break;
      case 'profile_set_once':
        for (const [key, value] of Object.entries(properties)) if (!(key in profile)) profile[key] = value;
        break;
      case 'profile_increment':
        for (const [key, value] of Object.entries(properties)) profile[key] = ((profile[key] as number | undefined) ?? 0) + (value as number);
        break;
      case 'profile_unset':
        for (const key of Object.keys(properties)) delete profile[key];
        break;
      case 'profile_append':
        for (const [key, value] of Object.entries(properties)) profile[key] = [...((profile[key] as unknown[] | undefined) ?? []), ...(value as unknown[])];
        break;
      case 'profile_delete':
        profile = {};
        break;
      default:
        throw new Error(`unexpected operation ${event}`);
    }
  }
  return profile;
}

/** Per client: the record numbers in arrival order (every arrival, duplicates included). */
export function arrivalsByClient(events: ReadonlyArray<{ client_id: string; time: number }>, t0: number): Map<string, number[]> {
  const byClient = new Map<string, number[]>();
  for (const event of events) {
    let seqs = byClient.get(event.client_id);
    if (seqs === undefined) byClient.set(event.client_id, (seqs = []));
    seqs.push(seqOfEvent(event, t0));
  }
  return byClient;
}

/** Clients whose arrivals are not exactly their records in emit order (no gap, no repeat, no swap). */
export function clientsOutOfOrder(arrivals: ReadonlyMap<string, readonly number[]>, total: number, clients: number): string[] {
  const wrong: string[] = [];
  for (let c = 0; c < clients; c++) {
    const expected: number[] = [];
    for (let i = c; i < total; i += clients) expected.push(i);
    const got = arrivals.get(`c${c}`) ?? [];
    if (got.length !== expected.length || got.some((seq, k) => seq !== expected[k])) wrong.push(`c${c}`);
  }
  return wrong;
}
