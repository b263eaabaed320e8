import type { ExportResult } from '@opentelemetry/core';
import type { RecordMapper } from '../pipeline/export-pipeline.js';
import { GravityExporterBase } from './exporter-base.js';
import { createSpanEventMapper, resolveSpanEventMappingOptions } from '../mapping/map-span-event.js';
import type { GravitySpanExporterOptions } from '../config/options.js';
import { createSamplingWatch } from './span-sampling.js';
import type { SamplingWatch } from './span-sampling.js';
import type { GravityReadableSpan } from '../mapping/trace-types.js';

/**
 * Sends the span events that carry `ge.*` attributes, or belong to a span carrying `ge.client_id`, to
 * Gravity Engine as track events or user-property operations; spans themselves and every other event are
 * ignored, so it sits beside any other trace exporter. Mapping, batching, delivery and counters are the
 * log exporter's; `getStats().received` counts span events. Spans that are not sampled never reach an exporter: their events are lost (a one-time
 * `diag.warn` says so when sampling can be seen).
 *
 * @throws {GravityConfigurationError} when no access token is configured (option, `GE_ACCESS_TOKEN`, or URL), for
 * an invalid option value (then also a `TypeError` or `RangeError`), and for a `GE_SERVER_URL` or `GE_DEBUG`
 * that is set but invalid. Nothing is sent then.
 *
 * @example
 * ```ts
 * import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
 * import { GravitySpanExporter } from 'gravity-otel-exporter';
 *
 * // With @opentelemetry/sdk-trace-base (2.x): new BasicTracerProvider(...), new BatchSpanProcessor(exporter)
 * const provider = new TracerProvider({
 *   spanProcessors: [new BatchSpanProcessor({ exporter: new GravitySpanExporter() })], // token from GE_ACCESS_TOKEN
 * });
 * const span = provider.getTracer('shop').startSpan('checkout', { attributes: { 'ge.client_id': 'user-42' } });
 * span.addEvent('purchase', { amount: 30 });
 * span.addEvent('upgrade', { 'ge.user_op': 'set', plan: 'pro' });
 * span.end();
 * await provider.shutdown();
 * ```
 */
export class GravitySpanExporter extends GravityExporterBase {
  private readonly _mapSpan: RecordMapper<GravityReadableSpan>;
  private readonly _sampling: SamplingWatch;

  constructor(options: GravitySpanExporterOptions = {}) {
    // Span options are checked first, so a bad one throws before any connection pool exists.
    const mapSpan = createSpanEventMapper(resolveSpanEventMappingOptions(options));
    super(options, 'spans');
    this._mapSpan = mapSpan;
    this._sampling = createSamplingWatch(process.env, this._diagnostics);
  }

  export(spans: GravityReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this._sampling.observe(spans);
    this._pipeline.export(spans, this._mapSpan, resultCallback);
  }
}
