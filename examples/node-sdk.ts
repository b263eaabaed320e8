/**
 * Gravity in a NodeSDK setup: our exporters are registered through `@opentelemetry/sdk-node`'s
 * `logRecordProcessors` and `spanProcessors`, beside OTLP/HTTP exporters to a local receiver (a small
 * node:http server started here that counts the log records and spans it is sent). Then the code uses only
 * what NodeSDK registered globally: the GravityAnalytics facade (the global logger provider) and
 * `trace.getTracer`. The same code runs on OpenTelemetry JS 2.x and 3.x.
 * Sends Gravity records to GE_SERVER_URL / GE_ACCESS_TOKEN when set, else to a local emulator started here.
 *
 *   npm run build && node --import tsx examples/node-sdk.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import {
  createGravityLogRecordProcessor,
  createGravitySpanProcessor,
  GravityAnalytics,
  GravityLogRecordExporter,
  GravitySpanExporter,
} from 'gravity-otel-exporter';
import { startEmulator } from 'gravity-otel-exporter/emulator';

// The "existing pipeline": an OTLP/HTTP (JSON) receiver that counts log records and spans.
const otlp = { logRecords: 0, spans: 0 };
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    for (const resource of body.resourceLogs ?? []) for (const scope of resource.scopeLogs ?? []) otlp.logRecords += scope.logRecords?.length ?? 0;
    for (const resource of body.resourceSpans ?? []) for (const scope of resource.scopeSpans ?? []) otlp.spans += scope.spans?.length ?? 0;
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const otlpOrigin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const emulator = process.env['GE_SERVER_URL'] ? undefined : await startEmulator();
const gravityOptions = emulator ? { url: emulator.url, accessToken: 'demo-token' } : {}; // else GE_* env
const gravityLogs = new GravityLogRecordExporter(gravityOptions);
const gravitySpans = new GravitySpanExporter(gravityOptions);

const sdk = new NodeSDK({
  serviceName: 'shop',
  logRecordProcessors: [
    createGravityLogRecordProcessor(gravityLogs),
    new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${otlpOrigin}/v1/logs` }) }),
  ],
  spanProcessors: [
    createGravitySpanProcessor(gravitySpans),
    new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${otlpOrigin}/v1/traces` }) }),
  ],
  metricReaders: [], // this example records no metrics (the default would be an OTLP metric exporter)
});
sdk.start();

// Application code: only what NodeSDK registered globally.
const ge = new GravityAnalytics(); // the global logger provider NodeSDK registered
ge.track('user-42', 'purchase', { amount: 30, item: 'sword' });
ge.userIncrement('user-42', { total_revenue: 30 });
ge.userSet('user-42', { plan: 'pro', upgraded_at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) });

const span = trace.getTracer('shop').startSpan('POST /checkout', { attributes: { 'ge.client_id': 'user-42' } });
span.addEvent('checkout_done', { items: 2 });
span.end();

await sdk.shutdown(); // flushes and shuts down every processor: both Gravity exporters and both OTLP exporters

const logStats = gravityLogs.getStats();
const spanStats = gravitySpans.getStats();
console.log(`Gravity: ${logStats.sent} log records and ${spanStats.sent} span events sent, ${logStats.failed + spanStats.failed} failed`);
console.log(`OTLP receiver: ${otlp.logRecords} log records, ${otlp.spans} spans`);
if (emulator) {
  for (const event of emulator.events()) {
    console.log(`${event.client_id} ${event.type} ${event.event} ${JSON.stringify(event.properties)}`);
  }
  await emulator.close();
}
receiver.close();
process.exitCode = logStats.sent === 3 && spanStats.sent === 1 && otlp.logRecords === 3 && otlp.spans === 1 ? 0 : 1;
