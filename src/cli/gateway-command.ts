/**
 * `gravity-otel gateway`: run the OTLP → Gravity gateway in the foreground until SIGTERM/SIGINT, then drain.
 */
import { parseArgs } from 'node:util';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import type { CliIo } from './io.js';
import { startGateway } from '../gateway/gateway.js';
import type { GatewayAck, GravityGatewayOptions } from '../gateway/options.js';
import { redact } from '../common/diag.js';

const USAGE = `Usage: gravity-otel gateway [options]

Receives OTLP (any OpenTelemetry SDK, or a Collector) and delivers the records that carry ge.* attributes to
Gravity, mapped exactly as the in-process exporters map them. Configure it with the exporter's environment
variables (GE_SERVER_URL, GE_ACCESS_TOKEN, GE_SPOOL_DIR, ...) and these:

Options (each also from an environment variable):
  --http HOST:PORT     OTLP/HTTP receiver and /healthz, /readyz, /metrics; "none" turns it off
                       (GE_GATEWAY_HTTP_ENDPOINT, default 127.0.0.1:4318; 0.0.0.0:4318 in a container)
  --grpc HOST:PORT     OTLP/gRPC receiver; "none" turns it off (GE_GATEWAY_GRPC_ENDPOINT, default 127.0.0.1:4317)
  --ack MODE           "delivered": answer a request once its records are delivered (the sender keeps the
                       rest and retries); "spooled": once they are written to --spool-dir (GE_GATEWAY_ACK)
  --spool-dir DIR      the spool of ack "spooled" (GE_SPOOL_DIR)
  --url URL            Gravity collect endpoint (GE_SERVER_URL)
  --resource-attributes KEYS
                       comma-separated resource attribute keys sent as track properties
                       (GE_GATEWAY_RESOURCE_ATTRIBUTES)
  --drain-timeout MS   how long SIGTERM may take (GE_GATEWAY_DRAIN_MILLIS)
  -h, --help           show this help

The access token comes from GE_ACCESS_TOKEN; a bearer token the receivers require from GE_GATEWAY_AUTH_TOKEN
(neither is taken on the command line, where other users could read it). Diagnostics go to stderr
(OTEL_LOG_LEVEL: error, warn (default), info, debug).
`;

const LEVELS: Readonly<Record<string, DiagLogLevel>> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** Diagnostics of the gateway (OTel's diag) as lines on stderr, the token redacted. */
function stderrLogger(io: CliIo): DiagLogger {
  const line =
    (level: string) =>
    (message: string, ...args: unknown[]): void => {
      const extra = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ');
      io.stderr.write(`${new Date().toISOString()} ${level} ${redact(extra === '' ? message : `${message} ${extra}`)}\n`);
    };
  return { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug'), verbose: line('verbose') };
}

/**
 * Runs the gateway until `io.waitForStop()` resolves, then drains it. Resolves with 0, 1 when it could not
 * start (the reason on stderr), or 2 on a usage error.
 */
export async function runGatewayCommand(argv: string[], io: CliIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        http: { type: 'string' },
        grpc: { type: 'string' },
        ack: { type: 'string' },
        'spool-dir': { type: 'string' },
        url: { type: 'string' },
        'resource-attributes': { type: 'string' },
        'drain-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    io.stderr.write(`gravity-otel gateway: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  const options: GravityGatewayOptions = {};
  const endpoint = (value: string | undefined): string | false | undefined => (value === undefined ? undefined : value.toLowerCase() === 'none' ? false : value);
  if (parsed.http !== undefined) options.httpEndpoint = endpoint(parsed.http);
  if (parsed.grpc !== undefined) options.grpcEndpoint = endpoint(parsed.grpc);
  if (parsed.ack !== undefined) options.ack = parsed.ack as GatewayAck;
  if (parsed['spool-dir'] !== undefined) options.spoolDir = parsed['spool-dir'];
  if (parsed.url !== undefined) options.url = parsed.url;
  if (parsed['resource-attributes'] !== undefined) {
    options.resourceAttributes = parsed['resource-attributes'].split(',').map((key) => key.trim()).filter((key) => key !== '');
  }
  if (parsed['drain-timeout'] !== undefined) {
    const millis = Number(parsed['drain-timeout']);
    if (!Number.isInteger(millis) || millis < 1) {
      io.stderr.write(`gravity-otel gateway: --drain-timeout is invalid, expected a positive integer of milliseconds (actual: ${parsed['drain-timeout']})\n`);
      return 2;
    }
    options.drainTimeoutMillis = millis;
  }

  diag.setLogger(stderrLogger(io), { logLevel: LEVELS[env['OTEL_LOG_LEVEL']?.trim().toLowerCase() ?? ''] ?? DiagLogLevel.WARN, suppressOverrideMessage: true });
  let gateway;
  try {
    gateway = await startGateway(options, env);
  } catch (error) {
    io.stderr.write(`gravity-otel gateway: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
  io.stdout.write(
    [
      `Gravity gateway (ack: ${gateway.ack}) delivering to ${gateway.targetUrl}`,
      ...(gateway.httpUrl !== undefined ? [`  OTLP/HTTP  ${gateway.httpUrl}/v1/logs, ${gateway.httpUrl}/v1/traces (ops: /healthz /readyz /metrics)`] : []),
      ...(gateway.grpcAddress !== undefined ? [`  OTLP/gRPC  ${gateway.grpcAddress}`] : []),
      '',
    ].join('\n'),
  );
  const signal = await io.waitForStop();
  io.stdout.write(`Gravity gateway: ${signal}, draining\n`);
  await gateway.close();
  const stats = gateway.getStats();
  io.stdout.write(
    `Gravity gateway stopped: ${stats.received.logs + stats.received.traces} records received, ${stats.delivery.sent} sent, ` +
      `${stats.delivery.rejected} rejected, ${stats.delivery.spooled} spooled.\n`,
  );
  return 0;
}
