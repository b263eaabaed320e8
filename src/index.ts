export { GravityLogRecordExporter } from './exporters/log-record-exporter.js';
export { GravitySpanExporter } from './exporters/span-exporter.js';
export { GravityAnalytics, GRAVITY_ANALYTICS_LOGGER_NAME } from './facade/gravity-analytics.js';
export type {
  AnalyticsProperties,
  AnalyticsValue,
  GravityAnalyticsOptions,
  GravityEventOptions,
} from './facade/gravity-analytics.js';
export type { GravitySpanExporterOptions } from './config/options.js';
export type { GravityExporterOptions, GravityCompression } from './config/options.js';
export type { GravityExporterStats } from './observability/stats.js';
export type { GravityDiagnostics } from './common/diag.js';
export type { RejectionCode } from './mapping/map-record.js';
export type { UserOperation } from './mapping/user-operation.js';
export {
  ATTR_GE_CLIENT_ID,
  ATTR_GE_CLIENT_IP,
  ATTR_GE_CLIENT_UA,
  ATTR_GE_EVENT_NAME,
  ATTR_GE_TIME_FREE,
  ATTR_GE_USER_OP,
  GE_ATTRIBUTE_PREFIX,
} from './mapping/attributes.js';
export {
  GravityClientNotInitialisedError,
  GravityConfigurationError,
  GravityExportError,
  GravityHttpError,
  GravityNetworkError,
  GravityRejectedError,
  GravityShutdownError,
  GravityTimeoutError,
  GravityValidationError,
} from './common/errors.js';
export type { ConfigurationProblem } from './common/errors.js';
export { formatGravityDate } from './mapping/values.js';
export { createGravityLogRecordProcessor, createGravitySpanProcessor, GRAVITY_PROCESSOR_DEFAULTS } from './exporters/processors.js';
export type { GravityProcessorOptions } from './exporters/processors.js';
export type { GravitySpanProcessor } from './mapping/trace-types.js';
