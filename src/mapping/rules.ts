/**
 * Rules of the Gravity wire format shared by the mapping and the local emulator
 * (record types, property keys and values, strict mode).
 */
import type { ProfileEventName } from './wire-types.js';

/** Event names and property keys: a letter or `$`, then up to 49 letters, digits or `_`. */
export const GRAVITY_KEY_PATTERN = /^[A-Za-z$][A-Za-z0-9_]{0,49}$/;

/** The collect path, with the trailing slash every official SDK sends. */
export const COLLECT_PATH = '/event_center/api/v1/event/collect/';

/** Records per request the official batch consumers never exceed. */
export const MAX_RECORDS_PER_REQUEST = 200;

/** Longest string value, in UTF-8 bytes, the vendor's client SDKs accept. */
export const MAX_STRING_VALUE_BYTES = 2048;

/** Most elements of a list value, per the vendor's help center. */
export const MAX_LIST_LENGTH = 500;

/** The service stores events from 10 days before to 1 hour after its own clock, unless `time_free`. */
export const TIME_WINDOW_PAST_MILLIS = 10 * 24 * 60 * 60 * 1000;
export const TIME_WINDOW_FUTURE_MILLIS = 60 * 60 * 1000;

/** Property keys an SDK writes about itself (`$lib: "node"`, its version), not the user's properties. */
export const SDK_METADATA_KEYS: ReadonlySet<string> = new Set(['$lib', '$lib_version']);

/** Whether the service takes a record of this time without `time_free` (10 days back to 1 hour ahead of now). */
export function isInTimeWindow(timeMillis: number, nowMillis: number): boolean {
  return timeMillis >= nowMillis - TIME_WINDOW_PAST_MILLIS && timeMillis <= nowMillis + TIME_WINDOW_FUTURE_MILLIS;
}

/** `code` the service answers when the client id was not initialised by a Gravity client SDK. */
export const CODE_CLIENT_NOT_INITIALISED = 2000;

export const PROFILE_EVENT_NAMES: readonly ProfileEventName[] = Object.freeze([
  'profile_set',
  'profile_set_once',
  'profile_increment',
  'profile_number_max',
  'profile_number_min',
  'profile_append',
  'profile_uniq_append',
  'profile_unset',
  'profile_delete',
]);

/** Profile operations whose values must be numbers. */
export const NUMERIC_PROFILE_EVENTS: ReadonlySet<string> = new Set([
  'profile_increment',
  'profile_number_max',
  'profile_number_min',
]);

/** Profile operations whose values must be arrays. */
export const ARRAY_PROFILE_EVENTS: ReadonlySet<string> = new Set(['profile_append', 'profile_uniq_append']);

export function isProfileEventName(name: string): name is ProfileEventName {
  return (PROFILE_EVENT_NAMES as readonly string[]).includes(name);
}
