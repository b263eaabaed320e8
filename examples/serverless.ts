/**
 * Serverless (AWS Lambda, Cloud Functions, Vercel...): the runtime may freeze or end the process as soon as
 * the handler returns, so a batch processor's timer may never fire. The pattern that never loses events:
 * create the provider once per process (outside the handler), and `await` a flush before returning.
 * Sends to GE_SERVER_URL / GE_ACCESS_TOKEN when set, else to a local emulator started here.
 *
 *   npm run build && node --import tsx examples/serverless.ts
 */
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { GravityAnalytics, GravityLogRecordExporter } from 'gravity-otel-exporter';
import { startEmulator } from 'gravity-otel-exporter/emulator';

const emulator = process.env['GE_SERVER_URL'] ? undefined : await startEmulator();

// Once per process (a cold start): provider, exporter and facade are reused by every invocation.
const exporter = new GravityLogRecordExporter(emulator ? { url: emulator.url, accessToken: 'demo-token' } : {});
const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter })] });
const ge = new GravityAnalytics({ loggerProvider: provider });

interface CheckoutEvent {
  userId: string;
  amount: number;
}

/** The function handler. */
export async function handler(event: CheckoutEvent): Promise<{ statusCode: number }> {
  try {
    ge.track(event.userId, 'purchase', { amount: event.amount });
    ge.userIncrement(event.userId, { total_spent: event.amount });
    return { statusCode: 200 };
  } finally {
    // Before returning, on success and on error: everything emitted so far is exported when this resolves.
    await ge.flush(); // = provider.forceFlush()
  }
}

// Three invocations, as the platform would make them; after each one the records are already delivered.
for (const [index, event] of [
  { userId: 'user-1', amount: 10 },
  { userId: 'user-2', amount: 20 },
  { userId: 'user-1', amount: 5 },
].entries()) {
  const response = await handler(event);
  const delivered = emulator ? emulator.events().length : exporter.getStats().sent;
  console.log(`invocation ${index + 1}: status ${response.statusCode}, ${delivered} records delivered so far`);
}

if (emulator) {
  for (const event of emulator.events()) {
    console.log(`${event.client_id} ${event.type} ${event.event} ${JSON.stringify(event.properties)}`);
  }
}
// On a platform you would not shut down (the next invocation reuses the provider); this script ends here.
await provider.shutdown();
await emulator?.close();
process.exitCode = exporter.getStats().sent === 6 ? 0 : 1;
