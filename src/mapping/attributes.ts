/**
 * Attribute keys of the `ge.*` contract (described in the README).
 * A log record or span event that carries `ge.client_id` is an analytics record.
 */

/** Prefix of every attribute that steers the mapping; such attributes never become properties. */
export const GE_ATTRIBUTE_PREFIX = 'ge.';

/** Gravity client id (string, required): the user the record belongs to. */
export const ATTR_GE_CLIENT_ID = 'ge.client_id';

/** Track event name (string). Defaults to the log record's `eventName` or the span event's name. */
export const ATTR_GE_EVENT_NAME = 'ge.event_name';

/**
 * User-property operation (string): `set`, `set_once`, `increment`, `max`, `min`, `append`,
 * `uniq_append`, `unset` or `delete`. Absent means a track event.
 */
export const ATTR_GE_USER_OP = 'ge.user_op';

/** Client IP (string), sent as the top-level `client_ip`; the service then uses it as `$ip`. */
export const ATTR_GE_CLIENT_IP = 'ge.client_ip';

/** Client user agent (string), sent as the top-level `client_ua`; the service then uses it as `$ua`. */
export const ATTR_GE_CLIENT_UA = 'ge.client_ua';

/** `true` for historical imports: lifts the service's 10-day time window (`time_free`). */
export const ATTR_GE_TIME_FREE = 'ge.time_free';

/** Every `ge.*` key the mapping understands. */
export const GE_ATTRIBUTE_KEYS: readonly string[] = Object.freeze([
  ATTR_GE_CLIENT_ID,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_USER_OP,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_TIME_FREE,
]);
