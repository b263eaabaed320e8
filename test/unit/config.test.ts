import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DEFAULT_URL, DEFAULTS, resolveConfig } from '../../src/config/resolve-config.js';
import { GravityConfigurationError, GravityExportError, GravityHttpError } from '../../src/common/errors.js';
import { captureDiag } from '../helpers/diag-capture.js';
import type { DiagCapture } from '../helpers/diag-capture.js';

const COLLECT_PATH = '/event_center/api/v1/event/collect/';
const TOKEN = { accessToken: 'code-token' };

let diagCapture: DiagCapture;
beforeEach(() => {
  diagCapture = captureDiag();
});
afterEach(() => {
  diagCapture.stop();
});

function warnings(): string[] {
  return diagCapture.at('warn');
}

describe('resolveConfig: defaults', () => {
  test('fills every field from DEFAULTS and freezes the result', () => {
    const config = resolveConfig(TOKEN, {});
    assert.deepEqual(config.endpoint, { origin: 'https://backend.gravity-engine.com', pathAndQuery: COLLECT_PATH, displayUrl: DEFAULT_URL });
    assert.equal(config.accessToken, 'code-token');
    assert.equal(config.compression, 'gzip');
    assert.equal(config.debug, false);
    assert.equal(config.timeoutMillis, DEFAULTS.timeoutMillis);
    assert.equal(config.maxConcurrentRequests, DEFAULTS.maxConcurrentRequests);
    assert.equal(config.maxBatchSize, 200);
    assert.equal(config.maxBatchBytes, DEFAULTS.maxBatchBytes);
    assert.equal(DEFAULT_URL, `https://backend.gravity-engine.com${COLLECT_PATH}`);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.endpoint));
    assert.deepEqual(warnings(), []);
  });
});

describe('resolveConfig: code beats env beats default', () => {
  const env = {
    GE_SERVER_URL: 'http://env.test:8080/env/collect/',
    GE_ACCESS_TOKEN: 'env-token',
    GE_COMPRESSION: 'none',
    GE_DEBUG: 'true',
    GE_TIMEOUT_MILLIS: '2500',
  };

  test('code options win over env', () => {
    const config = resolveConfig(
      { url: 'http://code.test/code/collect/', accessToken: 'code-token', compression: 'gzip', debug: false, timeoutMillis: 700 },
      env,
    );
    assert.equal(config.endpoint.origin, 'http://code.test');
    assert.equal(config.endpoint.pathAndQuery, '/code/collect/');
    assert.equal(config.accessToken, 'code-token');
    assert.equal(config.compression, 'gzip');
    assert.equal(config.debug, false);
    assert.equal(config.timeoutMillis, 700);
  });

  test('env wins over defaults', () => {
    const config = resolveConfig({}, env);
    assert.equal(config.endpoint.origin, 'http://env.test:8080');
    assert.equal(config.endpoint.pathAndQuery, '/env/collect/');
    assert.equal(config.accessToken, 'env-token');
    assert.equal(config.compression, 'none');
    assert.equal(config.debug, true);
    assert.equal(config.timeoutMillis, 2500);
  });

  test('env values are trimmed and GE_COMPRESSION is case-insensitive', () => {
    const config = resolveConfig({}, { GE_ACCESS_TOKEN: ' env-token ', GE_COMPRESSION: ' NONE ', GE_DEBUG: ' false ' });
    assert.equal(config.accessToken, 'env-token');
    assert.equal(config.compression, 'none');
    assert.equal(config.debug, false);
  });

  test('blank env strings count as unset', () => {
    const config = resolveConfig(TOKEN, { GE_SERVER_URL: '  ', GE_COMPRESSION: '', GE_DEBUG: ' ', GE_TIMEOUT_MILLIS: '' });
    assert.equal(config.endpoint.displayUrl, DEFAULT_URL);
    assert.equal(config.compression, 'gzip');
    assert.equal(config.debug, false);
    assert.equal(config.timeoutMillis, DEFAULTS.timeoutMillis);
    assert.deepEqual(warnings(), []);
    assert.throws(() => resolveConfig({}, { GE_ACCESS_TOKEN: '   ' }), GravityConfigurationError);
  });

  test('an empty access_token= in a url is no token: GE_ACCESS_TOKEN applies, and without it the constructor throws', () => {
    assert.equal(resolveConfig({ url: 'https://h.test/collect?access_token=' }, { GE_ACCESS_TOKEN: 'env-token-123456' }).accessToken, 'env-token-123456');
    assert.throws(() => resolveConfig({ url: 'https://h.test/collect?access_token=' }, {}), GravityConfigurationError);
    assert.throws(() => resolveConfig({}, { GE_SERVER_URL: 'https://h.test/collect?access_token=%20' }), GravityConfigurationError);
  });
});

describe('resolveConfig: url', () => {
  test('an origin gets the collect path appended', () => {
    for (const url of ['http://127.0.0.1:4318', 'http://127.0.0.1:4318/']) {
      const { endpoint } = resolveConfig({ ...TOKEN, url }, {});
      assert.equal(endpoint.origin, 'http://127.0.0.1:4318');
      assert.equal(endpoint.pathAndQuery, COLLECT_PATH);
    }
  });

  test('a full URL is used as given, other query parameters kept', () => {
    const { endpoint } = resolveConfig({ ...TOKEN, url: 'https://proxy.test/gravity/collect?region=cn' }, {});
    assert.equal(endpoint.origin, 'https://proxy.test');
    assert.equal(endpoint.pathAndQuery, '/gravity/collect?region=cn');
  });

  test('an access_token query in the URL is the token, and is removed from the endpoint', () => {
    const config = resolveConfig({ url: `http://h.test${COLLECT_PATH}?access_token=url-token&x=1` }, {});
    assert.equal(config.accessToken, 'url-token');
    assert.equal(config.endpoint.pathAndQuery, `${COLLECT_PATH}?x=1`);
    assert.ok(!config.endpoint.displayUrl.includes('url-token'));
  });

  test('the accessToken option wins over a token in the code URL, which wins over GE_ACCESS_TOKEN', () => {
    const url = 'http://h.test/?access_token=url-token';
    assert.equal(resolveConfig({ url, accessToken: 'option-token' }, { GE_ACCESS_TOKEN: 'env-token' }).accessToken, 'option-token');
    assert.equal(resolveConfig({ url }, { GE_ACCESS_TOKEN: 'env-token' }).accessToken, 'url-token');
  });

  test('a token in GE_SERVER_URL is used when GE_ACCESS_TOKEN is not set', () => {
    const config = resolveConfig({}, { GE_SERVER_URL: 'http://h.test/?access_token=env-url-token' });
    assert.equal(config.accessToken, 'env-url-token');
    assert.equal(config.endpoint.pathAndQuery, COLLECT_PATH);
    assert.equal(resolveConfig({}, { GE_SERVER_URL: 'http://h.test/?access_token=env-url-token', GE_ACCESS_TOKEN: 'env-token' }).accessToken, 'env-token');
  });
});

describe('resolveConfig: errors in code throw', () => {
  test('no token anywhere throws a clear GravityConfigurationError', () => {
    assert.throws(
      () => resolveConfig({ url: 'http://h.test' }, {}),
      (error: unknown) =>
        error instanceof GravityConfigurationError &&
        /accessToken is missing/.test(error.message) &&
        /GE_ACCESS_TOKEN/.test(error.message) &&
        /access_token=/.test(error.message),
    );
  });

  const bad: Array<[string, object, ErrorConstructor]> = [
    ['url', { url: 'ftp://h.test/' }, TypeError],
    ['url', { url: 'not a url' }, TypeError],
    ['url', { url: 'http://user:pw@h.test/' }, TypeError],
    ['accessToken', { accessToken: '' }, TypeError],
    ['compression', { compression: 'brotli' }, TypeError],
    ['debug', { debug: 'true' }, TypeError],
    ['timeoutMillis', { timeoutMillis: 0 }, RangeError],
    ['timeoutMillis', { timeoutMillis: 1.5 }, RangeError],
    ['maxConcurrentRequests', { maxConcurrentRequests: 0 }, RangeError],
    ['maxBatchSize', { maxBatchSize: 201 }, RangeError],
    ['maxBatchBytes', { maxBatchBytes: 10 }, RangeError],
  ];
  for (const [name, options, errorClass] of bad) {
    test(`a bad ${name} in code (${JSON.stringify(options)}) throws ${errorClass.name} "Configuration: ${name} is invalid..."`, () => {
      assert.throws(
        () => resolveConfig({ accessToken: 'bad-option-test-token', ...options } as never, {}),
        (error: unknown) =>
          error instanceof errorClass && new RegExp(`^Configuration: ${name} is invalid, expected .+ \\(actual: .*\\)$`).test(error.message),
      );
    });
  }
});

describe('resolveConfig: bad env values warn and fall back', () => {
  const bad: Array<[string, string, (config: ReturnType<typeof resolveConfig>) => void]> = [
    ['GE_COMPRESSION', 'brotli', (c) => assert.equal(c.compression, 'gzip')],
    ['GE_TIMEOUT_MILLIS', '10s', (c) => assert.equal(c.timeoutMillis, DEFAULTS.timeoutMillis)],
    ['GE_TIMEOUT_MILLIS', '0', (c) => assert.equal(c.timeoutMillis, DEFAULTS.timeoutMillis)],
    ['GE_MAX_CONCURRENT_REQUESTS', '-3', (c) => assert.equal(c.maxConcurrentRequests, DEFAULTS.maxConcurrentRequests)],
    ['GE_DIAGNOSTICS', 'loud', (c) => assert.equal(c.diagnostics, 'stderr')],
  ];
  for (const [name, value, check] of bad) {
    test(`${name}=${JSON.stringify(value)} warns "Configuration: ${name} is invalid" and uses the default`, () => {
      const config = resolveConfig(TOKEN, { [name]: value });
      check(config);
      const warned = warnings();
      assert.equal(warned.length, 1, diagCapture.all());
      assert.match(warned[0]!, new RegExp(`Configuration: ${name} is invalid, expected .+ \\(actual: `));
    });
  }
});

describe('resolveConfig: a bad env value that would change where data goes throws', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['GE_SERVER_URL', '127.0.0.1:8080', /expected an absolute http\(s\) URL without credentials, such as http:\/\/127\.0\.0\.1:8080 \(actual: 127\.0\.0\.1:8080\)$/],
    ['GE_SERVER_URL', 'localhost:4000/collect', /such as http:\/\/localhost:4000\/collect \(actual: localhost:4000\/collect\)$/],
    ['GE_SERVER_URL', 'not a url', /expected an absolute http\(s\) URL without credentials \(actual: not a url\)$/],
    ['GE_SERVER_URL', 'ftp://h.test/', /\(actual: ftp:\/\/h\.test\/\)$/],
    ['GE_DEBUG', 'yes', /expected true or false \(actual: yes\)$/],
    ['GE_DEBUG', '1', /expected true or false \(actual: 1\)$/],
    ['GE_DEBUG', 'TRUE', /expected true or false \(actual: TRUE\)$/],
  ];
  for (const [name, value, message] of bad) {
    test(`${name}=${JSON.stringify(value)} throws GravityConfigurationError naming ${name}, never falls back`, () => {
      assert.throws(
        () => resolveConfig(TOKEN, { [name]: value }),
        (error: unknown) =>
          error instanceof GravityConfigurationError &&
          error.code === 'GRAVITY_CONFIGURATION_ERROR' &&
          error.option === name &&
          error.actual === value &&
          message.test(error.message),
      );
      assert.deepEqual(warnings(), []);
    });
  }

  test('a set-but-invalid GE_SERVER_URL throws even when the url option would be used', () => {
    assert.throws(() => resolveConfig({ ...TOKEN, url: 'http://127.0.0.1:9/' }, { GE_SERVER_URL: '127.0.0.1:8080' }), GravityConfigurationError);
  });
});

describe('resolveConfig: diagnostics', () => {
  test('defaults to stderr; GE_DIAGNOSTICS picks stdout or off; the option wins', () => {
    const sink = (): void => undefined;
    assert.equal(resolveConfig(TOKEN, {}).diagnostics, 'stderr');
    assert.equal(resolveConfig(TOKEN, { GE_DIAGNOSTICS: ' OFF ' }).diagnostics, 'off');
    assert.equal(resolveConfig(TOKEN, { GE_DIAGNOSTICS: 'stdout' }).diagnostics, 'stdout');
    assert.equal(resolveConfig({ ...TOKEN, diagnostics: 'stderr' }, { GE_DIAGNOSTICS: 'off' }).diagnostics, 'stderr');
    assert.equal(resolveConfig({ ...TOKEN, diagnostics: sink }, { GE_DIAGNOSTICS: 'off' }).diagnostics, sink);
  });

  test('a bad diagnostics option throws a GravityConfigurationError that is a TypeError', () => {
    assert.throws(
      () => resolveConfig({ ...TOKEN, diagnostics: 'loud' as never }, {}),
      (error: unknown) => error instanceof GravityConfigurationError && error instanceof TypeError && error.option === 'diagnostics',
    );
  });
});

describe('GravityConfigurationError: one class for every invalid setting', () => {
  test('a bad type is also a TypeError, a bad range a RangeError, each with option, expected and actual', () => {
    const typeError = catchError(() => resolveConfig({ ...TOKEN, compression: 'brotli' as never }, {}));
    const rangeError = catchError(() => resolveConfig({ ...TOKEN, timeoutMillis: 0 }, {}));
    for (const [error, builtIn, other] of [
      [typeError, TypeError, RangeError],
      [rangeError, RangeError, TypeError],
    ] as const) {
      assert.ok(error instanceof GravityConfigurationError);
      assert.ok(error instanceof GravityExportError);
      assert.ok(error instanceof builtIn);
      assert.ok(!(error instanceof other));
      assert.ok(!(error instanceof GravityHttpError));
      assert.equal(error.name, 'GravityConfigurationError');
      assert.equal(error.code, 'GRAVITY_CONFIGURATION_ERROR');
      assert.equal(String(error), `GravityConfigurationError: ${error.message}`);
      assert.match(inspect(error), /^GravityConfigurationError: Configuration: /);
    }
    assert.deepEqual(pick(typeError), { option: 'compression', expected: '"gzip", "none" or "auto"', actual: 'brotli' });
    assert.deepEqual(pick(rangeError), { option: 'timeoutMillis', expected: 'an integer from 1 to 600000', actual: '0' });
  });

  test('a missing token is a GravityConfigurationError with option accessToken and no actual value', () => {
    const error = catchError(() => resolveConfig({}, {}));
    assert.ok(error instanceof GravityConfigurationError && !(error instanceof TypeError));
    assert.deepEqual(pick(error), { option: 'accessToken', expected: 'a Gravity access token', actual: undefined });
  });

  test('other errors of the package are not configuration errors', () => {
    assert.ok(!(new GravityHttpError(404, '') instanceof GravityConfigurationError));
    assert.ok(!(new TypeError('x') instanceof GravityConfigurationError));
    assert.ok(!(new TypeError('x') instanceof GravityExportError));
  });
});

function catchError(fn: () => unknown): GravityConfigurationError {
  try {
    fn();
  } catch (error) {
    return error as GravityConfigurationError;
  }
  assert.fail('did not throw');
}

function pick(error: GravityConfigurationError): object {
  return { option: error.option, expected: error.expected, actual: error.actual };
}

describe('resolveConfig: the token stays out of warnings and errors', () => {
  test('a token pasted into GE_SERVER_URL or url is redacted, as are URL credentials', () => {
    const token = 'Pasted-SECRET-token-3c9d1e';
    assert.throws(
      () => resolveConfig({}, { GE_ACCESS_TOKEN: token, GE_SERVER_URL: token }),
      (error: unknown) =>
        error instanceof GravityConfigurationError && !`${error.message} ${error.actual} ${error.expected}`.includes(token) && error.message.includes('[REDACTED]'),
    );
    assert.throws(
      () => resolveConfig({ accessToken: token, url: token }, {}),
      (error: unknown) => error instanceof TypeError && !error.message.includes(token) && error.message.includes('[REDACTED]'),
    );
    assert.throws(
      () => resolveConfig({ url: 'http://user:Cred-SECRET-55@gravity.test/' }, {}),
      (error: unknown) => error instanceof TypeError && !error.message.includes('Cred-SECRET-55'),
    );
  });
});
