/**
 * The layout of src/ is part of the design: one folder per stage, each with a README.md whose
 * "May import:" line lists the folders it may depend on. These tests hold the code to those lines,
 * so the tree keeps showing the flow: no stage imports one above it, and no two files import each other.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function listFiles(dir: string, name: RegExp): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return listFiles(full, name);
    return name.test(full) ? [full] : [];
  });
}

/** Relative imports of a file (static, re-exports and dynamic), resolved to source paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'));
}

/** The stage a file belongs to: its top folder under src/, or '' for the package's entry files. */
function stageOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1 ? parts[0]! : '';
}

const stages = readdirSync(SRC).filter((entry) => statSync(path.join(SRC, entry)).isDirectory());
const files = listFiles(SRC, /\.ts$/);

/** Parses a stage's "May import:" line: a list of folders, "every folder", or "nothing outside …". */
function allowedImports(stage: string): Set<string> | 'any' {
  const readme = readFileSync(path.join(SRC, stage, 'README.md'), 'utf8');
  const line = /^May import: (.+)$/m.exec(readme)?.[1];
  assert.ok(line, `src/${stage}/README.md has no "May import:" line`);
  if (/^every folder\.?$/.test(line)) return 'any';
  if (/^nothing outside /.test(line)) return new Set();
  return new Set(line.replace(/\.$/, '').split(/,\s*/));
}

test('every stage folder says what it does and what it may import', () => {
  for (const stage of stages) {
    const readmePath = path.join(SRC, stage, 'README.md');
    assert.ok(existsSync(readmePath), `src/${stage}/ has no README.md`);
    const allowed = allowedImports(stage);
    if (allowed !== 'any') {
      for (const name of allowed) assert.ok(stages.includes(name), `src/${stage}/README.md names "${name}", which is not a folder`);
    }
  }
});

test('each stage imports only the folders its README allows', () => {
  const violations: string[] = [];
  for (const file of files) {
    const stage = stageOf(file);
    if (stage === '') continue;
    const allowed = allowedImports(stage);
    for (const target of relativeImports(file)) {
      const targetStage = stageOf(target);
      if (targetStage === stage || allowed === 'any') continue;
      if (targetStage === '' || !allowed.has(targetStage)) {
        violations.push(`${path.relative(SRC, file)} imports ${path.relative(SRC, target)}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('no import cycle between source files', () => {
  const edges = new Map(files.map((file) => [file, relativeImports(file).filter((target) => files.includes(target))]));
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const trail: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    trail.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'open') {
        cycles.push(trail.slice(trail.indexOf(next)).concat(next).map((f) => path.relative(SRC, f)).join(' → '));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    trail.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test('no file stands beside a folder of the same name', () => {
  const clashes: string[] = [];
  const check = (dir: string): void => {
    const entries = readdirSync(dir);
    for (const entry of entries) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) {
        if (entries.includes(`${entry}.ts`)) clashes.push(path.relative(SRC, full));
        check(full);
      }
    }
  };
  check(SRC);
  assert.deepEqual(clashes, []);
});

test('comments speak of the code, not of issue numbers', () => {
  const roots = ['src', 'test', 'bench', 'soak', 'examples', 'scripts'].map((dir) => fileURLToPath(new URL(`../../${dir}/`, import.meta.url)));
  const offenders = roots
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => listFiles(dir, /\.(ts|mjs|js|sh)$/))
    .filter((file) => /\bissue #?\d+/i.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(fileURLToPath(new URL('../../', import.meta.url)), file));
  assert.deepEqual(offenders, []);
});
