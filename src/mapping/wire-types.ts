/**
 * Payload types of Gravity Engine's collect endpoint, as documented in
 * Gravity's collect API (request body, record types, response).
 */

/** `type` of an event-list item. */
export type GravityRecordType = 'track' | 'profile';

/** `event` of a `profile` record: the user-property operation. */
export type ProfileEventName =
  | 'profile_set'
  | 'profile_set_once'
  | 'profile_increment'
  | 'profile_number_max'
  | 'profile_number_min'
  | 'profile_append'
  | 'profile_uniq_append'
  | 'profile_unset'
  | 'profile_delete';

/** A property value as JSON carries it. */
export type GravityValue = string | number | boolean | null | GravityValue[] | { [key: string]: GravityValue };

/** Record properties (top-level keys follow the Gravity key rule). */
export type GravityProperties = Record<string, GravityValue>;

/**
 * One item of `event_list`. Key order follows the Python SDK's reference payloads:
 * `type`, `event`, `time`, `time_free`, `properties`.
 */
export interface GravityEvent {
  type: GravityRecordType;
  event: string;
  /** Event time, integer epoch milliseconds. */
  time: number;
  /** `true` lifts the service's window of 10 days back / 1 hour ahead (history import). */
  time_free: boolean;
  properties: GravityProperties;
}

/** Body of one POST to the collect endpoint: all records of one client. */
export interface CollectPayload {
  client_id: string;
  client_ip?: string;
  client_ua?: string;
  event_list: GravityEvent[];
}

/** What the collect endpoint answers with HTTP 200. `code` 0 means accepted. */
export interface CollectResponse {
  code: number;
  msg?: string;
  extra?: { error?: string; errors?: unknown[]; [key: string]: unknown };
  [key: string]: unknown;
}
