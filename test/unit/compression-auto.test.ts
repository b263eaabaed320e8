/** `compression: 'auto'`: small bodies go out plain, larger ones gzipped; set from code or env. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { AUTO_GZIP_MIN_BYTES, encodeBody } from '../../src/batching/encode.js';

const TOKEN = { accessToken: 't' };

function jsonOfBytes(bytes: number): string {
  const head = '{"client_id":"c","event_list":[{"p":"';
  const tail = '"}]}';
  return `${head}${'x'.repeat(bytes - head.length - tail.length)}${tail}`;
}

describe("compression 'auto'", () => {
  test('sends a body below the threshold as plain UTF-8 JSON', () => {
    const json = jsonOfBytes(AUTO_GZIP_MIN_BYTES - 1);
    const { body, compressed } = encodeBody(json, 'auto');
    assert.equal(compressed, false);
    assert.equal(body.toString('utf8'), json);
  });

  test('gzips a body at the threshold and above', () => {
    const json = jsonOfBytes(AUTO_GZIP_MIN_BYTES);
    const { body, compressed } = encodeBody(json, 'auto');
    assert.equal(compressed, true);
    assert.equal(gunzipSync(body).toString('utf8'), json);
  });

  test("'gzip' still compresses even the smallest body", () => {
    const json = jsonOfBytes(60);
    const { body, compressed } = encodeBody(json, 'gzip');
    assert.equal(compressed, true);
    assert.equal(gunzipSync(body).toString('utf8'), json);
  });

  test('is accepted from code and from GE_COMPRESSION (any case); gzip stays the default', () => {
    assert.equal(resolveConfig({ ...TOKEN, compression: 'auto' }, {}).compression, 'auto');
    assert.equal(resolveConfig(TOKEN, { GE_COMPRESSION: ' AUTO ' }).compression, 'auto');
    assert.equal(resolveConfig(TOKEN, {}).compression, 'gzip');
  });

  test('an unknown value in code throws naming the three accepted values', () => {
    assert.throws(
      () => resolveConfig({ ...TOKEN, compression: 'brotli' as never }, {}),
      (error: unknown) => error instanceof TypeError && /expected "gzip", "none" or "auto" \(actual: brotli\)/.test(error.message),
    );
  });
});
