/**
 * Delays that the emulator can cancel all at once, so `close()` and `setDown(true)` leave no timers behind.
 */

/** A set of pending sleeps. */
export interface CancellableTimers {
  /** Resolve `true` after `ms`, or `false` as soon as {@link cancelAll} runs. */
  sleep(ms: number): Promise<boolean>;
  /** Clear every pending timer and resolve its sleep with `false`. */
  cancelAll(): void;
}

/** Create an empty timer set. */
export function createCancellableTimers(): CancellableTimers {
  const pending = new Map<NodeJS.Timeout, (elapsed: boolean) => void>();
  return {
    sleep(ms) {
      if (ms <= 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(timer);
          resolve(true);
        }, ms);
        pending.set(timer, resolve);
      });
    },
    cancelAll() {
      for (const [timer, settle] of pending) {
        clearTimeout(timer);
        settle(false);
      }
      pending.clear();
    },
  };
}
