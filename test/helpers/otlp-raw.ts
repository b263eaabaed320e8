/**
 * OTLP requests made by hand, for what the OTel exporters do not show: status codes, headers, error bodies,
 * gRPC status details. Bodies are encoded by the OTel JS serializers (the exporters' own encoding).
 */
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { createTrackRecord } from './record-builders.js';

/** `count` track records of `clients` clients (`<prefix>-0`, ...), each with a `seq` property. */
export function trackRecords(count: number, prefix = 'user', clients = 1, firstSeq = 0): ReadableLogRecord[] {
  return Array.from({ length: count }, (_, i) => createTrackRecord(`${prefix}-${i % clients}`, { seq: firstSeq + i }));
}

export function protobufLogs(records: ReadableLogRecord[]): Buffer {
  return Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
}

export function jsonLogs(records: ReadableLogRecord[]): Buffer {
  return Buffer.from(JsonLogsSerializer.serializeRequest(records)!);
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

/** POSTs an OTLP/HTTP body (gzipped when asked) and reads the whole answer. */
export async function postOtlp(
  url: string,
  body: Uint8Array,
  options: { contentType?: string; gzip?: boolean; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/x-protobuf', ...options.headers };
  let payload: Uint8Array = body;
  if (options.gzip === true) {
    payload = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const response = await fetch(url, { method: 'POST', body: payload, headers });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

export interface GrpcOutcome {
  readonly code: number;
  readonly details: string;
  /** `grpc-status-details-bin`, when the server sent it. */
  readonly statusDetails: Buffer | undefined;
  readonly response: Buffer | undefined;
}

/** One unary OTLP/gRPC Export call with raw bytes (grpc-js's own client). */
export async function grpcExport(address: string, signal: 'logs' | 'traces', message: Uint8Array, authorization?: string): Promise<GrpcOutcome> {
  const grpc = createRequire(import.meta.url)('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  const path = signal === 'logs' ? '/opentelemetry.proto.collector.logs.v1.LogsService/Export' : '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
  const Client = grpc.makeGenericClientConstructor(
    {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (value: Buffer) => value,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (value: Buffer) => value,
      },
    },
    'OtlpService',
  );
  const client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  try {
    return await new Promise<GrpcOutcome>((resolve) => {
      (client as unknown as Record<string, (...args: unknown[]) => void>)['Export']!(
        Buffer.from(message),
        metadata,
        (error: (Error & { code: number; details: string; metadata: import('@grpc/grpc-js').Metadata }) | null, response?: Buffer) => {
          if (error === null) {
            resolve({ code: 0, details: '', statusDetails: undefined, response });
            return;
          }
          const details = error.metadata?.get('grpc-status-details-bin')[0];
          resolve({ code: error.code, details: error.details, statusDetails: Buffer.isBuffer(details) ? details : undefined, response: undefined });
        },
      );
    });
  } finally {
    client.close();
  }
}
