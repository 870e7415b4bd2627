export { createMetrics } from './create-metrics.ts';
export type {
  CacheMetrics,
  KeyStat,
  LayerStat,
  MetricsOptions,
  MetricsSnapshot,
  RequestOutcome,
  RouteStat,
} from './create-metrics.ts';
export { AlertEvaluator, thresholdsFromMonitoring } from './alerts.ts';
export type {
  AlertEvent,
  AlertHysteresis,
  AlertInput,
  AlertName,
  AlertThresholds,
} from './alerts.ts';
export { createAdminHandler, parsePurgeBody } from './admin.ts';
export type {
  AdminHandler,
  AdminOptions,
  AdminInvalidation,
  AdminPurgeSpec,
  AdminRequest,
  AdminResponse,
} from './admin.ts';
export { renderDashboard } from './dashboard.ts';
export type { DashboardOptions } from './dashboard.ts';
export {
  escapeGlob,
  inspectUrl,
  keysMatchingPath,
  keysWithTags,
  keyTarget,
  largestEntries,
  peekRecord,
} from './inspect.ts';
export type { EntrySize, InspectedEntry, InspectResult } from './inspect.ts';
export {
  CounterFamily,
  DEFAULT_DURATION_BUCKETS,
  GaugeFamily,
  HistogramFamily,
  PROMETHEUS_CONTENT_TYPE,
  quantileFromBuckets,
  ReadCounterFamily,
  renderPrometheusText,
} from './instruments.ts';
export type { Labels, MetricFamily, MetricType, Sample } from './instruments.ts';
export { BoundedLabel, displayKey, isPrivateKey, PRIVATE_KEY_MARKER } from './labels.ts';
export { errorSummary, isLogger, silentLogger } from './logger.ts';
export type { GatecacheLogger } from './logger.ts';
export { isMeter, otelName } from './otel.ts';
export type {
  OtelAttributes,
  OtelCounter,
  OtelHistogram,
  OtelInstrumentOptions,
  OtelMeter,
  OtelObservable,
  OtelObservableResult,
} from './otel.ts';
export { isPromRegistry, registerFamilies } from './prom-client.ts';
export type { PromRegistry } from './prom-client.ts';
export { instrumentReads, probeLayers } from './store-probe.ts';
export type { LayerProbe, MemoryFigures, ReadResult } from './store-probe.ts';
export {
  checkToken,
  constantTimeEqual,
  MIN_TOKEN_LENGTH,
  presentedToken,
  tokenVerifier,
} from './token.ts';
export { createMetricsEndpoint } from './metrics-endpoint.ts';
export type { MetricsEndpoint, MetricsEndpointOptions } from './metrics-endpoint.ts';
