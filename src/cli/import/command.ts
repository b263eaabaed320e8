/**
 * `gravity-otel import FILE.jsonl|-`: sends a file (or stdin) of historical records (see import-record.ts for
 * the line shape) with `time_free`, showing progress on stderr and a summary on stdout.
 */
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import type { CliIo } from '../io.js';
import { GravityConfigurationError } from '../../common/errors.js';
import { formatLineRanges } from './line-ledger.js';
import { runImport } from './run-import.js';
import type { ImportSummary } from './run-import.js';

const USAGE = `Usage: gravity-otel import FILE.jsonl|- [--url U] [--token T] [--concurrency N] [--dry-run]

Sends historical records to Gravity Engine, one JSON object per line (FILE, or standard input for -), with
time_free (no 10-day window):
  {"client_id":"u1","type":"track","event":"buy","time":1700000000000,"properties":{"amount":3}}
  {"client_id":"u1","type":"profile","event":"profile_set","time":"2024-01-02T03:04:05Z","properties":{"plan":"pro"}}
  {"client_id":"u1","op":"increment","time":1700000000000,"properties":{"coins":5}}
time: epoch milliseconds or ISO 8601 (required). op: track, set, set_once, increment, max, min, append,
uniq_append, unset, delete. Optional: time_free (default true), client_ip, client_ua. A UTF-8 byte order
mark is allowed. Records of a client Gravity has not initialised yet (code 2000) are reported as not sent.

Progress (delivered records, rate, ETA) goes to stderr; the summary to stdout: lines rejected and why, lines
not sent and why. When the endpoint refuses every request (a wrong token, URL or app) or cannot be reached,
the import stops early with the cause. Ctrl-C stops reading, waits up to 5 s for the requests in flight
(Ctrl-C again: no wait) and prints the summary.

Options:
  --url U          collect URL or origin (default: GE_SERVER_URL, else Gravity's endpoint)
  --token T        access token (default: GE_ACCESS_TOKEN)
  --concurrency N  requests in flight at once, 1-1024 (default 32)
  --dry-run        validate every line (as sending would), send nothing
  -h, --help       show this help

Exit code: 0 when every record was sent, 1 when any was rejected or not sent, 2 on a usage error, 3 when the
import stopped early because the endpoint refused or could not be reached, 130 when interrupted (Ctrl-C).
`;

const EXIT_USAGE = 2;
/** The endpoint refused every request or could not be reached: the import stopped early. */
const EXIT_STOPPED_EARLY = 3;
/** Causes of records not sent listed in the summary (the rest are counted together). */
const MAX_LISTED_CAUSES = 10;

/** Runs the import command; resolves with the exit code. */
export async function runImportCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        concurrency: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`gravity-otel import: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr.write(`gravity-otel import: expected exactly one FILE.jsonl, or - for standard input (got ${positionals.length})\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  let concurrency: number | undefined;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!/^\d+$/.test(values.concurrency) || concurrency < 1 || concurrency > 1024) {
      io.stderr.write(`gravity-otel import: --concurrency is invalid, expected an integer from 1 to 1024 (actual: ${values.concurrency})\n`);
      return EXIT_USAGE;
    }
  }
  const file = positionals[0]!;
  let summary: ImportSummary;
  try {
    summary = await runImport({
      file,
      ...(io.stdin !== undefined && { input: io.stdin }),
      waitForStop: () => io.waitForStop(),
      url: values.url,
      accessToken: values.token,
      concurrency,
      dryRun: values['dry-run'],
      progress: io.stderr,
      progressIsTTY: (io.stderr as { isTTY?: boolean }).isTTY === true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    const usage =
      error instanceof GravityConfigurationError || error instanceof TypeError || error instanceof RangeError || code === 'ENOENT' || code === 'EISDIR';
    io.stderr.write(`gravity-otel import: ${message}\n`);
    return usage ? EXIT_USAGE : 1;
  }
  io.stdout.write(formatSummary(file, summary));
  if (summary.stop?.kind === 'interrupted') return 128 + (constants.signals[summary.stop.signal as NodeJS.Signals] ?? 2);
  if (summary.stop?.kind === 'endpoint') return EXIT_STOPPED_EARLY;
  const ok = summary.rejected === 0 && summary.failed === 0 && (summary.dryRun || summary.sent === summary.records);
  return ok ? 0 : 1;
}

/**
 * The final report: what happened (the counts, or why the import stopped), the rejected lines by number and
 * reason, then the lines not sent and the distinct causes with their counts.
 */
export function formatSummary(file: string, summary: ImportSummary): string {
  const name = file === '-' ? 'standard input' : file;
  const seconds = (summary.durationMillis / 1000).toFixed(1);
  const { stop, records, sent, rejected, failed, spooled } = summary;
  const spoolNote = spooled > 0 ? `, ${spooled} spooled for a later run` : '';
  const unread = summary.inputEnded ? '' : `; reading stopped at line ${summary.linesRead}`;
  const lines: string[] = [];
  if (summary.dryRun) {
    const how = stop?.kind === 'interrupted' ? `interrupted (${stop.signal}) at line ${summary.linesRead} after ${seconds}s` : `in ${seconds}s`;
    lines.push(`Dry run of ${name} ${how}: ${records} records, ${records - rejected} valid, ${rejected} rejected; nothing sent${unread}.`);
  } else if (stop === undefined) {
    lines.push(`Imported ${name} in ${seconds}s: ${records} records, ${sent} sent, ${rejected} rejected, ${failed} failed${spoolNote}.`);
  } else {
    if (stop.kind === 'interrupted') {
      lines.push(`Interrupted (${stop.signal}) after ${seconds}s, at line ${summary.linesRead} of ${name}.`);
    } else {
      lines.push(
        `Stopped early after ${seconds}s, at line ${summary.linesRead} of ${name}: ${stop.attempts} requests in a row failed: ${stop.cause}.` +
          `${stop.hint !== undefined ? ` ${stop.hint}` : ''}`,
      );
    }
    lines.push(`${records} records read, ${sent} sent, ${records - sent - spooled} not sent (${rejected} rejected, ${failed} failed)${spoolNote}${unread}.`);
  }
  if (summary.rejections.length > 0) {
    lines.push('Rejected lines:');
    for (const rejection of summary.rejections) lines.push(`  line ${rejection.line}: ${rejection.message}`);
    const unlisted = rejected - summary.rejections.length;
    if (unlisted > 0) lines.push(`  ... and ${unlisted} more`);
  }
  const reasons = Object.entries(summary.rejectedByReason);
  if (reasons.length > 0) lines.push(`Rejected by reason: ${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
  if (failed > 0) {
    lines.push(`Not sent (${failed} records): lines ${formatLineRanges(summary.unsentLines)}`);
    lines.push('Causes:');
    for (const { cause, records: count } of summary.causes.slice(0, MAX_LISTED_CAUSES)) lines.push(`  ${count} records: ${cause}`);
    const more = summary.causes.slice(MAX_LISTED_CAUSES);
    if (more.length > 0) lines.push(`  ... and ${more.length} more causes (${more.reduce((n, c) => n + c.records, 0)} records)`);
  }
  return `${lines.join('\n')}\n`;
}
