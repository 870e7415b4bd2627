/**
 * Registers gatecache's families in a prom-client `Registry`, so one `/metrics` serves them beside
 * the application's own metrics (and `collectDefaultMetrics`). prom-client reads a metric through
 * `get()`; gatecache's families answer it without prom-client being imported here.
 */
import { GatecacheError } from '../errors.ts';
import type { MetricFamily } from './instruments.ts';

/** The part of prom-client's `Registry` gatecache uses. */
export interface PromRegistry {
  registerMetric(metric: never): void;
  metrics(): Promise<string>;
  readonly contentType: string;
  getSingleMetric?(name: string): unknown;
}

export function isPromRegistry(value: unknown): value is PromRegistry {
  if (value === null || typeof value !== 'object') return false;
  const r = value as Record<string, unknown>;
  return typeof r.registerMetric === 'function' && typeof r.metrics === 'function';
}

/** Adds each family to the registry; a name already there (another cache's) is an error. */
export function registerFamilies(registry: PromRegistry, families: readonly MetricFamily[]): void {
  for (const family of families) {
    const metric = {
      name: family.name,
      help: family.help,
      type: family.type,
      labelNames: family.labelNames,
      // Summed across workers by prom-client's AggregatorRegistry (cluster mode).
      aggregator: 'sum',
      get: () =>
        Promise.resolve({
          name: family.name,
          help: family.help,
          type: family.type,
          aggregator: 'sum',
          values: family.collect().map((sample) => ({
            value: sample.value,
            labels: { ...sample.labels },
            ...(sample.metricName !== undefined && { metricName: sample.metricName }),
          })),
        }),
      reset: () => undefined,
    };
    try {
      registry.registerMetric(metric as never);
    } catch (error) {
      throw new GatecacheError(
        'ERR_INVALID_OPTION',
        `[gatecache] metric "${family.name}" is already in this registry: give each cache its own "prefix" (or registry)`,
        { cause: error },
      );
    }
  }
}
