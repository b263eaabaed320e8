/**
 * An endpoint that accepts connections, reads each request and never answers, run as its own process by
 * soak/stalled-run.ts so that the exporter's process measures only itself. Prints its port, then serves until
 * its parent closes stdin.
 *
 *   node --import tsx soak/hang-server.ts
 */
import { createServer } from 'node:http';

const server = createServer((request) => {
  request.resume();
});
// The requests are never answered: no server-side timeout may end them for the client.
server.requestTimeout = 0;
server.headersTimeout = 0;
server.timeout = 0;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
