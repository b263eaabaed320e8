import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTraceState, TraceFlags } from '@opentelemetry/api';
import type { SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describeEnvSampling, describeSampledOutEvidence } from '../../src/exporters/span-sampling.js';

function createTestSpan(fields: { parentSpanContext?: SpanContext; traceState?: string }): ReadableSpan {
  const spanContext: SpanContext = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    traceState: fields.traceState === undefined ? undefined : createTraceState(fields.traceState),
  };
  return {
    name: 'checkout',
    attributes: {},
    events: [],
    parentSpanContext: fields.parentSpanContext,
    spanContext: () => spanContext,
  } as unknown as ReadableSpan;
}

describe('describeEnvSampling', () => {
  it('sees always_off and parentbased_always_off', () => {
    assert.equal(describeEnvSampling({ OTEL_TRACES_SAMPLER: 'always_off' }), 'OTEL_TRACES_SAMPLER=always_off');
    assert.equal(describeEnvSampling({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }), 'OTEL_TRACES_SAMPLER=parentbased_always_off');
  });

  it('sees a trace id ratio below 1', () => {
    assert.match(
      describeEnvSampling({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }) ?? '',
      /OTEL_TRACES_SAMPLER_ARG=0\.25/,
    );
  });

  it('says nothing for the default, always_on, a ratio of 1, or a missing or out-of-range ratio (the SDK uses 1)', () => {
    for (const env of [
      {},
      { OTEL_TRACES_SAMPLER: 'always_on' },
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
      { OTEL_TRACES_SAMPLER: 'traceidratio' },
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' },
    ]) {
      assert.equal(describeEnvSampling(env), undefined, JSON.stringify(env));
    }
  });
});

describe('describeSampledOutEvidence', () => {
  it('names a sampled span whose parent was not sampled', () => {
    const parent: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.NONE };
    assert.match(describeSampledOutEvidence(createTestSpan({ parentSpanContext: parent })) ?? '', /parent span 00f067aa0ba902b7 was not sampled/);
  });

  it('reads a consistent-probability sampling threshold other than 0 from the ot trace state', () => {
    assert.match(describeSampledOutEvidence(createTestSpan({ traceState: 'ot=th:c' })) ?? '', /probability below 1/);
    assert.equal(describeSampledOutEvidence(createTestSpan({ traceState: 'ot=th:0' })), undefined);
  });

  it('sees nothing in a root span or the child of a sampled parent', () => {
    const parent: SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED };
    assert.equal(describeSampledOutEvidence(createTestSpan({})), undefined);
    assert.equal(describeSampledOutEvidence(createTestSpan({ parentSpanContext: parent })), undefined);
  });
});
