/**
 * The part of the OpenTelemetry metrics API (`@opentelemetry/api`) gatecache uses. Pass
 * `metrics.getMeter('gatecache')` as `meter`; the package itself is never imported here, so it
 * stays an optional peer dependency.
 */
export type OtelAttributes = Record<string, string>;

export interface OtelCounter {
  add(value: number, attributes?: OtelAttributes): void;
}

export interface OtelHistogram {
  record(value: number, attributes?: OtelAttributes): void;
}

export interface OtelObservableResult {
  observe(value: number, attributes?: OtelAttributes): void;
}

export interface OtelObservable {
  addCallback(callback: (result: OtelObservableResult) => void): void;
}

export interface OtelInstrumentOptions {
  readonly description?: string;
  readonly unit?: string;
  readonly advice?: { readonly explicitBucketBoundaries?: number[] };
}

export interface OtelMeter {
  createCounter(name: string, options?: OtelInstrumentOptions): OtelCounter;
  createHistogram(name: string, options?: OtelInstrumentOptions): OtelHistogram;
  createObservableGauge(name: string, options?: OtelInstrumentOptions): OtelObservable;
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
}

export function isMeter(value: unknown): value is OtelMeter {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.createCounter === 'function' &&
    typeof m.createHistogram === 'function' &&
    typeof m.createObservableGauge === 'function' &&
    typeof m.createObservableCounter === 'function'
  );
}

/** `gatecache_origin_duration_seconds` → `gatecache.origin.duration` (OpenTelemetry naming). */
export function otelName(prometheusName: string): string {
  return prometheusName
    .replace(/_total$/, '')
    .replace(/_seconds$/, '')
    .replace(/_bytes$/, '.bytes')
    .replace(/_/g, '.');
}
