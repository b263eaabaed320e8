/**
 * What the emulator keeps for inspection: received requests, accepted payloads and records, and the
 * event-driven waiters of `waitForEvents` / `waitForRequests`.
 */
import type { CollectPayload } from '../mapping/wire-types.js';
import type { AcceptedEvent, ReceivedRequest } from './types.js';

/** Default of `waitForEvents` / `waitForRequests`. */
export const DEFAULT_WAIT_TIMEOUT_MILLIS = 5000;

/** The emulator's memory. */
export interface Recorder {
  /** Add a request whose outcome is decided; kept in `seq` order. */
  addRequest(request: ReceivedRequest): void;
  /** Store the records of an accepted request. */
  accept(requestSeq: number, payload: CollectPayload): void;
  requests(): ReceivedRequest[];
  payloads(): CollectPayload[];
  events(): AcceptedEvent[];
  waitForEvents(count: number, timeoutMillis: number): Promise<AcceptedEvent[]>;
  waitForRequests(count: number, timeoutMillis: number): Promise<ReceivedRequest[]>;
  /** Forget requests, payloads and records (waiters keep waiting for new ones). */
  clear(): void;
  /** Reject every pending waiter with this error and clear their timers. */
  rejectWaiters(error: Error): void;
  /** Call `listener` for each request added and each clear from now on; returns the function that stops it. */
  subscribe(listener: RecorderListener): () => void;
}

/** Told of changes as they happen. Exceptions it throws are ignored: an observer must not break the emulator. */
export interface RecorderListener {
  /** A request was added (its records, if accepted, are already stored). */
  request?(request: ReceivedRequest): void;
  /** Requests, payloads and records were forgotten. */
  cleared?(): void;
}

interface Waiter {
  check(): boolean;
  reject(error: Error): void;
}

/** Create an empty recorder. */
export function createRecorder(): Recorder {
  const requests: ReceivedRequest[] = [];
  const payloads: CollectPayload[] = [];
  const events: AcceptedEvent[] = [];
  const waiters = new Set<Waiter>();
  const listeners = new Set<RecorderListener>();

  const tell = (call: (listener: RecorderListener) => void): void => {
    for (const listener of listeners) {
      try {
        call(listener);
      } catch {
        // an observer's bug must not break the emulator
      }
    }
  };

  const notify = (): void => {
    for (const waiter of waiters) if (waiter.check()) waiters.delete(waiter);
  };

  function waitFor<T>(what: string, count: number, timeoutMillis: number, current: () => T[]): Promise<T[]> {
    if (!Number.isInteger(count) || count < 0) {
      return Promise.reject(new RangeError(`waitFor ${what}: count is invalid, expected an integer >= 0 (actual: ${count})`));
    }
    if (!(timeoutMillis >= 0)) {
      return Promise.reject(new RangeError(`waitFor ${what}: timeoutMillis is invalid, expected a number >= 0 (actual: ${timeoutMillis})`));
    }
    if (current().length >= count) return Promise.resolve(current());
    return new Promise<T[]>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          if (current().length < count) return false;
          clearTimeout(timer);
          resolve(current());
          return true;
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(
          new Error(
            `Gravity emulator: timed out after ${timeoutMillis} ms waiting for ${count} ${what}; got ${current().length}`,
          ),
        );
      }, timeoutMillis);
      waiters.add(waiter);
    });
  }

  return {
    addRequest(request) {
      let index = requests.length;
      while (index > 0 && requests[index - 1]!.seq > request.seq) index--;
      requests.splice(index, 0, request);
      notify();
      tell((listener) => listener.request?.(request));
    },
    accept(requestSeq, payload) {
      payloads.push(payload);
      for (const item of payload.event_list) {
        const event: AcceptedEvent = {
          ...item,
          // PHP, Ruby and C++ omit time_free; the service treats it as false.
          time_free: item.time_free ?? false,
          client_id: payload.client_id,
          requestSeq,
        };
        if (payload.client_ip !== undefined) event.client_ip = payload.client_ip;
        if (payload.client_ua !== undefined) event.client_ua = payload.client_ua;
        events.push(event);
      }
      notify();
    },
    requests: () => [...requests],
    payloads: () => [...payloads],
    events: () => [...events],
    waitForEvents: (count, timeoutMillis) => waitFor('accepted events', count, timeoutMillis, () => [...events]),
    waitForRequests: (count, timeoutMillis) => waitFor('requests', count, timeoutMillis, () => [...requests]),
    clear() {
      requests.length = 0;
      payloads.length = 0;
      events.length = 0;
      tell((listener) => listener.cleared?.());
    },
    rejectWaiters(error) {
      for (const waiter of waiters) waiter.reject(error);
      waiters.clear();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
