/**
 * Gravity export beside an existing OTLP pipeline: the same tracer and logger also export OTLP/HTTP to a
 * local receiver (a small node:http server counting requests on /v1/traces and /v1/logs). Sends Gravity
 * records to GE_SERVER_URL / GE_ACCESS_TOKEN when set, else to a local emulator started here.
 *
 *   npm run build && node --import tsx examples/with-otlp.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { GravityLogRecordExporter, GravitySpanExporter } from 'gravity-otel-exporter';
import { startEmulator } from 'gravity-otel-exporter/emulator';

// The "existing pipeline": an OTLP/HTTP receiver that only counts what it is sent.
const otlpRequests = { '/v1/traces': 0, '/v1/logs': 0 };
const receiver = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    if (request.url === '/v1/traces' || request.url === '/v1/logs') otlpRequests[request.url]++;
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const otlpOrigin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const emulator = process.env['GE_SERVER_URL'] ? undefined : await startEmulator();
const gravityOptions = emulator ? { url: emulator.url, accessToken: 'demo-token' } : {};
const spanExporter = new GravitySpanExporter(gravityOptions);
const logExporter = new GravityLogRecordExporter(gravityOptions);

const tracerProvider = new TracerProvider({
  spanProcessors: [
    new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${otlpOrigin}/v1/traces` }) }),
    new BatchSpanProcessor({ exporter: spanExporter }),
  ],
});
const loggerProvider = new LoggerProvider({
  processors: [
    new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${otlpOrigin}/v1/logs` }) }),
    new BatchLogRecordProcessor({ exporter: logExporter }),
  ],
});
const tracer = tracerProvider.getTracer('shop');
const logger = loggerProvider.getLogger('shop');

for (let i = 0; i < 3; i++) {
  const span = tracer.startSpan('POST /checkout', { attributes: { 'ge.client_id': `user-${i}` } });
  span.addEvent('purchase', { amount: 10 * (i + 1) });
  span.end();
  // An ordinary log line and an analytics log record, through the same logger.
  logger.emit({ body: `checkout done for user-${i}` });
  logger.emit({ eventName: 'checkout_done', attributes: { 'ge.client_id': `user-${i}`, step: i } });
}
tracer.startSpan('GET /health').end();

await Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]);
await new Promise<void>((resolve) => receiver.close(() => resolve()));

const gravitySent = spanExporter.getStats().sent + logExporter.getStats().sent;
console.log(`OTLP receiver: ${otlpRequests['/v1/traces']} requests on /v1/traces, ${otlpRequests['/v1/logs']} on /v1/logs`);
console.log(`Gravity: ${spanExporter.getStats().sent} span events and ${logExporter.getStats().sent} log records sent`);
if (emulator) {
  const lines = emulator.events().map((e) => `${e.client_id} ${e.type} ${e.event} ${JSON.stringify(e.properties)}`);
  for (const line of lines.sort()) console.log(line);
  await emulator.close();
}
process.exitCode = gravitySent === 6 && otlpRequests['/v1/traces'] > 0 && otlpRequests['/v1/logs'] > 0 ? 0 : 1;
