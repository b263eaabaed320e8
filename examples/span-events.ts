/**
 * Span events as analytics: a tracer with BatchSpanProcessor + GravitySpanExporter. Sends to
 * GE_SERVER_URL / GE_ACCESS_TOKEN when set, else to a local emulator started here, and prints what arrived.
 *
 *   npm run build && node --import tsx examples/span-events.ts
 */
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { GravitySpanExporter } from 'gravity-otel-exporter';
import { startEmulator } from 'gravity-otel-exporter/emulator';

const emulator = process.env['GE_SERVER_URL'] ? undefined : await startEmulator();
const exporter = new GravitySpanExporter(
  emulator ? { url: emulator.url, accessToken: 'demo-token', traceCorrelation: true } : { traceCorrelation: true },
);
const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
const tracer = provider.getTracer('shop');

// A request handler span that knows its user: every event on it is an analytics event for user-42.
const checkout = tracer.startSpan('POST /checkout', { attributes: { 'ge.client_id': 'user-42', 'http.route': '/checkout' } });
checkout.addEvent('purchase', { amount: 30, item: 'sword' });
checkout.addEvent('upgrade', { 'ge.user_op': 'set', plan: 'pro' });
checkout.addEvent('coins', { 'ge.user_op': 'increment', coins: 30 });
checkout.end();

// A plain span: its events are not analytics, nothing of it is sent to Gravity.
const health = tracer.startSpan('GET /health');
health.addEvent('cache.miss', { key: 'status' });
health.end();

// An event can name its user itself, on any span.
const signup = tracer.startSpan('POST /signup');
signup.addEvent('signup', { 'ge.client_id': 'user-43', channel: 'ads' });
signup.end();

await provider.shutdown();

const stats = exporter.getStats();
console.log(`span events: ${stats.received} received, ${stats.ignored} ignored, ${stats.rejected} rejected, ${stats.sent} sent`);
if (emulator) {
  for (const event of emulator.events()) {
    console.log(`${event.client_id} ${event.type} ${event.event} ${JSON.stringify(event.properties)}`);
  }
  await emulator.close();
}
process.exitCode = stats.sent === 4 && stats.failed === 0 ? 0 : 1;
