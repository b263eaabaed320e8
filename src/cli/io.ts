/**
 * The CLI's view of the outside world, injectable so commands can be run in-process by tests.
 */

/** Where a CLI command writes and how it learns that it should stop. */
export interface CliIo {
  /** Normal output (the CLI's own output is the one place that prints). */
  stdout: { write(text: string): unknown };
  /** Usage errors and failures. */
  stderr: { write(text: string): unknown };
  /** What a command reads for `-` (standard input). */
  stdin?: NodeJS.ReadableStream;
  /** Resolves with the signal name when a long-running command should stop. */
  waitForStop(): Promise<string>;
}

/** The process's streams; stops on the first SIGINT or SIGTERM. */
export function createProcessIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // Made on first use: only `-` reads it.
    get stdin() {
      return process.stdin;
    },
    waitForStop: () =>
      new Promise<string>((resolve) => {
        const onSignal = (signal: NodeJS.Signals): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(signal);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }),
  };
}
