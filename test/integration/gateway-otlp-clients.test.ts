import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import type { Emulator } from '../../src/emulator/index.js';
import { startGateway } from '../../src/gateway/index.js';
import type { GravityGateway } from '../../src/gateway/index.js';
import { GravityLogRecordExporter, GravitySpanExporter } from '../../src/index.js';
import { captureDiag } from '../helpers/diag-capture.js';
import {
  emitLogScenario,
  emitSpanScenario,
  eventsByClient,
  logProvider,
  OTLP_PROTOCOLS,
  scenarioTime,
  otlpLogExporter,
  otlpTraceExporter,
  traceProvider,
} from '../helpers/otlp-senders.js';

const TOKEN = 'gateway-test-token';
const SPAN_OPTIONS = { traceCorrelation: true, copySpanAttributes: ['http.route'] };

describe('gateway: the OpenTelemetry JS OTLP exporters → gateway → Gravity', () => {
  let inProcessTarget: Emulator;
  let gatewayTarget: Emulator;
  let gateway: GravityGateway;
  let expectedRejected = 0;

  /** The reference: the same records through the in-process exporters. */
  async function inProcess(baseTime: number): Promise<ReturnType<typeof eventsByClient>> {
    inProcessTarget.clear();
    const logs = new GravityLogRecordExporter({ url: inProcessTarget.url, accessToken: TOKEN });
    const spans = new GravitySpanExporter({ url: inProcessTarget.url, accessToken: TOKEN, ...SPAN_OPTIONS });
    const loggerProvider = logProvider(logs);
    const tracerProvider = traceProvider(spans);
    emitLogScenario(loggerProvider.getLogger('shop'), baseTime);
    emitSpanScenario(tracerProvider.getTracer('shop'), baseTime);
    await Promise.all([loggerProvider.forceFlush(), tracerProvider.forceFlush()]);
    expectedRejected = logs.getStats().rejected + spans.getStats().rejected;
    await Promise.all([loggerProvider.shutdown(), tracerProvider.shutdown()]);
    return eventsByClient(inProcessTarget.events());
  }

  before(async () => {
    inProcessTarget = await startEmulator({ accessToken: TOKEN });
    gatewayTarget = await startEmulator({ accessToken: TOKEN });
    gateway = await startGateway(
      { url: gatewayTarget.url, accessToken: TOKEN, httpEndpoint: '127.0.0.1:0', grpcEndpoint: '127.0.0.1:0', ...SPAN_OPTIONS },
      {},
    );
  });

  after(async () => {
    await gateway.close();
    await Promise.all([inProcessTarget.close(), gatewayTarget.close()]);
  });

  it('the in-process reference covers every kind of record and rejects the bad ones', async () => {
    const expected = await inProcess(scenarioTime(0));
    assert.deepEqual(Object.keys(expected), ['user-1', 'user-2', 'user-3', 'user-5', 'user-6', 'user-7']);
    assert.equal(Object.values(expected).flat().length, 12 + 4);
    assert.equal(expectedRejected, 7);
  });

  for (const [run, protocol] of OTLP_PROTOCOLS.entries()) {
    it(`${protocol}: every record arrives with the in-process payload, and partial_success names the rejected ones`, async () => {
      const baseTime = scenarioTime(run + 1);
      const expected = await inProcess(baseTime);
      gatewayTarget.clear();
      const diagnostics = captureDiag();
      try {
        const loggerProvider = logProvider(otlpLogExporter(protocol, gateway));
        const tracerProvider = traceProvider(otlpTraceExporter(protocol, gateway));
        emitLogScenario(loggerProvider.getLogger('shop'), baseTime);
        emitSpanScenario(tracerProvider.getTracer('shop'), baseTime);
        await Promise.all([loggerProvider.forceFlush(), tracerProvider.forceFlush()]);
        await Promise.all([loggerProvider.shutdown(), tracerProvider.shutdown()]);

        assert.deepStrictEqual(eventsByClient(gatewayTarget.events()), expected);
        // The OTel exporters parse the gateway's answer and report partial success through diag.
        const partial = diagnostics.at('warn').filter((line) => line.includes('Partial Success'));
        assert.equal(partial.length, 2, diagnostics.all());
        assert.match(partial.join('\n'), /"rejectedLogRecords":"?6"?/);
        assert.match(partial.join('\n'), /"rejectedSpans":"?1"?/);
        for (const field of ['bad-key', 'ge.user_op', 'coins', 'data', 'ratio', 'ge.client_id', 'bad key']) {
          assert.ok(partial.join('\n').includes(field), `partial_success names ${field}: ${partial.join('\n')}`);
        }
      } finally {
        diagnostics.stop();
      }
    });
  }

  it('counts what it received, ignored, rejected and sent', () => {
    const stats = gateway.getStats();
    // 19 log records and 7 span events per run, three runs.
    assert.deepEqual(stats.received, { logs: 3 * 19, traces: 3 * 7 });
    assert.deepEqual(stats.ignored, { logs: 3 * 1, traces: 3 * 2 });
    assert.equal(stats.delivery.rejected, 3 * expectedRejected);
    assert.equal(stats.delivery.sent, 3 * 16);
    assert.equal(stats.requests['logs|http|partial'], 2);
    assert.equal(stats.requests['traces|grpc|partial'], 1);
    assert.equal(stats.queued, 0);
  });
});
