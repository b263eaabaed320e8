import { resolveConfig } from './config.js';
import { createExportPipeline } from './export-pipeline.js';
import type { ExportPipeline } from './export-pipeline.js';
import { registerSelfMetrics } from './metrics.js';
import type { GravityExporterOptions } from './options.js';
import type { GravityExporterStats } from './stats.js';

/**
 * What both exporters share: one export pipeline built from the resolved options, its flush, shutdown and
 * counters, and the optional self-metrics. Subclasses only adapt their OTel records to the pipeline.
 */
export abstract class GravityExporterBase {
  protected readonly _pipeline: ExportPipeline;
  private readonly _unregisterSelfMetrics: () => void;

  protected constructor(options: GravityExporterOptions, signal: 'logs' | 'spans') {
    this._pipeline = createExportPipeline(resolveConfig(options));
    this._unregisterSelfMetrics = registerSelfMetrics(options.meterProvider, signal, () => this._pipeline.getStats());
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
    // The final counts stay readable through getStats(); a meter keeps reporting only live exporters.
    return this._pipeline.shutdown().finally(this._unregisterSelfMetrics);
  }

  /** A snapshot of the counters: received, ignored, rejected (per reason), sent, failed, retried, dropped... */
  getStats(): GravityExporterStats {
    return this._pipeline.getStats();
  }
}
