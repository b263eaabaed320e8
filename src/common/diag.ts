/**
 * The package's logging: component loggers on OTel's `diag` that are visible without any set-up, and the
 * access token kept out of every line. No code in this package logs anywhere else.
 *
 * ## API (stable; every part of the package reports through it)
 * `const log = createLogger('<part>', sink?)` gives a {@link GravityLogger}:
 * - `log.debug / verbose / info(message, ...args)`: OTel's `diag` only.
 * - `log.warn / error(message, ...args)`: `diag`, and the *sink* while no OTel diag logger is registered.
 *   For the sink's rate limit, lines with the same text (digits aside) are one cause.
 * - `log.report(cause, message, level = 'warn')`: `diag` at `level`, and the sink whatever the level, with an
 *   explicit cause key: short, stable and bounded (`attempt_failed:http_503`, `not_delivered:code_1`), never
 *   data that varies per record or request (a client id, a count). `report(cause, message, 'debug')` is a line
 *   a user who set nothing up must see at once (the first failed attempt) but a diag user sees only at debug.
 * `causeOf(error)` in common/errors.ts gives the cause part of a delivery error (`http_404`, `network_ECONNREFUSED`).
 *
 * Use `warn`/`report` for what a user must learn to fix or to know data is lost: delivery failures with their
 * cause, records rejected, dropped or spooled, bad settings. Use `error` for bugs. Everything else is debug.
 * Messages are redacted here; they never need to (and must not) contain the token.
 *
 * ## The sink (what OTel exporters do not have)
 * OTel's exporters are quiet until `diag.setLogger()` is called: telemetry is disposable. Analytics records
 * are not, so while no diag logger is registered, warnings, errors and reports also go to the sink, `stderr`
 * by default: one line each, `gravity-otel-exporter: <message>`, at most one per cause per
 * {@link REPORT_INTERVAL_MILLIS}; a line at the end of the interval (or at exit) gives the count of those
 * held back. With a diag logger registered they go to `diag` only (whatever level it keeps). The sink is the
 * exporters' `diagnostics` option, else `GE_DIAGNOSTICS` (`stderr`, `stdout` or `off`), else `stderr`;
 * `off` leaves `diag` alone. A sink function gets each line instead of stderr.
 */
import { writeSync } from 'node:fs';
import { diag } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';

const NAMESPACE = 'gravity-otel-exporter';
const REDACTED = '[REDACTED]';
/** Shorter secrets are only redacted where they stand as an `access_token` query value. */
const MIN_SECRET_CHARS = 6;
const secrets = new Set<string>();

/** Remembers a secret (the access token) so that `redact` removes it from any text. */
export function registerSecret(secret: string): void {
  // A very short "secret" would blank out unrelated text everywhere; query values are redacted anyway.
  if (secret.length < MIN_SECRET_CHARS) return;
  secrets.add(secret);
  // Its encoded forms are worked out once, here, not on every redact: as encodeURIComponent writes it, and as
  // URLs show it elsewhere than in access_token=: a query value (URLSearchParams: + for space, %7E…) and a
  // path segment (WHATWG URL leaves !'()* as they are).
  const forms = [encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)];
  if (!/[?#]/.test(secret)) forms.push(new URL(`http://h/${secret}`).pathname.slice(1));
  // An encoding is never shorter than the secret: anything shorter would blank out a fragment everywhere.
  for (const form of forms) if (form.length >= secret.length) secrets.add(form);
}

/**
 * An `access_token=` query value, up to the next separator. Punctuation that ends a sentence or closes a
 * bracket is given back to the text (`(actual: …?access_token=x)`), and a value made only of dots is prose
 * (`put access_token=... in the url`), not a token.
 */
const TOKEN_QUERY_VALUE = /(access_token=)(?!\[REDACTED\])([^&#\s"'<>]*)/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)]+$/;

function redactQueryValue(match: string, name: string, value: string): string {
  const tail = TRAILING_PUNCTUATION.exec(value)?.[0] ?? '';
  const token = value.slice(0, value.length - tail.length);
  return token === '' || /^[.…]+$/.test(token) ? match : `${name}${REDACTED}${tail}`;
}

/** Removes `access_token=` query values and every registered secret from `text`; the rest stays as written. */
export function redact(text: string): string {
  let result = text.replace(TOKEN_QUERY_VALUE, redactQueryValue);
  for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  return result;
}

function redactArgument(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return redact(`${value.name}: ${value.message}`);
  return value;
}

/**
 * Where warnings and errors go while no OTel diag logger is registered: `stderr` (the default), `stdout`,
 * `off`, or a function given each line (without a trailing newline). See the exporters' `diagnostics` option.
 */
export type GravityDiagnostics = 'stderr' | 'stdout' | 'off' | ((line: string, level: 'warn' | 'error') => void);

/** The values `GE_DIAGNOSTICS` takes. */
export const DIAGNOSTICS_ENV_VALUES: readonly string[] = Object.freeze(['stderr', 'stdout', 'off']);

/** Whether `value` is a valid {@link GravityDiagnostics}. */
export function isGravityDiagnostics(value: unknown): value is GravityDiagnostics {
  return typeof value === 'function' || (typeof value === 'string' && DIAGNOSTICS_ENV_VALUES.includes(value));
}

/** The sink when none is given: `GE_DIAGNOSTICS` as it is now (an invalid value means `stderr`). */
function defaultDiagnostics(): GravityDiagnostics {
  const raw = process.env['GE_DIAGNOSTICS']?.trim().toLowerCase();
  return raw !== undefined && isGravityDiagnostics(raw) ? raw : 'stderr';
}

/** Where `diag.setLogger` keeps the logger, the same key in api 1.x up to 1.10 (`internal/global-utils`). */
const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/** Whether an OTel diag logger is registered (`diag.setLogger` was called and `diag.disable` was not since). */
export function isDiagLoggerRegistered(): boolean {
  const api = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[OTEL_API_GLOBAL];
  return api?.diag !== undefined;
}

/** How long a cause stays quiet after its line. */
export const REPORT_INTERVAL_MILLIS = 60_000;
/** Causes remembered at once; past it the oldest is forgotten (its held-back count is written first). */
const MAX_CAUSES = 1_000;

interface CauseState {
  windowEndMillis: number;
  held: number;
  latest: string;
  level: 'warn' | 'error';
  timer: NodeJS.Timeout | undefined;
}

/**
 * Writes lines, at most one per cause per interval; the count of those held back follows at the interval's end.
 * @internal
 */
export interface Throttle {
  write(cause: string, level: 'warn' | 'error', line: string): void;
  /** Writes every held-back count now (at exit). */
  flush(): void;
}

/** @internal */
export interface ThrottleOptions {
  readonly intervalMillis?: number;
  readonly now?: () => number;
  /** Runs `callback` after `millis`; returns a handle for `cancel`. @default an unref'd setTimeout */
  readonly schedule?: (callback: () => void, millis: number) => NodeJS.Timeout;
  readonly cancel?: (handle: NodeJS.Timeout) => void;
}

/**
 * Rate limit of the sink, exported for its tests.
 * @internal
 */
export function createThrottle(output: (line: string, level: 'warn' | 'error') => void, options: ThrottleOptions = {}): Throttle {
  const intervalMillis = options.intervalMillis ?? REPORT_INTERVAL_MILLIS;
  const now = options.now ?? Date.now;
  const schedule =
    options.schedule ??
    ((callback: () => void, millis: number): NodeJS.Timeout => {
      const timer = setTimeout(callback, millis);
      timer.unref();
      return timer;
    });
  const cancel = options.cancel ?? clearTimeout;
  const causes = new Map<string, CauseState>();

  const emit = (line: string, level: 'warn' | 'error'): void => {
    try {
      output(line, level);
    } catch {
      // A broken sink (a closed stderr, a throwing function) must not break the caller.
    }
  };

  const writeHeld = (state: CauseState): void => {
    const seconds = Math.max(1, Math.ceil((now() - (state.windowEndMillis - intervalMillis)) / 1000));
    emit(`${state.latest} (${state.held} more like this in the last ${seconds} s)`, state.level);
    state.held = 0;
  };

  const endWindow = (cause: string, state: CauseState): void => {
    state.timer = undefined;
    if (state.held === 0) {
      causes.delete(cause);
      return;
    }
    writeHeld(state);
    // A new quiet interval starts with this line: at most one line per interval, whatever the rate.
    state.windowEndMillis = now() + intervalMillis;
    state.timer = schedule(() => endWindow(cause, state), intervalMillis);
  };

  return {
    write(cause, level, line) {
      const state = causes.get(cause);
      const at = now();
      if (state === undefined || at >= state.windowEndMillis) {
        if (state !== undefined) {
          if (state.timer !== undefined) cancel(state.timer);
          causes.delete(cause);
        }
        emit(line, level);
        if (causes.size >= MAX_CAUSES) {
          const [oldestCause, oldest] = causes.entries().next().value as [string, CauseState];
          if (oldest.timer !== undefined) cancel(oldest.timer);
          if (oldest.held > 0) writeHeld(oldest);
          causes.delete(oldestCause);
        }
        causes.set(cause, { windowEndMillis: at + intervalMillis, held: 0, latest: line, level, timer: undefined });
        return;
      }
      state.held++;
      state.latest = line;
      if (level === 'error') state.level = 'error';
      state.timer ??= schedule(() => endWindow(cause, state), Math.max(0, state.windowEndMillis - at));
    },
    flush() {
      for (const state of causes.values()) {
        if (state.timer !== undefined) cancel(state.timer);
        state.timer = undefined;
        if (state.held > 0) writeHeld(state);
      }
      causes.clear();
    },
  };
}

const streamThrottles = new Map<'stderr' | 'stdout', Throttle>();
/** Per sink function, weakly: an exporter's function must not be kept alive by the logger. */
const functionThrottles = new WeakMap<object, Throttle>();
const everyThrottle = new Set<WeakRef<Throttle>>();
let exitHookInstalled = false;

function throttleOf(sink: Exclude<GravityDiagnostics, 'off'>): Throttle {
  let throttle = typeof sink === 'function' ? functionThrottles.get(sink) : streamThrottles.get(sink);
  if (throttle !== undefined) return throttle;
  if (typeof sink === 'function') {
    throttle = createThrottle(sink);
    functionThrottles.set(sink, throttle);
  } else {
    const fd = sink === 'stdout' ? 1 : 2;
    // A synchronous write to the descriptor, not process.stderr.write: on a closed pipe (`app 2>&1 | head`) the
    // stream would emit EPIPE as an 'error' event, which crashes the host; here the line is lost, nothing else.
    throttle = createThrottle((line) => {
      try {
        writeSync(fd, `${line}\n`);
      } catch {
        // EPIPE, EAGAIN on a full non-blocking pipe: diagnostics are best effort.
      }
    });
    streamThrottles.set(sink, throttle);
  }
  for (const ref of everyThrottle) if (ref.deref() === undefined) everyThrottle.delete(ref);
  everyThrottle.add(new WeakRef(throttle));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Counts still held back when the process ends are written then (stream writes to files and pipes are synchronous).
    process.once('exit', () => {
      for (const ref of everyThrottle) ref.deref()?.flush();
    });
  }
  return throttle;
}

/** Levels of {@link GravityLogger.report}: the level its line has in `diag`. */
export type ReportLevel = 'error' | 'warn' | 'info' | 'debug';

/** A component logger (see the file header): OTel's `DiagLogger` plus `report`. */
export interface GravityLogger extends DiagLogger {
  /**
   * A line for the user: to `diag` at `level` (every time), and to the sink while no diag logger is registered,
   * at most once per `cause` per interval whatever the level.
   */
  report(cause: string, message: string, level?: ReportLevel): void;
}

/** The cause of a `warn`/`error` given without one: its text, digits aside, so counts do not make new causes. */
function causeOfText(message: string): string {
  return message.slice(0, 160).replace(/\d+/g, '#');
}

function describeArgument(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A logger for one part of the package (`gravity-otel-exporter/<part>` in `diag`). `sink` is where its
 * warnings, errors and reports go while no diag logger is registered; `undefined` reads `GE_DIAGNOSTICS` at
 * each line.
 */
export function createLogger(part: string, sink?: GravityDiagnostics): GravityLogger {
  const logger = diag.createComponentLogger({ namespace: `${NAMESPACE}/${part}` });
  const toDiag = (level: keyof DiagLogger, message: string, args: readonly unknown[]): void =>
    logger[level](redact(message), ...args.map(redactArgument));
  const toSink = (cause: string, level: ReportLevel, message: string, args: readonly unknown[]): void => {
    if (isDiagLoggerRegistered()) return;
    const target = sink ?? defaultDiagnostics();
    if (target === 'off') return;
    const detail = args.length === 0 ? '' : `: ${args.map(describeArgument).join(' ')}`;
    const severity = level === 'error' ? 'error' : 'warn';
    throttleOf(target).write(`${part}:${cause}`, severity, redact(`${NAMESPACE}: ${severity === 'error' ? 'error: ' : ''}${message}${detail}`));
  };
  const quiet =
    (level: keyof DiagLogger) =>
    (message: string, ...args: unknown[]): void =>
      toDiag(level, message, args);
  const visible =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]): void => {
      toDiag(level, message, args);
      toSink(causeOfText(message), level, message, args);
    };
  return {
    error: visible('error'),
    warn: visible('warn'),
    info: quiet('info'),
    debug: quiet('debug'),
    verbose: quiet('verbose'),
    report(cause, message, level = 'warn') {
      toDiag(level, message, []);
      toSink(cause, level, message, []);
    },
  };
}
