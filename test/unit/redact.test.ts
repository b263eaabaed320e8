/** Redaction removes the token and nothing else: every message keeps its wording and punctuation. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redact, registerSecret } from '../../src/common/diag.js';
import { resolveConfig } from '../../src/config/resolve-config.js';

describe('redact', () => {
  test('keeps prose that names the parameter: "put access_token=... in the url"', () => {
    const text = 'Configuration: accessToken is missing; pass { accessToken }, set GE_ACCESS_TOKEN, or put access_token=... in the url';
    assert.equal(redact(text), text);
    assert.equal(redact('or access_token=… there'), 'or access_token=… there');
  });

  test('gives closing brackets and sentence punctuation back to the text', () => {
    assert.equal(redact('(actual: https://h.test/c?access_token=abc123)'), '(actual: https://h.test/c?access_token=[REDACTED])');
    assert.equal(redact('sent to https://h.test/c?access_token=abc123.'), 'sent to https://h.test/c?access_token=[REDACTED].');
    assert.equal(redact('a?access_token=abc123, b?x=1&access_token=def456; c'), 'a?access_token=[REDACTED], b?x=1&access_token=[REDACTED]; c');
    assert.equal(redact('u?access_token=abc123&x=1#f'), 'u?access_token=[REDACTED]&x=1#f');
  });

  test('an already redacted value is left as it is', () => {
    const text = '(actual: https://h.test/c?access_token=[REDACTED])';
    assert.equal(redact(text), text);
    assert.equal(redact(redact('x?access_token=abc123)')), 'x?access_token=[REDACTED])');
  });

  test('a registered secret is removed wherever it stands, encoded or not', () => {
    const secret = 'Redact-SECRET/ü 42';
    registerSecret(secret);
    assert.equal(redact(`token ${secret} and ${encodeURIComponent(secret)}.`), 'token [REDACTED] and [REDACTED].');
  });

  test('a configuration error quoting a bad url keeps its closing parenthesis', () => {
    assert.throws(
      () => resolveConfig({ accessToken: 'redact-test-token', url: 'ftp://h.test/c?access_token=Code-SECRET-1' }, {}),
      (error: unknown) =>
        error instanceof Error &&
        error.message === 'Configuration: url is invalid, expected an absolute http(s) URL without credentials (actual: ftp://h.test/c?access_token=[REDACTED])',
    );
  });
});
