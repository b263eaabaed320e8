/**
 * The parts of the OTel trace SDK's types this package uses, declared here: the trace SDK is an optional peer
 * (`@opentelemetry/sdk-trace-base` on OpenTelemetry JS 2.x, `@opentelemetry/sdk-trace` on 2.9+ and 3.x), so
 * neither may be named in the type declarations a logs-only project compiles. Both SDKs' `ReadableSpan`,
 * `SpanExporter` and `SpanProcessor` fit these shapes.
 */
import type { Attributes, Context, HrTime, SpanContext } from '@opentelemetry/api';

/** A span event as the SDK records it (`TimedEvent`). */
export interface GravitySpanEvent {
  readonly name: string;
  readonly time: HrTime;
  readonly attributes?: Attributes;
}

/** A finished span as span exporters receive it (the SDK's `ReadableSpan`): the fields the exporter reads. */
export interface GravityReadableSpan {
  readonly name: string;
  readonly spanContext: () => SpanContext;
  readonly parentSpanContext?: SpanContext;
  readonly attributes: Attributes;
  readonly events: readonly GravitySpanEvent[];
}

/** What `createGravitySpanProcessor` returns: a batch span processor for a tracer provider's `spanProcessors`. */
export interface GravitySpanProcessor {
  onStart(span: GravityReadableSpan, parentContext: Context): void;
  onEnd(span: GravityReadableSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}
