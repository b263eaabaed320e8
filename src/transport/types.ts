/** What a transport is handed and what it answers. */
import type { GravityExportError } from '../common/errors.js';
import type { CollectResponse } from '../mapping/wire-types.js';

export interface SendRequest {
  /** Body bytes (gzip when `compressed`). */
  readonly body: Uint8Array;
  readonly compressed: boolean;
  /** Records in the body, for `GE-Integration-Count`. */
  readonly recordCount: number;
  /** Aborts the attempt (shutdown). */
  readonly signal?: AbortSignal;
  /** A shorter limit than the configured `timeoutMillis` for this attempt (what is left of a retry deadline). */
  readonly timeoutMillis?: number;
}

/** The outcome of one attempt. Transports never throw. */
export type SendResult =
  | { readonly status: 'success'; readonly response: CollectResponse }
  | { readonly status: 'failure'; readonly error: GravityExportError }
  | { readonly status: 'retryable'; readonly error: GravityExportError; readonly retryInMillis?: number };

export interface Transport {
  send(request: SendRequest): Promise<SendResult>;
  /** Closes connections; later sends fail. */
  close(): Promise<void>;
}
