// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with its own type declarations.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

// src/common/version.ts is committed so that type checks and tests work before a build; keep it in step.
const versionSource = `// Generated from package.json by scripts/build.mjs; test/unit/version.test.ts checks it.\nexport const VERSION = '${version}';\n`;
if (readFileSync('src/common/version.ts', 'utf8') !== versionSource) writeFileSync('src/common/version.ts', versionSource);

rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.esm.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
// The emulator console's page, script and style are plain files, served from beside the compiled console code.
for (const format of ['esm', 'cjs']) {
  cpSync('src/emulator/console/assets', `dist/${format}/emulator/console/assets`, { recursive: true });
}
for (const cli of ['dist/esm/cli/bin.js', 'dist/cjs/cli/bin.js']) if (existsSync(cli)) chmodSync(cli, 0o755);
