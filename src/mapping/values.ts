/**
 * Property values: what JSON can carry faithfully, `Date` formatting, and the limits of strict mode
 * (the service's value limits and formats).
 */
import { MAX_LIST_LENGTH, MAX_STRING_VALUE_BYTES } from './rules.js';
import type { GravityValue } from './wire-types.js';

/** Nesting deeper than this is refused (it is also how a circular structure ends). */
export const MAX_VALUE_DEPTH = 32;

/** A value that cannot be sent, with the dotted path to it and what is wrong. */
export interface ValueProblem {
  readonly path: string;
  readonly problem: string;
}

/** Marks an `undefined` value: dropped from objects (as JSON does), refused inside arrays. */
const OMIT: unique symbol = Symbol('omit');

class Problem implements ValueProblem {
  readonly path: string;
  readonly problem: string;
  constructor(path: string, problem: string) {
    this.path = path;
    this.problem = problem;
  }
}

type Normalised = GravityValue | typeof OMIT | Problem;

/**
 * Checks `value` and returns it ready for JSON: the same object when nothing needs to change
 * (no copy on the common path), a copy when a nested `Date` was formatted or an `undefined` dropped.
 * Returns `undefined` for an `undefined` value (the caller drops the property).
 */
export function toGravityValue(
  value: unknown,
  path: string,
  strict: boolean,
): { ok: true; value: GravityValue | undefined } | { ok: false; problem: ValueProblem } {
  const result = normalise(value, path, 0, strict);
  if (result instanceof Problem) return { ok: false, problem: result };
  return { ok: true, value: result === OMIT ? undefined : result };
}

/** What {@link normaliseValue} returns for a value that cannot be sent; {@link toGravityValue} says why. */
export const INVALID_VALUE: unique symbol = Symbol('invalid value');

/**
 * {@link toGravityValue} without the bookkeeping, for the per-record hot path: no result object and no path
 * strings are made. Returns the value ready for JSON (the same object when nothing changes), `undefined` for
 * `undefined`, or {@link INVALID_VALUE}, in which case `toGravityValue` gives the problem and its path.
 */
export function normaliseValue(value: unknown, strict: boolean): GravityValue | undefined | typeof INVALID_VALUE {
  const result = fast(value, 0, strict);
  return result === OMIT ? undefined : result;
}

/**
 * A copy of a checked value down to its leaves (a `Date` as a new `Date`), so that a caller who changes a
 * nested object or array afterwards does not change the super properties stored before. Scalars come back
 * as they are.
 */
export function snapshotValue<T>(value: T): T {
  return typeof value === 'object' && value !== null ? (snapshotObject(value) as T) : value;
}

function snapshotObject(value: object): unknown {
  if (Array.isArray(value)) {
    const length = value.length;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; i++) {
      const item: unknown = value[i];
      copy[i] = typeof item === 'object' && item !== null ? snapshotObject(item) : item;
    }
    return copy;
  }
  if (value instanceof Date) return new Date(value.getTime());
  const keys = Object.keys(value);
  const copy: Record<string, GravityValue> = {};
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item: unknown = (value as Record<string, unknown>)[key];
    setOwn(copy, key, (typeof item === 'object' && item !== null ? snapshotObject(item) : item) as GravityValue);
  }
  return copy;
}

/**
 * What {@link normaliseValue} walked over since {@link resetWalked}: characters of strings and object keys, and
 * values. The facade bounds a record's JSON size with it without a second walk (facade/record-size.ts).
 */
let walkedChars = 0;
let walkedValues = 0;

export function resetWalked(): void {
  walkedChars = 0;
  walkedValues = 0;
}

/**
 * An upper bound of the UTF-8 bytes of JSON of what was walked since {@link resetWalked}: 6 per character (an
 * escaped control character) and 32 per value (numbers, punctuation, a formatted `Date`).
 */
export function walkedJsonBytesBound(): number {
  return 6 * walkedChars + 32 * walkedValues;
}

type Fast = GravityValue | typeof OMIT | typeof INVALID_VALUE;

function fast(value: unknown, depth: number, strict: boolean): Fast {
  walkedValues++;
  switch (typeof value) {
    case 'string':
      walkedChars += value.length;
      if (strict && value.length * 3 > MAX_STRING_VALUE_BYTES && Buffer.byteLength(value, 'utf8') > MAX_STRING_VALUE_BYTES) {
        return INVALID_VALUE;
      }
      return value;
    case 'number':
      return Number.isFinite(value) ? value : INVALID_VALUE;
    case 'boolean':
      return value;
    case 'undefined':
      return OMIT;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_VALUE_DEPTH) return INVALID_VALUE;
      if (Array.isArray(value)) return fastArray(value, depth, strict);
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? INVALID_VALUE : formatGravityDate(value);
      if (isPlainObject(value)) return fastObject(value, depth, strict);
      return INVALID_VALUE;
    }
    default:
      return INVALID_VALUE;
  }
}

function fastArray(value: readonly unknown[], depth: number, strict: boolean): Fast {
  if (strict && value.length > MAX_LIST_LENGTH) return INVALID_VALUE;
  let copy: GravityValue[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const normalised = fast(item, depth + 1, strict);
    if (normalised === INVALID_VALUE || normalised === OMIT) return INVALID_VALUE;
    if (copy === undefined && normalised !== item) copy = value.slice(0, i) as GravityValue[];
    if (copy !== undefined) copy.push(normalised);
  }
  return copy ?? (value as GravityValue[]);
}

/** `copy[key] = value`, except that an own `__proto__` key (JSON.parse makes them) stays a key, not a prototype. */
function setOwn(copy: Record<string, GravityValue>, key: string, value: GravityValue): void {
  if (key === '__proto__') Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  else copy[key] = value;
}

function fastObject(value: Record<string, unknown>, depth: number, strict: boolean): Fast {
  let copy: Record<string, GravityValue> | undefined;
  let i = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    walkedChars += key.length;
    const item = value[key];
    const normalised = fast(item, depth + 1, strict);
    if (normalised === INVALID_VALUE) return INVALID_VALUE;
    if (copy === undefined && normalised !== item) {
      copy = {};
      let j = 0;
      for (const earlier in value) {
        if (!Object.prototype.hasOwnProperty.call(value, earlier)) continue;
        if (j++ >= i) break;
        setOwn(copy, earlier, value[earlier] as GravityValue);
      }
    }
    if (copy !== undefined && normalised !== OMIT) setOwn(copy, key, normalised);
    i++;
  }
  return copy ?? (value as Record<string, GravityValue>);
}

function normalise(value: unknown, path: string, depth: number, strict: boolean): Normalised {
  switch (typeof value) {
    case 'string':
      if (strict && value.length * 3 > MAX_STRING_VALUE_BYTES) {
        const bytes = Buffer.byteLength(value, 'utf8');
        if (bytes > MAX_STRING_VALUE_BYTES) {
          return new Problem(path, `string of ${bytes} UTF-8 bytes is over the ${MAX_STRING_VALUE_BYTES}-byte limit`);
        }
      }
      return value;
    case 'number':
      return Number.isFinite(value) ? value : new Problem(path, `${describeType(value)} cannot be sent as JSON`);
    case 'boolean':
      return value;
    case 'undefined':
      return OMIT;
    case 'object':
      if (value === null) return null;
      if (depth >= MAX_VALUE_DEPTH) {
        return new Problem(path, `nested deeper than ${MAX_VALUE_DEPTH} levels (or circular)`);
      }
      if (Array.isArray(value)) return normaliseArray(value, path, depth, strict);
      if (value instanceof Date) {
        return Number.isNaN(value.getTime()) ? new Problem(path, 'invalid Date') : formatGravityDate(value);
      }
      if (isPlainObject(value)) return normaliseObject(value, path, depth, strict);
      return new Problem(path, `${describeType(value)} cannot be sent as JSON`);
    default:
      return new Problem(path, `${describeType(value)} cannot be sent as JSON`);
  }
}

function normaliseArray(value: readonly unknown[], path: string, depth: number, strict: boolean): Normalised {
  if (strict && value.length > MAX_LIST_LENGTH) {
    return new Problem(path, `list of ${value.length} elements is over the ${MAX_LIST_LENGTH}-element limit`);
  }
  let copy: GravityValue[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const normalised = normalise(item, `${path}[${i}]`, depth + 1, strict);
    if (normalised instanceof Problem) return normalised;
    if (normalised === OMIT) return new Problem(`${path}[${i}]`, 'undefined cannot be sent as JSON');
    if (copy === undefined && normalised !== item) copy = value.slice(0, i) as GravityValue[];
    if (copy !== undefined) copy.push(normalised);
  }
  return copy ?? (value as GravityValue[]);
}

function normaliseObject(
  value: Record<string, unknown>,
  path: string,
  depth: number,
  strict: boolean,
): Normalised {
  let copy: Record<string, GravityValue> | undefined;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = value[key];
    const normalised = normalise(item, `${path}.${key}`, depth + 1, strict);
    if (normalised instanceof Problem) return normalised;
    if (copy === undefined && normalised !== item) {
      copy = {};
      for (let j = 0; j < i; j++) setOwn(copy, keys[j]!, value[keys[j]!] as GravityValue);
    }
    if (copy !== undefined && normalised !== OMIT) setOwn(copy, key, normalised);
  }
  return copy ?? (value as Record<string, GravityValue>);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A short name for a value's type, for rejection reasons: `string`, `NaN`, `Uint8Array`, `array`... */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'number':
      if (Number.isNaN(value)) return 'NaN';
      if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
      return 'number';
    case 'object': {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === 'string' && name !== 'Object' ? name : 'object';
    }
    default:
      return typeof value;
  }
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/**
 * Formats a date as Gravity's `YYYY-MM-DD HH:mm:ss.SSS` in the process's local time zone, as the
 * official SDKs and client SDKs do.
 */
export function formatGravityDate(date: Date): string {
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1, 2)}-${pad(date.getDate(), 2)} ` +
    `${pad(date.getHours(), 2)}:${pad(date.getMinutes(), 2)}:${pad(date.getSeconds(), 2)}.${pad(date.getMilliseconds(), 3)}`
  );
}
