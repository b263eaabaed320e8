/** Counters of what the exporters did with the records handed to them, kept in one place. */
import type { RejectionCode } from '../mapping/map-record.js';

/** A snapshot of an exporter's counters (all counts of records unless named otherwise). */
export interface GravityExporterStats {
  /** Records (log records or span events) handed to `export()`. */
  readonly received: number;
  /** Records without `ge.*` attributes: not analytics, never sent. */
  readonly ignored: number;
  /** Records that cannot be sent correctly (invalid input), never sent. */
  readonly rejected: number;
  /** `rejected`, per reason code (`invalid_key`, `invalid_user_op`, ...). */
  readonly rejectedByReason: Readonly<Partial<Record<RejectionCode, number>>>;
  /** Records Gravity accepted (`code` 0). */
  readonly sent: number;
  /** Records not delivered: refused by the service (non-zero `code`) or failed in transport. */
  readonly failed: number;
  /** HTTP requests the endpoint answered (any status): what its own logs would count. */
  readonly requests: number;
  /** Of `requests`, those answered with something other than acceptance (an HTTP error, a non-zero `code`). */
  readonly failedRequests: number;
  /**
   * HTTP requests attempted, answered or not: `attempts - requests` ended without an answer (connection
   * refused or reset, timed out, aborted).
   */
  readonly attempts: number;
  /** Records sent again after a retryable failure (one count per record per retry). */
  readonly retried: number;
  /**
   * Records given up without a verdict from the service: over `maxBufferedRecords` (oldest first, when there
   * is no spool), still pending when `shutdown()` ran out of time, or refused by a full spool. Drops in the OTel
   * batch processor's queue are `droppedByProcessor`.
   */
  readonly dropped: number;
  /**
   * Records (log records, or span events of dropped spans) the OTel batch processor in front of the exporter
   * dropped because its queue was full (or it was shutting down): counted when the processor was made by
   * `createGravityLogRecordProcessor` / `createGravitySpanProcessor`. They never reached the exporter, so they
   * are not in `received`.
   */
  readonly droppedByProcessor: number;
  /** Records written to the durable spool (`spoolDir`). */
  readonly spooled: number;
  /** Records read back from the spool and delivered (also counted in `sent`). */
  readonly replayed: number;
  /** Records split out of requests the service refused as too large (HTTP 413). */
  readonly splitRequests: number;
  /** Records waiting in the background because the service answered `code` 2000 (a gauge, not a total). */
  readonly waitingForClientInit: number;
  /** Records held in memory right now: in flight, waiting for a retry, or for client initialisation (a gauge). */
  readonly buffered: number;
}

export class StatsRecorder {
  received = 0;
  ignored = 0;
  rejected = 0;
  sent = 0;
  failed = 0;
  requests = 0;
  failedRequests = 0;
  attempts = 0;
  retried = 0;
  dropped = 0;
  droppedByProcessor = 0;
  spooled = 0;
  replayed = 0;
  splitRequests = 0;
  waitingForClientInit = 0;
  buffered = 0;
  private readonly _rejectedByReason: Partial<Record<RejectionCode, number>> = {};

  reject(code: RejectionCode): void {
    this.rejected++;
    this._rejectedByReason[code] = (this._rejectedByReason[code] ?? 0) + 1;
  }

  snapshot(): GravityExporterStats {
    return Object.freeze({
      received: this.received,
      ignored: this.ignored,
      rejected: this.rejected,
      rejectedByReason: Object.freeze({ ...this._rejectedByReason }),
      sent: this.sent,
      failed: this.failed,
      requests: this.requests,
      failedRequests: this.failedRequests,
      attempts: this.attempts,
      retried: this.retried,
      dropped: this.dropped,
      droppedByProcessor: this.droppedByProcessor,
      spooled: this.spooled,
      replayed: this.replayed,
      splitRequests: this.splitRequests,
      waitingForClientInit: this.waitingForClientInit,
      buffered: this.buffered,
    });
  }
}
