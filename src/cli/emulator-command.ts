/**
 * `gravity-otel emulator`: run the emulator in the foreground and print one line per request.
 */
import { parseArgs } from 'node:util';
import type { CliIo } from './io.js';
import { COLLECT_PATH } from '../mapping/rules.js';
import { startEmulator } from '../emulator/server.js';
import type { ReceivedRequest } from '../emulator/types.js';

const USAGE = `Usage: gravity-otel emulator [--port N] [--host H] [--strict] [--token T]

Runs a local stand-in for Gravity Engine's collect endpoint and prints one line per request. Its web console
(the URL printed at start) shows requests and records live, switches faults on and off, and exports them.

Options:
  --port N    port to listen on (default 0: any free port)
  --host H    interface to bind (default 127.0.0.1)
  --strict    also apply the strict checks (Content-Type, GE-Integration-Count, value limits, debug mode)
  --token T   accept only requests with access_token=T (default: accept any token)
  -h, --help  show this help
`;

/** Most validation errors printed per request line; the rest are counted. */
const MAX_ERRORS_PER_LINE = 3;

/**
 * Run the emulator until `io.waitForStop()` resolves (SIGINT/SIGTERM for the real process), then close it.
 * Resolves with 0, or 2 on a usage error. The access token is never printed.
 */
export async function runEmulatorCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        strict: { type: 'boolean' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    io.stderr.write(`gravity-otel emulator: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const port = parsed.port === undefined ? 0 : Number(parsed.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || parsed.port?.trim() === '') {
    io.stderr.write(`gravity-otel emulator: --port is invalid, expected an integer in [0, 65535] (actual: ${parsed.port})\n`);
    return 2;
  }
  if (parsed.token === '') {
    io.stderr.write('gravity-otel emulator: --token is invalid, expected a non-empty string\n');
    return 2;
  }

  const emulator = await startEmulator({
    port,
    host: parsed.host ?? '127.0.0.1',
    strict: parsed.strict ?? false,
    accessToken: parsed.token,
    onRequest: (request) => io.stdout.write(`${formatRequestLine(request)}\n`),
  });
  io.stdout.write(
    [
      `Gravity emulator listening on ${emulator.url}${parsed.strict === true ? ' (strict)' : ''}`,
      `Web console: ${emulator.consoleUrl ?? ''}`,
      'Point the exporter at it:',
      `  GE_SERVER_URL=${emulator.url}`,
      parsed.token === undefined
        ? '  GE_ACCESS_TOKEN=<any non-empty value>'
        : '  GE_ACCESS_TOKEN=<the value you passed with --token>',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  const signal = await io.waitForStop();
  await emulator.close();
  io.stdout.write(`Gravity emulator stopped (${signal}); ${emulator.requests.length} requests, ${emulator.events().length} events accepted.\n`);
  return 0;
}

/**
 * One line describing a request: `#3 POST client_id="u1" records=2 gzip -> accepted`, or the rejection with
 * its code and first errors, the HTTP status, `reset` or `hang`, plus the injected fault. Never the query.
 */
export function formatRequestLine(request: ReceivedRequest): string {
  const parts = [`#${request.seq}`, request.method];
  if (request.path !== COLLECT_PATH) parts.push(request.path);
  const body = isObject(request.body) ? request.body : undefined;
  if (body !== undefined) {
    if (typeof body['client_id'] === 'string') parts.push(`client_id=${JSON.stringify(body['client_id'])}`);
    if (Array.isArray(body['event_list'])) parts.push(`records=${body['event_list'].length}`);
  }
  if (request.compressed) parts.push('gzip');
  parts.push('->', describeResponse(request));
  if (request.fault !== undefined) parts.push(`[fault: ${request.fault.kind}]`);
  return parts.join(' ');
}

function describeResponse(request: ReceivedRequest): string {
  const { response } = request;
  if ('reset' in response) return request.accepted ? 'accepted, then connection reset' : 'connection reset';
  if ('hang' in response) return 'hanging (no answer)';
  const answer = isObject(response.body) ? response.body : undefined;
  if (response.status !== 200 || answer === undefined) return `HTTP ${response.status}`;
  if (answer['code'] === 0) return 'accepted';
  let text = `rejected code=${String(answer['code'])} ${String(answer['msg'])}`;
  const extra = isObject(answer['extra']) ? answer['extra'] : undefined;
  const errors = Array.isArray(extra?.['errors']) ? (extra['errors'] as unknown[]) : [];
  if (errors.length > 0) {
    text += `: ${errors.slice(0, MAX_ERRORS_PER_LINE).map(String).join('; ')}`;
    if (errors.length > MAX_ERRORS_PER_LINE) text += ` (+${errors.length - MAX_ERRORS_PER_LINE} more)`;
  }
  return text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
