/**
 * Captures everything written through OTel's `diag` at level ALL, so tests can assert on warnings and on
 * what never appears (the access token). Always call `stop()` (it calls `diag.disable()`).
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';

export type DiagLevel = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

export interface DiagLine {
  readonly level: DiagLevel;
  /** Every argument of the call, as text, joined with spaces (component loggers put the namespace first). */
  readonly text: string;
}

export interface DiagCapture {
  readonly lines: readonly DiagLine[];
  /** Text of the lines at `level`. */
  at(level: DiagLevel): string[];
  /** All captured text, one line per call. */
  all(): string;
  /** Forget what was captured so far. */
  clear(): void;
  /** Stop capturing: `diag.disable()`. */
  stop(): void;
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}${value.stack ? `\n${value.stack}` : ''}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Installs a capturing diag logger at level ALL. */
export function captureDiag(): DiagCapture {
  const lines: DiagLine[] = [];
  const record =
    (level: DiagLevel) =>
    (...args: unknown[]): void => {
      lines.push({ level, text: args.map(toText).join(' ') });
    };
  const logger: DiagLogger = {
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
    verbose: record('verbose'),
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return {
    lines,
    at: (level) => lines.filter((line) => line.level === level).map((line) => line.text),
    all: () => lines.map((line) => `${line.level}: ${line.text}`).join('\n'),
    clear: () => {
      lines.length = 0;
    },
    stop: () => diag.disable(),
  };
}
