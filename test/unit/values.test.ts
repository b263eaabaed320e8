import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeType, formatGravityDate, MAX_VALUE_DEPTH, toGravityValue } from '../../src/mapping/values.js';

describe('toGravityValue', () => {
  test('returns the same object when nothing needs to change', () => {
    const value = { a: [1, 'x', true, null, { b: 2.5 }] };
    const result = toGravityValue(value, 'v', false);
    assert.ok(result.ok);
    assert.equal(result.value, value);
  });

  test('copies when a nested Date is formatted or an undefined dropped, leaving the input intact', () => {
    const value = { a: 1, when: new Date(2024, 11, 31, 23, 59, 58, 999), gone: undefined, list: [new Date(2020, 0, 1)] };
    const result = toGravityValue(value, 'v', false);
    assert.ok(result.ok);
    assert.deepEqual(result.value, { a: 1, when: '2024-12-31 23:59:58.999', list: ['2020-01-01 00:00:00.000'] });
    assert.ok(value.when instanceof Date);
  });

  test('keeps an own __proto__ key (as JSON.parse makes) as a key when it has to copy its object', () => {
    for (const strict of [false, true]) {
      const meta = JSON.parse('{"__proto__": {"source": "client"}, "n": 1}') as Record<string, unknown>;
      meta['at'] = new Date(2020, 0, 1);
      const result = toGravityValue({ meta }, 'v', strict);
      assert.ok(result.ok);
      assert.equal(JSON.stringify(result.value), '{"meta":{"__proto__":{"source":"client"},"n":1,"at":"2020-01-01 00:00:00.000"}}');
    }
  });

  test('an undefined top-level value yields undefined (the property is dropped)', () => {
    assert.deepEqual(toGravityValue(undefined, 'v', false), { ok: true, value: undefined });
  });

  const refused: Array<[string, unknown, string, string]> = [
    ['NaN', Number.NaN, 'v', 'NaN'],
    ['Infinity', Infinity, 'v', 'Infinity'],
    ['a Uint8Array', new Uint8Array(1), 'v', 'Uint8Array'],
    ['a bigint', 10n, 'v', 'bigint'],
    ['a function', () => 1, 'v', 'function'],
    ['a symbol', Symbol('s'), 'v', 'symbol'],
    ['a Map', new Map(), 'v', 'Map'],
    ['an invalid Date', new Date(Number.NaN), 'v', 'invalid Date'],
    ['undefined inside an array', [1, undefined], 'v[1]', 'undefined'],
    ['a nested NaN', { a: { b: [0, Number.NaN] } }, 'v.a.b[1]', 'NaN'],
  ];
  for (const [name, value, path, mentions] of refused) {
    test(`refuses ${name}, naming the path ${path}`, () => {
      const result = toGravityValue(value, 'v', false);
      assert.ok(!result.ok);
      assert.equal(result.problem.path, path);
      assert.ok(result.problem.problem.includes(mentions), result.problem.problem);
    });
  }

  test('refuses a circular structure instead of overflowing the stack', () => {
    const value: Record<string, unknown> = { a: 1 };
    value['self'] = value;
    const result = toGravityValue(value, 'v', false);
    assert.ok(!result.ok);
    assert.match(result.problem.problem, new RegExp(`deeper than ${MAX_VALUE_DEPTH}`));
  });

  test('strict mode refuses strings over 2048 UTF-8 bytes and lists over 500 elements; batch mode does not', () => {
    const long = 'é'.repeat(1025); // 2050 bytes
    assert.equal(toGravityValue(long, 'v', true).ok, false);
    assert.equal(toGravityValue('é'.repeat(1024), 'v', true).ok, true);
    assert.equal(toGravityValue(long, 'v', false).ok, true);
    const list = new Array(501).fill(0);
    assert.equal(toGravityValue(list, 'v', true).ok, false);
    assert.equal(toGravityValue(list, 'v', false).ok, true);
  });
});

describe('describeType', () => {
  test('names the types a rejection reason quotes', () => {
    assert.deepEqual(
      [null, [], 'a', 1, Number.NaN, Infinity, -Infinity, {}, new Uint8Array(0), true, undefined].map(describeType),
      ['null', 'array', 'string', 'number', 'NaN', 'Infinity', '-Infinity', 'object', 'Uint8Array', 'boolean', 'undefined'],
    );
  });
});

describe('formatGravityDate', () => {
  test('formats local time with zero padding and milliseconds', () => {
    assert.equal(formatGravityDate(new Date(2024, 0, 2, 3, 4, 5, 6)), '2024-01-02 03:04:05.006');
  });
});
