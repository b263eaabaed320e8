/**
 * `gravity-otel-exporter/emulator`: a local stand-in for Gravity Engine's collect endpoint, for tests,
 * demos and offline development. See {@link startEmulator}.
 */
export { startEmulator, DEFAULT_MAX_BODY_BYTES } from './server.js';
export type {
  AcceptedEvent,
  Emulator,
  EmulatorFault,
  EmulatorOptions,
  EmulatorResponse,
  RandomFaultConfig,
  ReceivedRequest,
} from './types.js';
