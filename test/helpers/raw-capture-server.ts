/**
 * A bare loopback HTTP server (127.0.0.1, port 0) that keeps each request's raw URL, headers and body bytes
 * and answers `{"code":0}`. For the few assertions the emulator cannot make (raw gzip bytes, repeated query
 * parameters).
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RawRequest {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface RawCaptureServer {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly requests: readonly RawRequest[];
  close(): Promise<void>;
}

export async function startRawCaptureServer(): Promise<RawCaptureServer> {
  const requests: RawRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"code":0,"msg":"ok","extra":{}}');
    });
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
