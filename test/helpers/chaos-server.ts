/**
 * A collect endpoint on 127.0.0.1 that misbehaves around the client's request timeout: answers landing just
 * before, at or after it, bodies trickled across it, resets before the headers, mid-body and after the body,
 * half-closed sockets, 413s, 5xx, refusals and garbage. Every choice is drawn from a PRNG seeded with the run's
 * seed, the request's first record id, its record count and its attempt number, so a seed replays the same
 * behaviours whatever order concurrent requests arrive in.
 *
 * Records are told apart by their `chaos_id` property. The server remembers which ids it stored (answered, or
 * began to answer, with code 0), so a test can hold the exporter's `sent` count against what really arrived.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createSeededRandom } from '../../src/emulator/faults.js';

export const BEHAVIOURS = [
  'ok',
  'late',
  'trickle',
  'reset-before-headers',
  'reset-mid-body',
  'reset-after-body',
  'half-close-before-headers',
  'half-close-mid-body',
  'too-large',
  'server-error',
  'refused',
  'uninitialised',
  'garbage',
  'hang',
] as const;
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Relative weights of the behaviours; a behaviour left out never happens. */
export type BehaviourMix = Partial<Record<Behaviour, number>>;

/** Most answers land around the timeout: that is where the exporter used to crash. */
export const DEFAULT_MIX: BehaviourMix = {
  ok: 3,
  late: 5,
  trickle: 5,
  'reset-before-headers': 2,
  'reset-mid-body': 3,
  'reset-after-body': 2,
  'half-close-before-headers': 1,
  'half-close-mid-body': 2,
  'too-large': 1,
  'server-error': 2,
  refused: 0.5,
  garbage: 0.5,
  hang: 0.5,
};

export interface ChaosServerOptions {
  readonly seed: number;
  /** The client's `timeoutMillis`: answers are timed around it. */
  readonly timeoutMillis: number;
  /** How far from the timeout an answer may land, either way. @default 150 */
  readonly spreadMillis?: number;
  /** Behaviours of first attempts. @default DEFAULT_MIX */
  readonly mix?: BehaviourMix;
  /** Behaviours of later attempts. @default the same as `mix` */
  readonly retryMix?: BehaviourMix;
  /**
   * Other mixes, chosen per request by the query parameter `mix=<name>` (first and later attempts alike);
   * `calm` (always `ok`) is built in.
   */
  readonly namedMixes?: Readonly<Record<string, BehaviourMix>>;
}

export interface ChaosServer {
  readonly url: string;
  /** Ids of the records the server stored (a code 0 answer was sent or begun). */
  readonly stored: ReadonlySet<string>;
  /** Requests per behaviour. */
  readonly tally: Readonly<Partial<Record<Behaviour, number>>>;
  /** Requests whose body could not be read as a collect payload (answered 400). */
  readonly unreadable: number;
  close(): Promise<void>;
}

const OK_BODY = '{"code":0,"msg":"ok"}';

/** FNV-1a, 32 bits: turns a request's (or a round's) identity into a PRNG seed. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The emulator's seeded PRNG (mulberry32): a seed always replays the same behaviours. */
export const seededRandom = createSeededRandom;

function pick(mix: BehaviourMix, random: () => number): Behaviour {
  const entries = Object.entries(mix).filter(([, weight]) => weight !== undefined && weight > 0) as Array<[Behaviour, number]>;
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let at = random() * total;
  for (const [behaviour, weight] of entries) {
    at -= weight;
    if (at < 0) return behaviour;
  }
  return entries[entries.length - 1]![0];
}

interface Payload {
  readonly ids: string[];
}

function readPayload(req: IncomingMessage, bytes: Buffer): Payload | undefined {
  try {
    const raw = req.headers['gravity-content-compress'] === 'gzip' ? gunzipSync(bytes) : bytes;
    const body = JSON.parse(raw.toString('utf8')) as { event_list?: Array<{ properties?: { chaos_id?: unknown } }> };
    const ids = (body.event_list ?? []).map((event) => String(event.properties?.chaos_id));
    return ids.length > 0 ? { ids } : undefined;
  } catch {
    return undefined;
  }
}

export async function startChaosServer(options: ChaosServerOptions): Promise<ChaosServer> {
  const { seed, timeoutMillis } = options;
  const spread = options.spreadMillis ?? 150;
  const mix = options.mix ?? DEFAULT_MIX;
  const retryMix = options.retryMix ?? mix;
  const stored = new Set<string>();
  const tally: Partial<Record<Behaviour, number>> = {};
  const attempts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let unreadable = 0;
  let closed = false;

  const later = (millis: number, action: () => void): void => {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) action();
    }, Math.max(0, millis));
    timers.add(timer);
  };

  /** Writes `text` a few bytes at a time, `everyMillis` apart, then calls `done`. */
  const trickle = (res: ServerResponse, text: string, everyMillis: number, random: () => number, done: () => void): void => {
    let at = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (at >= text.length) {
        done();
        return;
      }
      const size = 1 + Math.floor(random() * 3);
      res.write(text.slice(at, at + size));
      at += size;
      later(everyMillis, step);
    };
    step();
  };

  const answer = (req: IncomingMessage, res: ServerResponse, payload: Payload): void => {
    const key = `${payload.ids[0]}/${payload.ids.length}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const random = seededRandom(hash32(`${seed}:${key}:${attempt}`));
    const mixName = /[?&]mix=([\w-]+)/.exec(req.url ?? '')?.[1] ?? null;
    const named = mixName === null ? undefined : mixName === 'calm' ? { ok: 1 } : options.namedMixes?.[mixName];
    const behaviour = pick(named ?? (attempt === 1 ? mix : retryMix), random);
    tally[behaviour] = (tally[behaviour] ?? 0) + 1;
    // When the answer lands: anywhere within `spread` of the client's timeout.
    const landing = timeoutMillis + Math.round((random() * 2 - 1) * spread);
    const early = Math.floor(random() * landing);
    const socket = res.socket;
    const store = (): void => {
      for (const id of payload.ids) stored.add(id);
    };
    const json = (status: number, body: string, headers: Record<string, string> = {}): void => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    };
    switch (behaviour) {
      case 'ok':
        store();
        later(Math.floor(random() * 20), () => json(200, OK_BODY));
        return;
      case 'late':
        store();
        later(landing, () => json(200, OK_BODY));
        return;
      case 'trickle': {
        store();
        // Headers shortly before the landing time, the body trickled across it (with or without a length).
        const declared = random() < 0.5;
        const every = 10 + Math.floor(random() * 40);
        later(landing - Math.floor(random() * spread), () => {
          if (res.destroyed) return;
          res.writeHead(200, declared ? { 'content-type': 'application/json', 'content-length': String(OK_BODY.length) } : { 'content-type': 'application/json' });
          res.flushHeaders();
          trickle(res, OK_BODY, every, random, () => res.end());
        });
        return;
      }
      case 'reset-before-headers':
        later(random() < 0.5 ? early : landing, () => socket?.destroy());
        return;
      case 'reset-mid-body': {
        store();
        const cut = 1 + Math.floor(random() * (OK_BODY.length - 2));
        later(landing - Math.floor(random() * spread), () => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(OK_BODY.length) });
          res.write(OK_BODY.slice(0, cut));
          later(Math.floor(random() * spread), () => socket?.destroy());
        });
        return;
      }
      case 'reset-after-body':
        store();
        later(landing, () => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(OK_BODY.length) });
          res.end(OK_BODY, () => socket?.destroy());
        });
        return;
      case 'half-close-before-headers':
        later(random() < 0.5 ? early : landing, () => socket?.end());
        return;
      case 'half-close-mid-body':
        store();
        later(landing - Math.floor(random() * spread), () => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(OK_BODY.slice(0, 5));
          later(Math.floor(random() * spread), () => socket?.end());
        });
        return;
      case 'too-large':
        later(random() < 0.5 ? early : landing, () => json(413, '{"error":"request entity too large"}'));
        return;
      case 'server-error': {
        const status = [500, 502, 503][Math.floor(random() * 3)]!;
        const headers: Record<string, string> = random() < 0.3 ? { 'retry-after': '0' } : {};
        later(random() < 0.5 ? early : landing, () => json(status, '{"error":"chaos"}', headers));
        return;
      }
      case 'refused':
        later(random() < 0.5 ? early : landing, () => json(200, '{"code":10001,"msg":"refused by the chaos server"}'));
        return;
      case 'uninitialised':
        later(random() < 0.5 ? early : landing, () => json(200, '{"code":2000,"msg":"client not initialised"}'));
        return;
      case 'garbage':
        later(random() < 0.5 ? early : landing, () => {
          if (res.destroyed) return;
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html>not a Gravity answer</html>');
        });
        return;
      case 'hang':
        return; // until the client gives up, or close()
      default: {
        const unknown: never = behaviour;
        throw new TypeError(`unknown behaviour ${String(unknown)}`);
      }
    }
  };

  const server = createServer((req, res) => {
    // The client may destroy its socket at any moment (its deadline): nothing here may throw for that.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (closed || res.destroyed) return;
      const payload = readPayload(req, Buffer.concat(chunks));
      if (payload === undefined) {
        unreadable++;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"not a collect payload"}');
        return;
      }
      answer(req, res, payload);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  // A half-closed or reset request is the client's business; answer nothing and let it go.
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/event_center/api/v1/event/collect/`,
    stored,
    tally,
    get unreadable() {
      return unreadable;
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
