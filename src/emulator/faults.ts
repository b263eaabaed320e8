/**
 * Fault scheduling for the emulator: an outage window first, then a FIFO queue of faults, then optional seeded
 * random faults.
 */
import { randomInt } from 'node:crypto';
import type { EmulatorFault, RandomFaultConfig } from './types.js';

/** Decides which fault, if any, the next request gets. */
export interface FaultSchedule {
  /** Queue faults; each next request consumes one. */
  enqueue(faults: readonly EmulatorFault[]): void;
  /** Configure random faults (`null` turns them off). Throws `RangeError` on a bad configuration. */
  setRandom(config: RandomFaultConfig | null): void;
  /** The fault for the next request: the outage's while one lasts, else the queued one, else possibly a random one. */
  next(): EmulatorFault | undefined;
  /** Drop queued faults (random faults stay configured). */
  clearQueue(): void;
  /** The faults still queued, in the order they will apply. */
  queued(): readonly EmulatorFault[];
  /**
   * Until `untilMillis` (epoch milliseconds), every request's connection is reset before it is stored; queued
   * faults wait for the outage to end. `undefined` ends the outage now.
   */
  setOutage(untilMillis: number | undefined): void;
  /** When the current outage ends, or `undefined` when there is none. */
  outageEnd(): number | undefined;
}

/** The fault of a request that arrived during an outage; {@link isOutageFault} tells it from a queued reset. */
const OUTAGE_FAULT: EmulatorFault = Object.freeze({ kind: 'reset', when: 'before' });

/** The fault was applied because of an outage (see {@link FaultSchedule.setOutage}). */
export function isOutageFault(fault: EmulatorFault | undefined): boolean {
  return fault === OUTAGE_FAULT;
}

interface RandomState {
  rate: number;
  faults: readonly EmulatorFault[];
  random: () => number;
}

/** Create an empty fault schedule. Faults are validated when queued, so mistakes surface in the test that made them. */
export function createFaultSchedule(now: () => number = Date.now): FaultSchedule {
  const queue: EmulatorFault[] = [];
  let randomState: RandomState | undefined;
  let outageUntil: number | undefined;
  const outageEnd = (): number | undefined => {
    if (outageUntil !== undefined && now() >= outageUntil) outageUntil = undefined;
    return outageUntil;
  };
  return {
    enqueue(faults) {
      faults.forEach(assertValidFault);
      queue.push(...faults);
    },
    setRandom(config) {
      if (config === null) {
        randomState = undefined;
        return;
      }
      if (!(config.rate >= 0 && config.rate <= 1)) {
        throw new RangeError(`setRandomFaults: rate is invalid, expected a number in [0, 1] (actual: ${config.rate})`);
      }
      if (config.rate > 0 && config.faults.length === 0) {
        throw new RangeError('setRandomFaults: faults is invalid, expected at least one fault when rate > 0');
      }
      config.faults.forEach(assertValidFault);
      const seed = config.seed ?? randomInt(0, 2 ** 32);
      randomState = { rate: config.rate, faults: [...config.faults], random: createSeededRandom(seed) };
    },
    next() {
      if (outageEnd() !== undefined) return OUTAGE_FAULT;
      const queued = queue.shift();
      if (queued !== undefined) return queued;
      if (randomState === undefined || randomState.rate === 0) return undefined;
      if (randomState.random() >= randomState.rate) return undefined;
      const index = Math.floor(randomState.random() * randomState.faults.length);
      return randomState.faults[index];
    },
    clearQueue() {
      queue.length = 0;
    },
    queued: () => [...queue],
    setOutage(untilMillis) {
      if (untilMillis !== undefined && !Number.isFinite(untilMillis)) {
        throw new RangeError(`Emulator outage: end is invalid, expected epoch milliseconds (actual: ${untilMillis})`);
      }
      outageUntil = untilMillis;
    },
    outageEnd,
  };
}

/**
 * mulberry32: a small, fast PRNG with a 32-bit state. Good enough for test fault patterns, and the
 * same seed always yields the same sequence, which is the point.
 */
export function createSeededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function assertValidFault(fault: EmulatorFault): void {
  switch (fault.kind) {
    case 'status':
      if (!Number.isInteger(fault.status) || fault.status < 100 || fault.status > 599) {
        throw new RangeError(`Emulator fault: status is invalid, expected an integer in [100, 599] (actual: ${fault.status})`);
      }
      return;
    case 'delay':
      if (!(fault.delayMillis >= 0) || !Number.isFinite(fault.delayMillis)) {
        throw new RangeError(`Emulator fault: delayMillis is invalid, expected a finite number >= 0 (actual: ${fault.delayMillis})`);
      }
      return;
    case 'code':
      if (!Number.isInteger(fault.code) || fault.code === 0) {
        throw new RangeError(`Emulator fault: code is invalid, expected a non-zero integer (actual: ${fault.code})`);
      }
      return;
    case 'reset':
    case 'hang':
      return;
    default: {
      const unknown: never = fault;
      throw new TypeError(`Emulator fault: kind is invalid (actual: ${JSON.stringify(unknown)})`);
    }
  }
}
