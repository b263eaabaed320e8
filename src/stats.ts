/** Counters of what the exporters did with the records handed to them, kept in one place. */
import type { RejectionCode } from './mapping/map-record.js';

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
  /** HTTP requests made. */
  readonly requests: number;
  /** HTTP requests that did not end in acceptance. */
  readonly failedRequests: number;
}

export class StatsRecorder {
  received = 0;
  ignored = 0;
  rejected = 0;
  sent = 0;
  failed = 0;
  requests = 0;
  failedRequests = 0;
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
    });
  }
}
