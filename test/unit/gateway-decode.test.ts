import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { createBatchSpanProcessor, TracerProvider } from '../helpers/otel-line.js';
import type { ReadableSpan, SpanExporter } from '../helpers/otel-line.js';
import { decodeLogsJson, decodeTracesJson } from '../../src/gateway/otlp-json.js';
import { decodeLogsProtobuf, decodeTracesProtobuf } from '../../src/gateway/otlp-protobuf.js';
import { OtlpDecodeError, readLogRecord, readSpan } from '../../src/gateway/otlp-records.js';
import type { DecodedRequest, GatewayLogRecord, GatewaySpan } from '../../src/gateway/otlp-records.js';
import { mapLogRecord } from '../../src/mapping/map-log-record.js';
import { createSpanEventMapper, resolveSpanEventMappingOptions } from '../../src/mapping/map-span-event.js';
import { createMappingContext, createTestLogRecord } from '../helpers/record-builders.js';

const NOW = () => 1_800_000_000_000;

/** The request's records read as the gateway's mapper reads them: the analytics ones, and the counts. */
function readLogs(decoded: DecodedRequest): { items: GatewayLogRecord[]; records: number } {
  const items = decoded.entries.map((entry) => readLogRecord(entry, NOW)).filter((item): item is GatewayLogRecord => item !== undefined);
  return { items, records: decoded.entries.length };
}

function readSpans(decoded: DecodedRequest): { items: GatewaySpan[]; events: number; analytics: number } {
  const reads = decoded.entries.map((entry) => readSpan(entry, NOW));
  return {
    items: reads.flatMap((read) => (read.span === undefined ? [] : [read.span])),
    events: reads.reduce((n, read) => n + read.events, 0),
    analytics: reads.reduce((n, read) => n + read.analytics, 0),
  };
}

const ENCODINGS = [
  { name: 'protobuf', logs: (r: ReadableLogRecord[]) => readLogs(decodeLogsProtobuf(ProtobufLogsSerializer.serializeRequest(r)!, [])) },
  { name: 'json', logs: (r: ReadableLogRecord[]) => readLogs(decodeLogsJson(JsonLogsSerializer.serializeRequest(r)!, [])) },
] as const;

/** Spans as BatchSpanProcessor hands them to an exporter. */
async function endedSpans(build: (provider: TracerProvider) => void): Promise<ReadableSpan[]> {
  const spans: ReadableSpan[] = [];
  const capture: SpanExporter = {
    export: (batch, done) => {
      spans.push(...batch);
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const provider = new TracerProvider({ spanProcessors: [createBatchSpanProcessor(capture)] });
  build(provider);
  await provider.forceFlush();
  return spans;
}

describe('gateway decoding: OTLP → the inputs the mapping takes', () => {
  for (const encoding of ENCODINGS) {
    it(`${encoding.name}: maps each record exactly as the SDK record maps`, () => {
      const records = [
        createTestLogRecord({
          eventName: 'buy',
          timestamp: 1_799_999_999_123,
          attributes: { 'ge.client_id': 'u1', n: 0, b: false, s: '', nested: { a: [1, { b: 'c' }] }, pow: 2 ** 60, neg: -3 },
          body: { x: 1.5, y: null, list: ['a', 0, true] },
        }),
        createTestLogRecord({ timestamp: 1_799_999_999_456, attributes: { 'ge.client_id': 'u1', 'ge.user_op': 'unset' }, body: ['a', 'b.c'] }),
      ];
      const decoded = encoding.logs(records);
      const ctx = createMappingContext();
      assert.deepEqual(
        decoded.items.map((item) => mapLogRecord(item, ctx)),
        records.map((record) => mapLogRecord(record, ctx)),
      );
    });

    it(`${encoding.name}: bytes and NaN are rejected by the mapping as the SDK's values are, naming the field`, () => {
      const bytes = createTestLogRecord({ eventName: 'e', attributes: { 'ge.client_id': 'u', blob: new Uint8Array([1]) } });
      const nan = createTestLogRecord({ eventName: 'e', attributes: { 'ge.client_id': 'u', ratio: Number.NaN } });
      const [blob, ratio] = encoding.logs([bytes, nan]).items.map((item) => mapLogRecord(item, createMappingContext()));
      assert.deepEqual(blob, mapLogRecord(bytes, createMappingContext()));
      assert.equal(blob?.ok, false);
      assert.match((blob as { reason: string }).reason, /^blob: Uint8Array cannot be sent as JSON/);
      assert.equal(ratio?.ok, false);
      assert.match((ratio as { reason: string }).reason, /^ratio: NaN cannot be sent as JSON/);
    });

    it(`${encoding.name}: leaves out records that are not analytics, and counts them`, () => {
      const decoded = encoding.logs([
        createTestLogRecord({ eventName: 'plain', attributes: { a: 1 }, body: { big: 'x'.repeat(100) } }),
        createTestLogRecord({ eventName: 'e', attributes: { 'ge.client_id': 'u' } }),
        createTestLogRecord({ attributes: { 'ge.user_op': 'set' } }),
      ]);
      assert.equal(decoded.records, 3);
      assert.deepEqual(
        decoded.items.map((i) => Object.keys(i.attributes)),
        [['ge.client_id'], ['ge.user_op']],
      );
    });
  }

  it('reads what other senders write: int64 as strings beyond 2^53 (bigint, rejected), observed time when time is 0, a __proto__ key', () => {
    const body = JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '0',
                  observedTimeUnixNano: '1799999999123456789',
                  eventName: 'e',
                  attributes: [
                    { key: 'ge.client_id', value: { stringValue: 'u' } },
                    { key: 'id', value: { intValue: '9007199254740993' } },
                  ],
                  body: {
                    kvlistValue: {
                      values: [{ key: 'meta', value: { kvlistValue: { values: [{ key: '__proto__', value: { stringValue: 'kept' } }] } } }],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    const [item] = readLogs(decodeLogsJson(Buffer.from(body), [])).items;
    assert.deepEqual(item!.hrTime, [1_799_999_999, 123_456_789]);
    assert.equal(item!.attributes['id'], 9_007_199_254_740_993n);
    const meta = (item!.body as { meta: object }).meta;
    assert.deepEqual(Object.keys(meta), ['__proto__']);
    assert.equal(Object.getPrototypeOf(meta), Object.prototype);
    const mapped = mapLogRecord(item!, createMappingContext());
    assert.equal(mapped?.ok, false);
    assert.match((mapped as { reason: string }).reason, /^id: bigint cannot be sent as JSON/);
  });

  it('refuses a request, or a record, that does not follow the OTLP shapes, naming where', () => {
    assert.throws(() => decodeLogsJson(Buffer.from('{"resourceLogs":{}}'), []), (e: unknown) => e instanceof OtlpDecodeError && /^resourceLogs: expected an array/.test(e.message));
    assert.throws(() => decodeLogsProtobuf(Buffer.from([0x0a, 0x05, 0x01]), []), OtlpDecodeError);
    const [entry] = decodeLogsJson(Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"ge.client_id","value":{"intValue":"x"}}]}]}]}]}'), []).entries;
    assert.throws(() => readLogRecord(entry!, NOW), /resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.attributes\[0\]\.value\.intValue: expected an integer/);
    // A record whose bytes do not decode (here: a truncated length-delimited field).
    const [broken] = decodeLogsProtobuf(Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12, 0x01, 0x32]), []).entries;
    assert.throws(() => readLogRecord(broken!, NOW), /not a valid LogRecord protobuf message/);
  });

  it('copies only allow-listed resource attributes, to be merged under the record\'s own properties', () => {
    const records: ReadableLogRecord[] = [];
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'shop', secret: 'no' }),
      processors: [{ onEmit: (record) => void records.push(record), forceFlush: async () => {}, shutdown: async () => {} }],
    });
    provider.getLogger('t').emit({ eventName: 'e', attributes: { 'ge.client_id': 'u' } });
    const body = ProtobufLogsSerializer.serializeRequest(records)!;
    assert.deepEqual(readLogs(decodeLogsProtobuf(body, ['service.name', 'absent'])).items[0]!.resource.properties, { 'service.name': 'shop' });
    assert.equal(readLogs(decodeLogsProtobuf(body, [])).items[0]!.resource.properties, undefined);
  });

  for (const [name, decode, serialize] of [
    ['protobuf', decodeTracesProtobuf, (s: ReadableSpan[]) => ProtobufTraceSerializer.serializeRequest(s)!],
    ['json', decodeTracesJson, (s: ReadableSpan[]) => JsonTraceSerializer.serializeRequest(s)!],
  ] as const) {
    it(`${name}: span events map as the SDK span's do, trace and span ids included`, async () => {
      const spans = await endedSpans((provider) => {
        const span = provider.getTracer('t').startSpan('s', { attributes: { 'ge.client_id': 'u', 'http.route': '/r' } });
        span.addEvent('buy', { amount: 1 }, 1_799_999_999_000);
        span.addEvent('op', { 'ge.user_op': 'increment', coins: 2 }, 1_799_999_999_001);
        span.end();
        const other = provider.getTracer('t').startSpan('other');
        other.addEvent('noise', { a: 1 });
        other.end();
      });
      const decoded = readSpans(decode(serialize(spans), []));
      assert.equal(decoded.events, 3);
      assert.equal(decoded.analytics, 2);
      assert.equal(decoded.items.length, 1);
      const mapSpan = createSpanEventMapper(resolveSpanEventMappingOptions({ traceCorrelation: true, copySpanAttributes: ['http.route'] }));
      const ctx = createMappingContext();
      assert.deepEqual(mapSpan(decoded.items[0]!, ctx), mapSpan(spans[0]!, ctx));
    });
  }
});
