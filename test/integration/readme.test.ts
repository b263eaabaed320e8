/**
 * README.md's JavaScript and TypeScript blocks, run as a user would paste them, so that the README and the
 * package's behaviour cannot drift apart.
 *
 * Each block is written unchanged to a file of a scratch project (its own package.json with "type": "module";
 * a node_modules that links this checkout as `gravity-otel-exporter`, resolved through the package's "exports"
 * to the built dist/, beside links to the packages installed here) and run there with node: ts/typescript
 * blocks through tsx, js/javascript/mjs as ES modules, cjs as CommonJS. GE_SERVER_URL points at a fresh
 * emulator and GE_ACCESS_TOKEN is set: the blocks read both from the environment, as a user's program would.
 * The TypeScript blocks are also type-checked, strict, as a user's project would compile them.
 *
 * The HTML comment on the line before each block (GitHub does not show it) says what the block must do:
 *
 *   <!-- readme-test: otel 2; call handler({"userId": "user-42"}); expect purchase, profile_set -->
 *
 *   expect e1, e2, …   the records, by Gravity event name (purchase, profile_set, …), the block delivers to
 *                      GE_SERVER_URL: once its process has exited, the emulator holds exactly these, and refused
 *                      no request.
 *   call f(<JSON>)     the block is a module exporting f (a serverless handler): it is imported, f is called with
 *                      these arguments, and the process ends as soon as f resolves, as a platform may freeze it,
 *                      so only what the block itself waited for has arrived. Arguments hold no `;`.
 *   self-checking      the block starts its own emulator and checks what arrived there with node:assert: it must
 *                      exit 0 and send nothing to GE_SERVER_URL.
 *   otel <major>       the block is written for that OpenTelemetry JS line (2.x: sdk-trace-base, api-logs;
 *                      3.x: sdk-trace, the logs API in @opentelemetry/api). On the other line it is reported as
 *                      skipped, so a section can show one block per line and each is run where it applies.
 *                      Blocks without it run on every line.
 *   stderr mentions T  the block makes a delivery fail on purpose: stderr must not be empty and each of its lines
 *                      must contain T (without this clause, stderr must stay empty).
 *   not run: <reason>  not a program (a type-only excerpt, say). Such blocks are listed in NOT_RUN and kept rare.
 *
 * A JS/TS block without a marker, or with a clause not listed here, fails the test; so does a fence without a
 * language (it could be a program nobody runs). Shell and JSON blocks are not run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startEmulator } from '../../src/emulator/index.js';
import { parseMarker, PROGRAM_LANGUAGES, readFencedBlocks } from '../helpers/readme-blocks.js';
import type { BlockSpec, FencedBlock } from '../helpers/readme-blocks.js';
import { OTEL_LINE } from '../helpers/otel-line.js';

const run = promisify(execFile);
const repoRoot = process.cwd();
const TOKEN = 'readme-test-token';
const RUN_TIMEOUT_MILLIS = 60_000;

/** Blocks deliberately not run, by section and reason: keep this short, and each reason real. */
const NOT_RUN: ReadonlyArray<{ section: string; reason: string }> = [
  {
    section: 'OTLP gateway: services in other languages, and Collector fleets',
    reason: 'a server that runs until SIGTERM, run as pasted by gateway-readme.test.ts',
  },
];

interface ProgramBlock extends FencedBlock {
  spec: BlockSpec | undefined;
  /** Why the marker could not be read. */
  problem: string | undefined;
  file: string;
}

const blocks = readFencedBlocks(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
const programs: ProgramBlock[] = blocks
  .filter((block) => PROGRAM_LANGUAGES.has(block.language))
  .map((block) => {
    const file = `block-line-${block.line}.${PROGRAM_LANGUAGES.get(block.language)!}`;
    if (block.marker === undefined) return { ...block, spec: undefined, problem: 'has no <!-- readme-test: … --> marker before it', file };
    try {
      return { ...block, spec: parseMarker(block.marker), problem: undefined, file };
    } catch (error) {
      return { ...block, spec: undefined, problem: `marker "${block.marker}": ${(error as Error).message}`, file };
    }
  });

/** The installed OpenTelemetry JS line (core 3.x exports no ./package.json to read its version from). */
const otelLine: number = OTEL_LINE;

function describeBlock(block: FencedBlock): string {
  return `README.md:${block.line} (${block.section})`;
}

function skipReason(spec: BlockSpec): string | undefined {
  if (spec.notRun !== undefined) return `not run: ${spec.notRun}`;
  if (spec.otel !== undefined && spec.otel !== otelLine) return `written for OpenTelemetry JS ${spec.otel}.x; ${otelLine}.x is installed`;
  return undefined;
}

let project: string;

before(() => {
  // The blocks import 'gravity-otel-exporter', which resolves to dist/: `npm test` builds first.
  assert.ok(existsSync(path.join(repoRoot, 'dist/esm/index.js')), 'dist/ is missing: run `npm run build` before these tests');
  project = mkdtempSync(path.join(tmpdir(), 'gravity-readme-'));
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'readme-reader', private: true, type: 'module' }));
  const modules = path.join(project, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(path.join(repoRoot, 'node_modules'))) {
    if (!name.startsWith('.')) symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(modules, name), 'dir');
  }
  symlinkSync(repoRoot, path.join(modules, 'gravity-otel-exporter'), 'dir');
  for (const block of programs) writeFileSync(path.join(project, block.file), block.code);
  // What `tsc --init` gives an ES-module Node project, strict, checking these files only.
  writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] },
      files: programs.filter((b) => b.file.endsWith('.ts') && b.spec && !skipReason(b.spec)).map((b) => b.file),
    }),
  );
});
after(() => rmSync(project, { recursive: true, force: true }));

/** The environment a user's shell would give the block: GE_* as the test sets them, no OTEL_* of ours. */
function blockEnv(serverUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^(GE|OTEL)_/.test(name)) env[name] = value;
  return { ...env, GE_SERVER_URL: serverUrl, GE_ACCESS_TOKEN: TOKEN };
}

/** Runs the block (or the driver that calls its export) in the scratch project; rejects with its output. */
async function runBlock(block: ProgramBlock, spec: BlockSpec, serverUrl: string): Promise<{ stdout: string; stderr: string }> {
  let entry = block.file;
  if (spec.call) {
    entry = `call-${block.file.replace(/\.\w+$/, '.mjs')}`;
    writeFileSync(
      path.join(project, entry),
      `const block = await import('./${block.file}');\n` +
        `await block[${JSON.stringify(spec.call.name)}](...${JSON.stringify(spec.call.args)});\n` +
        'process.exit(0);\n',
    );
  }
  const args = block.file.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
  try {
    return await run(process.execPath, args, { cwd: project, env: blockEnv(serverUrl), timeout: RUN_TIMEOUT_MILLIS });
  } catch (error) {
    const failure = error as Error & { stdout?: string; stderr?: string; code?: unknown; signal?: unknown };
    assert.fail(
      `${describeBlock(block)} failed (exit ${String(failure.code)}, signal ${String(failure.signal)})\n` +
        `--- stdout\n${failure.stdout ?? ''}\n--- stderr\n${failure.stderr ?? ''}`,
    );
  }
}

describe('README code blocks', { concurrency: true }, () => {
  it('every fence names its language, and every JS/TS block carries a readable marker', () => {
    assert.ok(programs.length > 0, 'README.md has no JS/TS blocks: the parser is broken');
    assert.deepEqual(
      [
        ...blocks.filter((b) => b.language === '').map((b) => `${describeBlock(b)}: the fence names no language`),
        ...programs.filter((b) => b.problem !== undefined).map((b) => `${describeBlock(b)} ${b.problem!}`),
      ],
      [],
    );
  });

  it('the blocks not run are exactly those listed in NOT_RUN', () => {
    const notRun = programs.filter((b) => b.spec?.notRun !== undefined).map((b) => ({ section: b.section, reason: b.spec!.notRun! }));
    assert.deepEqual(notRun, NOT_RUN);
  });

  it('the TypeScript blocks type-check, strict', async () => {
    const tsc = createRequire(path.join(repoRoot, 'package.json')).resolve('typescript/bin/tsc');
    try {
      await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, timeout: RUN_TIMEOUT_MILLIS });
    } catch (error) {
      // tsc reports `block-line-<fence>.ts(<line>,<column>): error …`; the README line is fence + line.
      const output = (error as { stdout?: string }).stdout ?? String(error);
      const located = output.replace(/block-line-(\d+)\.ts\((\d+),(\d+)\)/g, (_, fence: string, line: string, column: string) => `README.md:${Number(fence) + Number(line)}:${column}`);
      assert.fail(`tsc found errors in README blocks:\n${located}`);
    }
  });

  for (const block of programs) {
    const spec = block.spec;
    if (!spec) continue; // reported by the first test
    const what = spec.selfChecking ? 'checks what its own emulator received' : `delivers ${spec.expect.join(', ')}`;
    it(`${describeBlock(block)} ${what}`, { skip: skipReason(spec) }, async () => {
      const emulator = await startEmulator({ accessToken: TOKEN });
      try {
        const { stderr } = await runBlock(block, spec, emulator.url);

        if (spec.stderrMentions === undefined) {
          assert.equal(stderr, '', `${describeBlock(block)} wrote to stderr`);
        } else {
          const lines = stderr.split('\n').filter((line) => line !== '');
          assert.ok(lines.length > 0, `${describeBlock(block)} was to write to stderr about ${spec.stderrMentions}`);
          for (const line of lines) assert.ok(line.includes(spec.stderrMentions), `${describeBlock(block)} wrote to stderr: ${line}`);
        }
        assert.deepEqual(
          emulator.requests.filter((r) => !r.accepted).map((r) => r.response),
          [],
          `the emulator refused requests of ${describeBlock(block)}`,
        );
        assert.deepEqual(
          emulator.events().map((e) => e.event).sort(),
          [...spec.expect].sort(),
          `records of ${describeBlock(block)} that arrived at GE_SERVER_URL`,
        );
        if (spec.selfChecking) assert.match(block.code, /from 'node:assert(\/strict)?'/, 'a self-checking block asserts with node:assert');
      } finally {
        await emulator.close();
      }
    });
  }
});
