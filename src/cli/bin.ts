#!/usr/bin/env node
/**
 * Entry point of the `gravity-otel` bin. It only runs `main`; the logic lives in cli/main.ts so that
 * tests can import it without starting anything.
 */
import { main } from './main.js';

void main(process.argv.slice(2)).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    process.stderr.write(`gravity-otel: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
