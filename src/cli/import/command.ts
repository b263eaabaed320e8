/**
 * `gravity-otel import FILE.jsonl`: sends a file of historical records (see import-record.ts for the line
 * shape) with `time_free`, showing progress on stderr and a summary on stdout.
 */
import { parseArgs } from 'node:util';
import type { CliIo } from '../io.js';
import { GravityConfigurationError } from '../../common/errors.js';
import { runImport } from './run-import.js';
import type { ImportSummary } from './run-import.js';

const USAGE = `Usage: gravity-otel import FILE.jsonl [--url U] [--token T] [--concurrency N] [--dry-run]

Sends historical records to Gravity Engine, one JSON object per line, with time_free (no 10-day window):
  {"client_id":"u1","type":"track","event":"buy","time":1700000000000,"properties":{"amount":3}}
  {"client_id":"u1","type":"profile","event":"profile_set","time":"2024-01-02T03:04:05Z","properties":{"plan":"pro"}}
  {"client_id":"u1","op":"increment","time":1700000000000,"properties":{"coins":5}}
time: epoch milliseconds or ISO 8601 (required). op: track, set, set_once, increment, max, min, append,
uniq_append, unset, delete. Optional: time_free (default true), client_ip, client_ua.

Options:
  --url U          collect URL or origin (default: GE_SERVER_URL, else Gravity's endpoint)
  --token T        access token (default: GE_ACCESS_TOKEN)
  --concurrency N  requests in flight at once, 1-1024 (default 32)
  --dry-run        validate every line, send nothing
  -h, --help       show this help

Exit code: 0 when every record was sent, 1 when any was rejected or failed, 2 on a usage error.
`;

const EXIT_USAGE = 2;

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
    io.stderr.write(`gravity-otel import: expected exactly one FILE.jsonl (got ${positionals.length})\n\n${USAGE}`);
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
  const ok = summary.rejected === 0 && summary.failed === 0 && (summary.dryRun || summary.sent === summary.records);
  return ok ? 0 : 1;
}

/** The final report: counts, then rejected lines by number, then counts per reason. */
export function formatSummary(file: string, summary: ImportSummary): string {
  const seconds = (summary.durationMillis / 1000).toFixed(1);
  const lines = summary.dryRun
    ? [`Dry run of ${file} in ${seconds}s: ${summary.records} records, ${summary.records - summary.rejected} valid, ${summary.rejected} rejected; nothing sent.`]
    : [
        `Imported ${file} in ${seconds}s: ${summary.records} records, ${summary.sent} sent, ${summary.rejected} rejected, ${summary.failed} failed` +
          `${summary.spooled > 0 ? `, ${summary.spooled} spooled for a later run` : ''}.`,
      ];
  if (summary.rejections.length > 0) {
    lines.push('Rejected lines:');
    for (const rejection of summary.rejections) lines.push(`  line ${rejection.line}: ${rejection.message}`);
    const unlisted = summary.rejectedLines - summary.rejections.length;
    if (unlisted > 0) lines.push(`  ... and ${unlisted} more`);
  }
  const unnumbered = summary.rejected - summary.rejectedLines;
  if (unnumbered > 0) lines.push(`${unnumbered} records refused by the exporter when sending (no line number; see the reasons below).`);
  const reasons = Object.entries(summary.rejectedByReason);
  if (reasons.length > 0) lines.push(`Rejected by reason: ${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
