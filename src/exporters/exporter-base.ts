import { resolveConfig } from '../config/resolve-config.js';
import { configurationError } from '../common/errors.js';
import { createExportPipeline } from '../pipeline/export-pipeline.js';
import type { ExportPipeline } from '../pipeline/export-pipeline.js';
import { registerSelfMetrics } from '../observability/self-metrics.js';
import type { GravityExporterOptions } from '../config/options.js';
import type { GravityExporterStats } from '../observability/stats.js';
import type { GravityDiagnostics } from '../common/diag.js';

const pipelines = new WeakMap<GravityExporterBase, ExportPipeline>();

/** An exporter's pipeline, for the processor helpers (which count their processor's drops there). */
export function pipelineOf(exporter: GravityExporterBase): ExportPipeline {
  return pipelines.get(exporter)!;
}

/**
 * What both exporters share: one export pipeline built from the resolved options, its flush, shutdown and
 * counters, and the optional self-metrics. Subclasses only adapt their OTel records to the pipeline.
 */
export abstract class GravityExporterBase {
  /** @internal Left out of the type declarations, which would otherwise carry the whole pipeline's types. */
  protected readonly _pipeline: ExportPipeline;
  /** Where this exporter's warnings go while no OTel diag logger is registered. */
  protected readonly _diagnostics: GravityDiagnostics;
  private readonly _unregisterSelfMetrics: () => void;

  protected constructor(options: GravityExporterOptions, signal: 'logs' | 'spans') {
    const config = resolveConfig(options);
    const { meterProvider } = options;
    // Checked before the pipeline exists: a throwing constructor must leave nothing open (spool lock, pool).
    if (meterProvider !== undefined && typeof (meterProvider as { getMeter?: unknown } | null)?.getMeter !== 'function') {
      throw configurationError('type', 'meterProvider', 'an OTel MeterProvider (with getMeter)', meterProvider === null ? 'null' : typeof meterProvider);
    }
    this._unregisterSelfMetrics = registerSelfMetrics(meterProvider, signal, () => this._pipeline.getStats());
    this._pipeline = createExportPipeline(config);
    this._diagnostics = config.diagnostics;
    pipelines.set(this, this._pipeline);
  }

  /**
   * Waits for every export started so far (delivered, failed or spooled), at most `exportDeadlineMillis`;
   * never rejects (on timeout it reports what was left through `diag`).
   */
  forceFlush(): Promise<void> {
    return this._pipeline.forceFlush();
  }

  /**
   * Drains what is in flight (at most `exportDeadlineMillis`), then closes the spool and the connections and
   * unregisters the self-metrics. Idempotent; later exports fail at once.
   */
  shutdown(): Promise<void> {
    // The final counts stay readable through getStats(), and stay in the self-metrics' sums.
    return this._pipeline.shutdown().finally(this._unregisterSelfMetrics);
  }

  /** A snapshot of the counters: received, ignored, rejected (per reason), sent, failed, retried, dropped... */
  getStats(): GravityExporterStats {
    return this._pipeline.getStats();
  }
}
