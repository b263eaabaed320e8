/**
 * Component loggers on OTel's `diag`, with the access token kept out of every line.
 * No code in this package logs anywhere else.
 */
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

/** A `diag` component logger for one part of the package (`gravity-otel-exporter/<part>`). */
export function createLogger(part: string): DiagLogger {
  const logger = diag.createComponentLogger({ namespace: `${NAMESPACE}/${part}` });
  const wrap =
    (level: keyof DiagLogger) =>
    (message: string, ...args: unknown[]): void =>
      logger[level](redact(message), ...args.map(redactArgument));
  return {
    error: wrap('error'),
    warn: wrap('warn'),
    info: wrap('info'),
    debug: wrap('debug'),
    verbose: wrap('verbose'),
  };
}
