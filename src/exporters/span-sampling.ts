/**
 * Tells, where it can, that analytics span events are being lost to trace sampling: a span that is not
 * sampled never reaches a span exporter, so its events cannot be seen, only inferred. One warning per
 * exporter, from whichever signal shows first.
 */
import { TraceFlags } from '@opentelemetry/api';
import { ATTR_GE_CLIENT_ID } from '../mapping/attributes.js';
import { createLogger } from '../common/diag.js';
import type { GravityDiagnostics } from '../common/diag.js';
import { isGravityRecord } from '../mapping/detect.js';
import type { GravityReadableSpan } from '../mapping/trace-types.js';

type Env = Readonly<Record<string, string | undefined>>;

const ADVICE =
  'span events on spans that are not sampled never reach GravitySpanExporter and are lost; ' +
  'send analytics that must never be sampled through the Logs API (GravityLogRecordExporter) or GravityAnalytics';

/**
 * What the OTel SDK's env configuration (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`) samples out, or
 * `undefined` when it keeps every root span. The SDK uses it only when no sampler is passed in code.
 */
export function describeEnvSampling(env: Env): string | undefined {
  const sampler = env['OTEL_TRACES_SAMPLER']?.trim().toLowerCase();
  if (sampler === 'always_off' || sampler === 'parentbased_always_off') return `OTEL_TRACES_SAMPLER=${sampler}`;
  if (sampler === 'traceidratio' || sampler === 'parentbased_traceidratio') {
    const raw = env['OTEL_TRACES_SAMPLER_ARG']?.trim();
    const ratio = raw === undefined || raw === '' ? 1 : Number(raw);
    // Like the SDK: a missing or out-of-range ratio means 1.
    if (Number.isFinite(ratio) && ratio >= 0 && ratio < 1) {
      return `OTEL_TRACES_SAMPLER=${sampler} with OTEL_TRACES_SAMPLER_ARG=${raw}`;
    }
  }
  return undefined;
}

function carriesAnalytics(span: GravityReadableSpan): boolean {
  if (span.attributes[ATTR_GE_CLIENT_ID] !== undefined) return true;
  return span.events.some((event) => isGravityRecord(event.attributes));
}

/**
 * Evidence in an exported span that spans of its trace were sampled out: its parent was not sampled
 * (a custom or remote-parent sampler kept the child), or its `ot` trace state carries a sampling
 * threshold (`th`, OTel's consistent probability sampling) other than 0, i.e. a probability below 1.
 */
export function describeSampledOutEvidence(span: GravityReadableSpan): string | undefined {
  const parent = span.parentSpanContext;
  if (parent !== undefined && (parent.traceFlags & TraceFlags.SAMPLED) === 0) {
    return `span "${span.name}" was exported but its parent span ${parent.spanId} was not sampled`;
  }
  const ot = span.spanContext().traceState?.get('ot');
  const threshold = ot?.split(';').find((part) => part.startsWith('th:'));
  if (threshold !== undefined && threshold !== 'th:0') {
    return `span "${span.name}" has trace state ot=${ot}: its trace is sampled with a probability below 1`;
  }
  return undefined;
}

/** Watches exported spans (and the env at construction) for sampling that drops analytics. */
export interface SamplingWatch {
  observe(spans: readonly GravityReadableSpan[]): void;
}

/** Checks `env` now, then each exported span until it has warned once. */
export function createSamplingWatch(env: Env, diagnostics?: GravityDiagnostics): SamplingWatch {
  const log = createLogger('span', diagnostics);
  let warned = false;
  const warn = (evidence: string): void => {
    warned = true;
    log.warn(`trace sampling drops analytics: ${evidence}; ${ADVICE}`);
  };
  const fromEnv = describeEnvSampling(env);
  if (fromEnv !== undefined) warn(`${fromEnv} (unless a sampler passed in code overrides it)`);
  return {
    observe(spans) {
      if (warned) return;
      for (const span of spans) {
        const evidence = describeSampledOutEvidence(span);
        if (evidence !== undefined && carriesAnalytics(span)) {
          warn(evidence);
          return;
        }
      }
    },
  };
}
