/** `ge.user_op` values and their wire names. */
import type { ProfileEventName } from './wire-types.js';

export type UserOperation =
  | 'set'
  | 'set_once'
  | 'increment'
  | 'max'
  | 'min'
  | 'append'
  | 'uniq_append'
  | 'unset'
  | 'delete';

const PROFILE_EVENT_BY_OPERATION: Readonly<Record<UserOperation, ProfileEventName>> = Object.freeze({
  set: 'profile_set',
  set_once: 'profile_set_once',
  increment: 'profile_increment',
  max: 'profile_number_max',
  min: 'profile_number_min',
  append: 'profile_append',
  uniq_append: 'profile_uniq_append',
  unset: 'profile_unset',
  delete: 'profile_delete',
});

/** The accepted `ge.user_op` values, in documentation order. */
export const USER_OPERATIONS: readonly UserOperation[] = Object.freeze(
  Object.keys(PROFILE_EVENT_BY_OPERATION) as UserOperation[],
);

export function isUserOperation(value: unknown): value is UserOperation {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(PROFILE_EVENT_BY_OPERATION, value);
}

export function toProfileEventName(operation: UserOperation): ProfileEventName {
  return PROFILE_EVENT_BY_OPERATION[operation];
}

/** How an operation constrains each property value. */
export type OperationValueRule = 'any' | 'number' | 'array' | 'key-only' | 'none';

export function valueRuleOf(operation: UserOperation): OperationValueRule {
  switch (operation) {
    case 'set':
    case 'set_once':
      return 'any';
    case 'increment':
    case 'max':
    case 'min':
      return 'number';
    case 'append':
    case 'uniq_append':
      return 'array';
    case 'unset':
      return 'key-only';
    case 'delete':
      return 'none';
    default: {
      const unreachable: never = operation;
      return unreachable;
    }
  }
}
