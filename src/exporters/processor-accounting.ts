/**
 * What the helpers' OTel batch processors lose, counted and reported; and their shutdown, held to the
 * exporter's `shutdownTimeoutMillis` from its start. A batch processor drops every record
 * (or span) that arrives while its queue holds `maxQueueSize`, before any exporter sees it, and says nothing
 * (log processors) or little (span processors). The helpers count each such record in the exporter's
 * `getStats().droppedByProcessor` (and its self-metrics) and report each episode through `diag`.
 *
 * How a drop is seen: processors that record self-observability metrics (sdk-logs 0.221+, sdk-trace 2.10+) get a
 * `selfObsMeterProvider` whose only live instrument hears, synchronously, each record dropped with
 * `error.type=queue_full`. Older processors record nothing; for them the queue is modelled as the records handed
 * to `onEmit`/`onEnd` minus those handed on to `export()`, and a record that would find it full is dropped here,
 * counted, instead of silently there (the model never undercounts the queue, so the processor never drops).
 */
import { createNoopMeter } from '@opentelemetry/api';
import type { Attributes, Counter, Meter, MeterProvider } from '@opentelemetry/api';
import { createLogger } from '../common/diag.js';

/** The OTel semantic-convention value of `error.type` for a record dropped because the queue was full. */
const QUEUE_FULL = 'queue_full';

/** The exporter's pipeline: where the counts go, and whose shutdown budget starts with the processor's shutdown. */
export interface ProcessorSink {
  countProcessorDrops(records: number): void;
  beginShutdown(): void;
}

export interface QueueAccounting {
  /** Pass as the processor's `selfObsMeterProvider`. */
  readonly meterProvider: MeterProvider;
  /** The exporter to hand to the processor: the same one, with the records it is given counted. */
  countExports<E extends object>(exporter: E): E;
  /**
   * Watches the processor's entry point (`onEmit` for logs, `onEnd` for spans); `records` says how many records
   * an item holds (a span: its events), `queued` whether the processor queues it at all (a span: if sampled).
   * A drop episode still open is reported on flush and shutdown.
   */
  attach(processor: object, entry: 'onEmit' | 'onEnd', records: (item: unknown) => number, queued?: (item: unknown) => boolean): void;
}

export function createQueueAccounting(sink: ProcessorSink, maxQueueSize: number, kind: 'logs' | 'spans'): QueueAccounting {
  const log = createLogger('processor');
  const noun = kind === 'logs' ? 'log records' : 'span events';
  let meterUsed = false;
  let dropsHeard = 0;
  /** Items handed to the processor (forwarded) and items it handed to `export()`: the queue is the difference. */
  let forwarded = 0;
  let exported = 0;
  let shutDown = false;
  let episodeRecords = 0;
  let totalRecords = 0;

  const counter = { add: (value: number, attributes?: Attributes) => void (attributes?.['error.type'] === QUEUE_FULL && (dropsHeard += value)) } as Counter;
  const meter: Meter = Object.assign(Object.create(createNoopMeter()) as Meter, { createCounter: () => counter });
  const meterProvider: MeterProvider = {
    getMeter: () => {
      meterUsed = true;
      return meter;
    },
  };

  function dropped(records: number, why: string): void {
    totalRecords += records;
    sink.countProcessorDrops(records);
    if (episodeRecords === 0) {
      log.warn(
        `the OTel batch processor ${why}: ${noun} are dropped before they reach the exporter (counted in ` +
          `getStats().droppedByProcessor); raise maxQueueSize (${maxQueueSize}) for bursts this large`,
      );
    }
    episodeRecords += records;
  }

  function endEpisode(): void {
    if (episodeRecords === 0) return;
    log.warn(`the OTel batch processor dropped ${episodeRecords} ${noun} while its queue was full (maxQueueSize ${maxQueueSize}; ${totalRecords} in all)`);
    episodeRecords = 0;
  }

  return {
    meterProvider,

    countExports(exporter) {
      const target = exporter as unknown as { export(items: unknown[], callback: unknown): void };
      return Object.assign(Object.create(exporter) as object, {
        export(items: unknown[], callback: unknown): void {
          exported += items.length;
          target.export(items, callback);
        },
      }) as typeof exporter;
    },

    attach(processor, entry, records, queued = () => true) {
      const host = processor as Record<string, unknown>;
      const inner = (host[entry] as (item: unknown, ...rest: unknown[]) => void).bind(processor);
      const innerShutdown = (host['shutdown'] as () => Promise<void>).bind(processor);
      const innerForceFlush = (host['forceFlush'] as () => Promise<void>).bind(processor);
      host[entry] = (item: unknown, ...rest: unknown[]): void => {
        if (!queued(item)) {
          inner(item, ...rest);
          return;
        }
        if (shutDown) {
          // The processor ignores what arrives once it is shutting down.
          const lost = records(item);
          if (lost > 0) dropped(lost, 'is shut down');
          return;
        }
        if (!meterUsed && forwarded - exported >= maxQueueSize) {
          const lost = records(item);
          if (lost > 0) dropped(lost, 'queue is full');
          return;
        }
        const before = dropsHeard;
        inner(item, ...rest);
        if (dropsHeard !== before) {
          const lost = records(item);
          if (lost > 0) dropped(lost, 'queue is full');
          return;
        }
        forwarded++;
        endEpisode();
      };
      host['forceFlush'] = (): Promise<void> => {
        endEpisode();
        return innerForceFlush();
      };
      host['shutdown'] = (): Promise<void> => {
        shutDown = true;
        // Before the processor waits for its export in flight and makes its last ones: one budget for all of it.
        sink.beginShutdown();
        endEpisode();
        return innerShutdown().finally(endEpisode);
      };
    },
  };
}
