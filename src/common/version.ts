// Generated from package.json by scripts/build.mjs; test/unit/version.test.ts checks it.
export const VERSION = '0.1.0';
