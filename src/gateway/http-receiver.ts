/**
 * The OTLP/HTTP receiver (node:http): `POST /v1/logs` and `/v1/traces` in `application/x-protobuf` or
 * `application/json`, bodies plain or gzip/deflate; errors as `google.rpc.Status` in the request's encoding,
 * `Retry-After` on retryable answers. Also the ops endpoints: `GET /healthz`, `/readyz`, `/metrics`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import { createLogger } from '../common/diag.js';
import { asError } from '../common/errors.js';
import { GRPC_CODE } from './answers.js';
import type { Answer } from './answers.js';
import type { Encoding, ExportHandler, Signal } from './export-handler.js';
import { countRequest } from './gateway-metrics.js';
import type { GatewayCounters, RequestOutcome } from './gateway-metrics.js';
import { encodeExportResponseJson, encodeStatusJson } from './otlp-json.js';
import { encodeExportResponse, encodeStatus } from './otlp-protobuf.js';
import type { ListenAddress } from './options.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

const log = createLogger('gateway');

const EXPORT_PATHS: Readonly<Record<string, Signal>> = { '/v1/logs': 'logs', '/v1/traces': 'traces' };

export interface HttpReceiverOptions {
  readonly address: ListenAddress;
  readonly handler: ExportHandler;
  readonly counters: GatewayCounters;
  readonly authToken: string | undefined;
  readonly maxRequestBytes: number;
  readonly isReady: () => boolean;
  readonly metricsText: () => string;
}

export interface HttpReceiver {
  /** `http://host:port` as bound (the port resolved when 0 was asked for). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and closes idle ones; requests in progress go on. */
  stopAccepting(): void;
  /** Closes every connection left. */
  closeAll(): Promise<void>;
}

/** Compares bearer tokens in constant time (digests, so lengths do not leak either). */
export function createTokenCheck(token: string | undefined): (header: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const match = /^Bearer\s+(.+)$/i.exec(header?.trim() ?? '');
    if (match === null) return false;
    return timingSafeEqual(createHash('sha256').update(match[1]!.trim()).digest(), expected);
  };
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

async function decompress(body: Buffer, encoding: string, limit: number): Promise<Buffer> {
  const options = { maxOutputLength: limit };
  if (encoding === 'gzip' || encoding === 'x-gzip') return gunzipAsync(body, options);
  if (encoding === 'deflate') return inflateAsync(body, options);
  return body;
}

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

function outcomeOf(answer: Answer): RequestOutcome {
  if (answer.kind === 'accepted') return answer.rejected > 0 ? 'partial' : 'accepted';
  if (answer.kind === 'retry') return answer.reason === 'overloaded' ? 'throttled' : 'unavailable';
  return answer.httpStatus === 401 ? 'unauthenticated' : 'refused';
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: Uint8Array | string): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** Answers an export request in the encoding it came in (JSON when it could not be told). */
function answerExport(res: ServerResponse, signal: Signal, encoding: Encoding, answer: Answer): void {
  const contentType = encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json';
  if (answer.kind === 'accepted') {
    const body = encoding === 'protobuf' ? encodeExportResponse(signal, answer.rejected, answer.message) : encodeExportResponseJson(signal, answer.rejected, answer.message);
    send(res, 200, { 'content-type': contentType }, body);
    return;
  }
  const headers: Record<string, string> = { 'content-type': contentType };
  let status: number;
  let grpcCode: number;
  if (answer.kind === 'retry') {
    status = answer.reason === 'overloaded' ? 429 : 503;
    grpcCode = answer.reason === 'overloaded' ? GRPC_CODE.RESOURCE_EXHAUSTED : GRPC_CODE.UNAVAILABLE;
    headers['retry-after'] = String(Math.max(1, Math.ceil(answer.retryAfterMillis / 1000)));
  } else {
    status = answer.httpStatus;
    grpcCode = answer.grpcCode;
    if (status === 401) headers['www-authenticate'] = 'Bearer';
  }
  const body = encoding === 'protobuf' ? encodeStatus(grpcCode, answer.message) : encodeStatusJson(grpcCode, answer.message);
  send(res, status, headers, body);
}

export function startHttpReceiver(options: HttpReceiverOptions): Promise<HttpReceiver> {
  const { handler, counters, maxRequestBytes } = options;
  const isAuthorised = createTokenCheck(options.authToken);

  async function handleExport(req: IncomingMessage, res: ServerResponse, signal: Signal): Promise<void> {
    const encoding = encodingOf(req.headers['content-type']);
    const refuse = (status: number, grpcCode: number, message: string): void => {
      const answer: Answer = { kind: 'refused', httpStatus: status, grpcCode, message };
      countRequest(counters, signal, 'http', outcomeOf(answer));
      // A body too large is not read: the connection ends with the answer. Any other unread body is read into
      // the void so that the connection stays usable (closing it under a sender still writing would make the
      // sender see a reset, which OTLP clients retry, instead of this answer).
      if (status === 413) res.setHeader('connection', 'close');
      answerExport(res, signal, encoding ?? 'json', answer);
      req.resume();
    };
    if (!isAuthorised(req.headers.authorization)) {
      refuse(401, GRPC_CODE.UNAUTHENTICATED, 'missing or wrong bearer token');
      return;
    }
    if (encoding === undefined) {
      refuse(415, GRPC_CODE.INVALID_ARGUMENT, `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}; send application/x-protobuf or application/json`);
      return;
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (!['identity', 'gzip', 'x-gzip', 'deflate', ''].includes(contentEncoding)) {
      refuse(415, GRPC_CODE.INVALID_ARGUMENT, `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}; send gzip, deflate or none`);
      return;
    }
    const tooLarge = `the request is larger than the gateway's limit of ${maxRequestBytes} bytes (maxRequestBytes); send smaller batches`;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxRequestBytes) {
      refuse(413, GRPC_CODE.RESOURCE_EXHAUSTED, tooLarge);
      return;
    }
    let body: Buffer;
    try {
      body = await decompress(await readBody(req, maxRequestBytes), contentEncoding, maxRequestBytes);
    } catch (error) {
      if (error instanceof BodyTooLarge || (error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        refuse(413, GRPC_CODE.RESOURCE_EXHAUSTED, tooLarge);
      } else if (req.destroyed || req.readableAborted) {
        return;
      } else {
        refuse(400, GRPC_CODE.INVALID_ARGUMENT, `the ${contentEncoding} body could not be decompressed: ${asError(error).message}`);
      }
      return;
    }
    const answer = await handler.handle(signal, encoding, body);
    countRequest(counters, signal, 'http', outcomeOf(answer));
    if (res.destroyed) return;
    answerExport(res, signal, encoding, answer);
  }

  function handleOps(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const text = { 'content-type': 'text/plain; charset=utf-8' };
    switch (path) {
      case '/healthz':
        send(res, 200, text, 'ok\n');
        return true;
      case '/readyz': {
        const ready = options.isReady();
        send(res, ready ? 200 : 503, text, ready ? 'ready\n' : 'not ready\n');
        return true;
      }
      case '/metrics':
        send(res, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }, options.metricsText());
        return true;
      default:
        return false;
    }
  }

  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = EXPORT_PATHS[path];
    const work = async (): Promise<void> => {
      if (signal !== undefined && req.method === 'POST') return handleExport(req, res, signal);
      if (handleOps(req, res, path)) return;
      req.resume();
      send(res, signal !== undefined ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' }, signal !== undefined ? 'use POST\n' : 'not found\n');
    };
    work().catch((error: unknown) => {
      log.error(`OTLP/HTTP request failed unexpectedly: ${asError(error).message}`);
      if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain; charset=utf-8' }, 'internal error\n');
      else res.destroy();
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.address.port, options.address.host, () => {
      server.off('error', reject);
      const { port, address, family } = server.address() as AddressInfo;
      const host = family === 'IPv6' ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        port,
        stopAccepting() {
          server.close();
          server.closeIdleConnections();
        },
        closeAll() {
          server.closeAllConnections();
          return new Promise((done) => {
            if (!server.listening) done();
            else server.close(() => done());
          });
        },
      });
    });
  });
}
