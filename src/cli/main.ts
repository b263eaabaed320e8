/**
 * The `gravity-otel` command line: a small dispatcher from subcommand to function.
 * Add a subcommand by adding an entry to COMMANDS.
 */
import { runEmulatorCommand } from './emulator-command.js';
import { runImportCommand } from './import/command.js';
import { createProcessIo } from './io.js';
import type { CliIo } from './io.js';

/** A subcommand: gets the arguments after its name and returns the exit code. */
export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/** Exit code for a usage error (unknown command or option). */
export const EXIT_USAGE = 2;

/** Loaded on use: the gateway brings protobufjs (and gRPC) that the other commands do not need. */
const runGateway: CliCommand = async (argv, io) => (await import('./gateway-command.js')).runGatewayCommand(argv, io);

const COMMANDS: Readonly<Record<string, { summary: string; run: CliCommand }>> = Object.freeze({
  emulator: { summary: 'run a local Gravity collect endpoint and print what arrives', run: runEmulatorCommand },
  gateway: { summary: 'receive OTLP (any OpenTelemetry SDK or Collector) and deliver the analytics records', run: runGateway },
  import: { summary: 'send a JSONL file (or stdin) of historical records (time_free), with progress and a summary', run: runImportCommand },
});

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'Usage: gravity-otel <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "gravity-otel <command> --help" for the options of a command.',
    '',
  ].join('\n');
}

/**
 * Run the CLI with `argv` (the arguments after the executable and script) and resolve with the exit code:
 * 0 on success or `--help`, 2 on a usage error. Long-running commands resolve when `io.waitForStop()` does.
 */
export async function main(argv: readonly string[], io: CliIo = createProcessIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.stderr.write(`gravity-otel: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return command.run(rest, io);
}
