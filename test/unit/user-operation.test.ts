import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isUserOperation, toProfileEventName, USER_OPERATIONS, valueRuleOf } from '../../src/mapping/user-operation.js';

describe('user operations', () => {
  test('map every ge.user_op value to its wire event name', () => {
    assert.deepEqual(
      Object.fromEntries(USER_OPERATIONS.map((op) => [op, toProfileEventName(op)])),
      {
        set: 'profile_set',
        set_once: 'profile_set_once',
        increment: 'profile_increment',
        max: 'profile_number_max',
        min: 'profile_number_min',
        append: 'profile_append',
        uniq_append: 'profile_uniq_append',
        unset: 'profile_unset',
        delete: 'profile_delete',
      },
    );
  });

  test('constrain values per operation', () => {
    assert.deepEqual(
      USER_OPERATIONS.map((op) => valueRuleOf(op)),
      ['any', 'any', 'number', 'number', 'number', 'array', 'array', 'key-only', 'none'],
    );
  });

  test('isUserOperation accepts exactly the nine names', () => {
    for (const op of USER_OPERATIONS) assert.equal(isUserOperation(op), true);
    for (const other of ['SET', 'profile_set', 'inc', '', 'constructor', '__proto__', 1, undefined]) {
      assert.equal(isUserOperation(other), false, String(other));
    }
  });
});
