/**
 * Builders of real OTel log records for unit and integration tests (Langfuse-style `createTestLogRecord`).
 * Records come out of a real `LoggerProvider`, captured synchronously by a processor, so they are exactly
 * what `BatchLogRecordProcessor` hands to an exporter.
 */
import type { TimeInput } from '@opentelemetry/api';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { LogRecordProcessor, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { MappingContext } from '../../src/mapping/map-record.js';
import { VERSION } from '../../src/common/version.js';
import type { LogAttributes, LogBody, LogRecord, SdkLogRecord } from './otel-line.js';

/** What a test log record is made of; everything is optional. */
export interface TestLogRecordInit {
  attributes?: LogAttributes;
  body?: LogBody;
  eventName?: string;
  /** Event time (epoch milliseconds, `Date` or `HrTime`). @default now */
  timestamp?: TimeInput;
}

let captured: SdkLogRecord | undefined;

const capturingProcessor: LogRecordProcessor = {
  onEmit(record: SdkLogRecord): void {
    captured = record;
  },
  forceFlush: async () => {},
  shutdown: async () => {},
};

const builderLogger = new LoggerProvider({ processors: [capturingProcessor] }).getLogger('test-record-builder');

/** One log record as the OTel SDK builds it from `logger.emit(init)`. */
export function createTestLogRecord(init: TestLogRecordInit = {}): ReadableLogRecord {
  captured = undefined;
  const logRecord: LogRecord = { ...init };
  builderLogger.emit(logRecord);
  const record = captured as SdkLogRecord | undefined;
  if (record === undefined) throw new Error('createTestLogRecord: the SDK did not emit the record');
  return record;
}

/** A track record for `clientId` (event `purchase` unless `eventName` is given). */
export function createTrackRecord(
  clientId: string,
  properties: LogAttributes = {},
  init: Omit<TestLogRecordInit, 'attributes'> = {},
): ReadableLogRecord {
  return createTestLogRecord({
    eventName: 'purchase',
    ...init,
    attributes: { 'ge.client_id': clientId, ...properties },
  });
}

/** A user-property operation (`ge.user_op`) for `clientId` with `body` as its properties. */
export function createUserOpRecord(clientId: string, op: string, body?: LogBody, attributes: LogAttributes = {}): ReadableLogRecord {
  return createTestLogRecord({
    body,
    attributes: { 'ge.client_id': clientId, 'ge.user_op': op, ...attributes },
  });
}

/** The mapping context the exporters use, with a fixed clock when given. */
export function createMappingContext(overrides: Partial<MappingContext> = {}): MappingContext {
  return { libVersion: VERSION, strict: false, now: Date.now, ...overrides };
}
