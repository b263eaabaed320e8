/**
 * `gravity-otel-exporter/gateway`: an OTLP → Gravity gateway. Services in any language (or an OpenTelemetry
 * Collector in front of several gateway replicas) export OTLP; records carrying the `ge.*` attributes are mapped
 * exactly as the in-process exporters map them and delivered by the same pipeline. See {@link startGateway} and
 * docs/gateway.md.
 */
export { startGateway } from './gateway.js';
export type { GravityGateway, GravityGatewayStats } from './gateway.js';
export type { GatewayAck, GravityGatewayOptions } from './options.js';
