/**
 * Watches every attempt the import's delivery makes. When the endpoint refuses every request (401, 403, 404,
 * a non-zero `code` other than 2000) or cannot be reached (refused connection, unknown host, TLS), a few
 * attempts in a row say so: the import is told to stop, with the cause, instead of retrying each request
 * until its deadline and going on with the rest of the file.
 */
import type { SendRequest, SendResult, Transport } from '../../transport/types.js';
import { classifyFailure, describeFailure, hintFor, isAbandonment } from './causes.js';

/** Failed attempts in a row, none ever accepted, that stop the import. */
const REFUSALS_BEFORE_ANY_SUCCESS = 3;
/** Once requests have been accepted, a change (a revoked token) has to show on this many attempts in a row. */
const REFUSALS_AFTER_A_SUCCESS = 50;

/** Why the endpoint watch stopped the import. */
export interface EndpointStop {
  /** The last refusal, in words (never the token). */
  readonly cause: string;
  /** What to check, when there is something obvious. */
  readonly hint: string | undefined;
  /** Attempts in a row that failed that way. */
  readonly attempts: number;
}

/** The transport, observed; `onStop` is called once, on the attempt that makes the case. */
export function watchEndpoint(inner: Transport, onStop: (stop: EndpointStop) => void): Transport {
  let succeeded = false;
  let refusals = 0;
  let stopped = false;

  function observe(result: SendResult): void {
    if (result.status === 'success') {
      succeeded = true;
      refusals = 0;
      return;
    }
    const { error } = result;
    if (isAbandonment(error)) return;
    const kind = classifyFailure(error);
    if (kind === 'refused' || (kind === 'silent' && !succeeded)) refusals++;
    else refusals = 0;
    if (stopped || refusals < (succeeded ? REFUSALS_AFTER_A_SUCCESS : REFUSALS_BEFORE_ANY_SUCCESS)) return;
    stopped = true;
    onStop({ cause: describeFailure(error, 'failed'), hint: hintFor(error), attempts: refusals });
  }

  return {
    async send(request: SendRequest): Promise<SendResult> {
      const result = await inner.send(request);
      observe(result);
      return result;
    },
    close: () => inner.close(),
  };
}
