import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isRetryableStatus, parseRetryAfterMillis } from '../../src/transport/retry-policy.js';

describe('isRetryableStatus', () => {
  test('retries 408, 429 and 5xx', () => {
    for (const status of [408, 429, 500, 502, 503, 504, 599]) assert.equal(isRetryableStatus(status), true, String(status));
  });

  test('does not retry other 4xx, 2xx or 3xx', () => {
    for (const status of [200, 204, 301, 400, 401, 403, 404, 413, 422, 600]) assert.equal(isRetryableStatus(status), false, String(status));
  });
});

describe('parseRetryAfterMillis', () => {
  const now = Date.UTC(2030, 0, 1, 0, 0, 0);

  test('reads delta-seconds, including fractions', () => {
    assert.equal(parseRetryAfterMillis('3', now), 3000);
    assert.equal(parseRetryAfterMillis(' 0.5 ', now), 500);
    assert.equal(parseRetryAfterMillis('0', now), 0);
  });

  test('reads an HTTP date relative to now, never negative', () => {
    assert.equal(parseRetryAfterMillis(new Date(now + 7000).toUTCString(), now), 7000);
    assert.equal(parseRetryAfterMillis(new Date(now - 7000).toUTCString(), now), 0);
  });

  test('reads the asctime form of an HTTP date as GMT, whatever the machine\'s time zone', () => {
    // "Tue Jan  1 00:00:37 2030": asctime has no zone; Date.parse alone would use local time.
    assert.equal(parseRetryAfterMillis('Tue Jan  1 00:00:37 2030', now), 37_000);
    assert.equal(parseRetryAfterMillis('Tuesday, 01-Jan-30 00:00:37 GMT', now), 37_000);
  });

  test('takes the first of repeated headers', () => {
    assert.equal(parseRetryAfterMillis(['2', '9'], now), 2000);
  });

  test('returns undefined for missing, blank or unparsable values', () => {
    for (const value of [undefined, '', '  ', 'soon', '1e3', '-1', '-5', '+3']) {
      assert.equal(parseRetryAfterMillis(value, now), undefined, String(value));
    }
  });
});
