/**
 * ReadableSpan → one result per span event (properties = the event's non-`ge.*`
 * attributes; `ge.client_id`, `ge.client_ip`, `ge.client_ua` and `ge.time_free` inherit from the span).
 * Azure Monitor's `spanEventsToEnvelopes` is the model: the span is context, its events are the records.
 */
import {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_TIME_FREE,
  ATTR_GE_USER_OP,
  GE_ATTRIBUTE_PREFIX,
} from './attributes.js';
import { configurationError } from '../common/errors.js';
import { findUnknownGeKey, hrTimeToMillis, isGravityRecord } from './detect.js';
import { GRAVITY_KEY_PATTERN } from './rules.js';
import { isValidGravityKey } from './keys.js';
import { mapRecord, toGravityKey } from './map-record.js';
import type { MapResult, MappingContext, PropertySource } from './map-record.js';
import type { GravityReadableSpan, GravitySpanEvent } from './trace-types.js';

/** Property key of the trace id added by `traceCorrelation` (32 lower-case hex characters). */
export const TRACE_ID_PROPERTY = 'trace_id';
/** Property key of the span id added by `traceCorrelation` (16 lower-case hex characters). */
export const SPAN_ID_PROPERTY = 'span_id';

/** How span context reaches the events' properties (validated; see `GravitySpanExporterOptions`). */
export interface SpanEventMappingOptions {
  readonly traceCorrelation: boolean;
  readonly copySpanAttributes: readonly string[];
}

/** What the mapping reads of a span: an SDK `ReadableSpan`, or one the gateway decoded from OTLP. */
export type SpanInput = Pick<GravityReadableSpan, 'attributes' | 'events' | 'spanContext'>;

/**
 * One entry per span event, in event order: a result, or `undefined` for an event that is not analytics
 * (the pipeline counts it as ignored).
 */
export type SpanEventResults = readonly (MapResult | undefined)[];

/**
 * The `ge.*` keys an event inherits from its span. `ge.event_name` and `ge.user_op` count only on the
 * event: on a span they would turn every event of it into the same record.
 */
const INHERITED_KEYS: ReadonlySet<string> = new Set([ATTR_GE_CLIENT_ID, ATTR_GE_CLIENT_IP, ATTR_GE_CLIENT_UA, ATTR_GE_TIME_FREE]);

const NO_EVENTS: SpanEventResults = Object.freeze([]);

type Attributes = Readonly<Record<string, unknown>>;
const NO_ATTRIBUTES: Attributes = Object.freeze({});


/** Validates the span options given in code; throws `GravityConfigurationError` (a `TypeError`) on a bad value. */
export function resolveSpanEventMappingOptions(options: {
  traceCorrelation?: boolean;
  copySpanAttributes?: readonly string[];
}): SpanEventMappingOptions {
  const { traceCorrelation = false, copySpanAttributes = [] } = options;
  if (typeof traceCorrelation !== 'boolean') {
    throw configurationError('type', 'traceCorrelation', 'a boolean', traceCorrelation);
  }
  if (!Array.isArray(copySpanAttributes) || copySpanAttributes.some((key) => typeof key !== 'string' || key === '')) {
    throw configurationError('type', 'copySpanAttributes', 'an array of attribute keys', copySpanAttributes);
  }
  // ge.* attributes never become properties, so copying them would do nothing.
  const keys = [...new Set(copySpanAttributes)].filter((key) => !key.startsWith(GE_ATTRIBUTE_PREFIX));
  // A key that cannot be a Gravity key would get every track event of every span carrying it rejected.
  const unfit = keys.find((key) => !isValidGravityKey(toGravityKey(key)));
  if (unfit !== undefined) {
    throw configurationError('type', 'copySpanAttributes', `attribute keys that fit ${GRAVITY_KEY_PATTERN} once dots become underscores`, unfit);
  }
  return Object.freeze({ traceCorrelation, copySpanAttributes: Object.freeze(keys) });
}

/**
 * Makes the span mapper. Cost for spans and events without `ge.*`: one lookup on the span, then
 * `isGravityRecord` per event (a few property lookups); nothing is copied or allocated per event.
 */
export function createSpanEventMapper(
  options: SpanEventMappingOptions,
): (span: SpanInput, ctx: MappingContext) => SpanEventResults {
  return (span, ctx) => {
    const events = span.events;
    if (events.length === 0) return NO_EVENTS;
    const spanAttributes = span.attributes as Attributes;
    // A span key that is not part of the contract (`ge.clientid`) makes every event of the span a record, as
    // `ge.client_id` would: each is rejected naming the typo instead of being ignored without a word.
    const spanMakesRecords = spanAttributes[ATTR_GE_CLIENT_ID] !== undefined || findUnknownGeKey(spanAttributes) !== undefined;
    let results: (MapResult | undefined)[] | undefined;
    let trackSources: PropertySource[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const eventAttributes = (event.attributes ?? NO_ATTRIBUTES) as Attributes;
      if (!spanMakesRecords && !isGravityRecord(eventAttributes)) continue;
      results ??= new Array<MapResult | undefined>(events.length).fill(undefined);
      // Span context goes on track events only: a string trace id would break a numeric user operation.
      const isTrack = eventAttributes[ATTR_GE_USER_OP] === undefined;
      if (isTrack) trackSources ??= spanSources(span, spanAttributes, options);
      results[i] = mapSpanEvent(event, eventAttributes, spanAttributes, isTrack ? trackSources! : [], ctx);
    }
    return results ?? new Array<undefined>(events.length).fill(undefined);
  };
}

/** Property sources taken from the span, lowest priority first: correlation ids, then copied attributes. */
function spanSources(span: SpanInput, spanAttributes: Attributes, options: SpanEventMappingOptions): PropertySource[] {
  const sources: PropertySource[] = [];
  if (options.traceCorrelation) {
    const { traceId, spanId } = span.spanContext();
    sources.push({ [TRACE_ID_PROPERTY]: traceId, [SPAN_ID_PROPERTY]: spanId });
  }
  if (options.copySpanAttributes.length > 0) {
    const copied: Record<string, unknown> = {};
    for (const key of options.copySpanAttributes) {
      if (spanAttributes[key] !== undefined) copied[key] = spanAttributes[key];
    }
    sources.push(copied);
  }
  return sources;
}

function mapSpanEvent(
  event: GravitySpanEvent,
  eventAttributes: Attributes,
  spanAttributes: Attributes,
  spanSourcesForEvent: readonly PropertySource[],
  ctx: MappingContext,
): MapResult {
  return mapRecord(
    {
      ge: (key) => {
        const own = eventAttributes[key];
        return own !== undefined || !INHERITED_KEYS.has(key) ? own : spanAttributes[key];
      },
      sources: spanSourcesForEvent.length === 0 ? [eventAttributes] : [...spanSourcesForEvent, eventAttributes],
      spanAttributes,
      defaultEventName: event.name,
      timeMillis: hrTimeToMillis(event.time),
    },
    ctx,
  );
}
