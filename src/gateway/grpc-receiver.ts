/**
 * The OTLP/gRPC receiver: `opentelemetry.proto.collector.logs.v1.LogsService/Export` and
 * `...trace.v1.TraceService/Export` on @grpc/grpc-js (an optional dependency, loaded only here). Messages reach
 * the handler as bytes (grpc-js has already undone `grpc-encoding: gzip`) and are decoded by the same protobufjs
 * schema as OTLP/HTTP. Retryable answers carry a `google.rpc.RetryInfo` in `grpc-status-details-bin`, as OTLP
 * asks for throttling (without it, Collectors do not retry RESOURCE_EXHAUSTED).
 */
import type * as Grpc from '@grpc/grpc-js';
import { createLogger } from '../common/diag.js';
import { asError } from '../common/errors.js';
import { GRPC_CODE } from './answers.js';
import type { Answer } from './answers.js';
import type { ExportHandler, Signal } from './export-handler.js';
import { countRequest } from './gateway-metrics.js';
import type { GatewayCounters, RequestOutcome } from './gateway-metrics.js';
import { createTokenCheck } from './http-receiver.js';
import { encodeExportResponse, encodeStatus } from './otlp-protobuf.js';
import type { ListenAddress } from './options.js';

const log = createLogger('gateway');

const SERVICES: ReadonlyArray<readonly [Signal, string]> = [
  ['logs', '/opentelemetry.proto.collector.logs.v1.LogsService/Export'],
  ['traces', '/opentelemetry.proto.collector.trace.v1.TraceService/Export'],
];

export interface GrpcReceiverOptions {
  readonly address: ListenAddress;
  readonly handler: ExportHandler;
  readonly counters: GatewayCounters;
  readonly authToken: string | undefined;
  readonly maxRequestBytes: number;
}

export interface GrpcReceiver {
  /** `host:port` as bound. */
  readonly address: string;
  readonly port: number;
  /** Refuses new calls; resolves when the calls in progress have ended. */
  shutdown(): Promise<void>;
  /** Ends every call and connection now. */
  forceShutdown(): void;
}

async function loadGrpc(): Promise<typeof Grpc> {
  let loaded: typeof Grpc & { default?: typeof Grpc };
  try {
    loaded = (await import('@grpc/grpc-js')) as typeof Grpc & { default?: typeof Grpc };
  } catch (error) {
    throw new Error(
      `the OTLP/gRPC receiver needs the optional dependency @grpc/grpc-js (${asError(error).message}); install it, or turn the receiver off (grpcEndpoint: false, GE_GATEWAY_GRPC_ENDPOINT=none)`,
    );
  }
  return typeof loaded.Server === 'function' ? loaded : loaded.default!;
}

function outcomeOf(answer: Answer): RequestOutcome {
  if (answer.kind === 'accepted') return answer.rejected > 0 ? 'partial' : 'accepted';
  if (answer.kind === 'retry') return answer.reason === 'overloaded' ? 'throttled' : 'unavailable';
  return answer.grpcCode === GRPC_CODE.UNAUTHENTICATED ? 'unauthenticated' : 'refused';
}

export async function startGrpcReceiver(options: GrpcReceiverOptions): Promise<GrpcReceiver> {
  const grpc = await loadGrpc();
  const { handler, counters } = options;
  const isAuthorised = createTokenCheck(options.authToken);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': options.maxRequestBytes });

  function reply(signal: Signal, answer: Answer, callback: Grpc.sendUnaryData<Uint8Array>): void {
    countRequest(counters, signal, 'grpc', outcomeOf(answer));
    if (answer.kind === 'accepted') {
      callback(null, encodeExportResponse(signal, answer.rejected, answer.message));
      return;
    }
    const code = answer.kind === 'retry' ? (answer.reason === 'overloaded' ? GRPC_CODE.RESOURCE_EXHAUSTED : GRPC_CODE.UNAVAILABLE) : answer.grpcCode;
    const metadata = new grpc.Metadata();
    const retryDelay = answer.kind === 'retry' ? answer.retryAfterMillis : undefined;
    metadata.set('grpc-status-details-bin', Buffer.from(encodeStatus(code, answer.message, retryDelay)));
    callback({ code, details: answer.message, metadata });
  }

  for (const [signal, path] of SERVICES) {
    const definition: Grpc.ServiceDefinition = {
      Export: {
        path,
        requestStream: false,
        responseStream: false,
        // Bytes in, bytes out: the handler decodes with the protobufjs schema and encodes the response itself.
        requestSerialize: (value: Uint8Array) => Buffer.from(value),
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength),
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    server.addService(definition, {
      Export: (call: Grpc.ServerUnaryCall<Buffer, Uint8Array>, callback: Grpc.sendUnaryData<Uint8Array>) => {
        const header = call.metadata.get('authorization')[0];
        if (!isAuthorised(typeof header === 'string' ? header : undefined)) {
          reply(signal, { kind: 'refused', httpStatus: 401, grpcCode: GRPC_CODE.UNAUTHENTICATED, message: 'missing or wrong bearer token' }, callback);
          return;
        }
        handler.handle(signal, 'protobuf', call.request).then(
          (answer) => reply(signal, answer, callback),
          (error: unknown) => {
            log.error(`OTLP/gRPC request failed unexpectedly: ${asError(error).message}`);
            reply(signal, { kind: 'refused', httpStatus: 500, grpcCode: GRPC_CODE.INTERNAL, message: 'internal error' }, callback);
          },
        );
      },
    });
  }

  const { host } = options.address;
  const target = `${host.includes(':') ? `[${host}]` : host}:${options.address.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
  });
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    shutdown: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceShutdown: () => server.forceShutdown(),
  };
}
