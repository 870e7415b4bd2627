/**
 * `createMetrics()`: counts every decision the engine makes and exposes the counts to Prometheus
 * (text format, or a prom-client registry) and OpenTelemetry.
 *
 * Two ways in, used together:
 * - `onEvent`, given to the engine, counts what the engine reports (hits, misses, stale served,
 *   bypasses, revalidations, coalesced waiters, stores and rejections, purges, store failures);
 * - `observe(cache)` wraps the engine's `handle` to time each request and its origin call, to tie
 *   each event to its request (per-request outcome, the tier that answered, the hottest keys),
 *   and reads the store's sizes, evictions and breaker state when scraped.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../clock.ts';
import type { CacheMonitoringConfig } from '../config/schema.ts';
import { DEFAULTS } from '../defaults.ts';
import type { CacheEvent, HttpCache } from '../engine.ts';
import { invalidOption } from '../errors.ts';
import { digest } from '../hash.ts';
import { requestHeader } from '../headers.ts';
import { buildPrimaryKey, type KeySettings } from '../key.ts';
import type { HandleResult, Origin, SendPlan } from '../origin.ts';
import type { CacheRequest, Clock, LayerName } from '../types.ts';
import {
  AlertEvaluator,
  thresholdsFromMonitoring,
  type AlertEvent,
  type AlertHysteresis,
  type AlertThresholds,
} from './alerts.ts';
import {
  CounterFamily,
  DEFAULT_DURATION_BUCKETS,
  GaugeFamily,
  HistogramFamily,
  PROMETHEUS_CONTENT_TYPE,
  quantileFromBuckets,
  ReadCounterFamily,
  renderPrometheusText,
  type Labels,
  type MetricFamily,
  type Sample,
} from './instruments.ts';
import { BoundedLabel, displayKey } from './labels.ts';
import { errorSummary, isLogger, safeLog, silentLogger, type GatecacheLogger } from './logger.ts';
import { isMeter, otelName, type OtelCounter, type OtelHistogram, type OtelMeter } from './otel.ts';
import { isPromRegistry, registerFamilies, type PromRegistry } from './prom-client.ts';
import { instrumentReads, probeLayers, type LayerProbe, type ReadResult } from './store-probe.ts';

/** How one request ended, as far as the cache is concerned. */
export type RequestOutcome = 'hit' | 'stale' | 'revalidated' | 'miss' | 'bypass' | 'error';

export interface MetricsOptions {
  /** Prefix of every metric name. Default `gatecache_`. */
  readonly prefix?: string;
  /** A prom-client `Registry` to register the families in (prom-client is an optional peer). */
  readonly registry?: PromRegistry;
  /** An OpenTelemetry `Meter` (`@opentelemetry/api`, optional peer) to record into as well. */
  readonly meter?: OtelMeter;
  /** pino-compatible logger for alerts, breaker changes and store failures. Default: silent. */
  readonly logger?: GatecacheLogger;
  /** Wall clock for alert and sample times. */
  readonly clock?: Clock;
  /** High-resolution timer in milliseconds for durations. Default `performance.now`. */
  readonly timer?: () => number;
  /** Histogram bounds in seconds. */
  readonly buckets?: readonly number[];
  /** Distinct route labels kept; later names count under `other`. Default 100. */
  readonly maxRoutes?: number;
  /**
   * The route label of a request: a route template such as `/users/:id`, never the path itself.
   * Default: the name of the policy rule that matched, or `default`.
   */
  readonly routeLabel?: (request: CacheRequest) => string | undefined;
  /** The seed's `cache_monitoring` block, validated (`LoadedConfig.cacheMonitoring`). */
  readonly monitoring?: CacheMonitoringConfig;
  /** Alert thresholds in code (over `monitoring`). */
  readonly alerts?: AlertThresholds;
  readonly hysteresis?: AlertHysteresis;
  /** Called on each alert raised or cleared. */
  readonly onAlert?: (event: AlertEvent) => void;
  /** Window the hit rate and latency alerts look at. Default 300,000 ms (5 minutes). */
  readonly alertWindowMs?: number;
  /** Requests a window needs before its hit rate is judged. Default 20. */
  readonly alertMinRequests?: number;
  /** Alerts are evaluated on this period; 0 only when `evaluateAlerts()` is called. Default 15,000. */
  readonly evaluateEveryMs?: number;
  /** Keys tracked for the hottest-keys list. Default 1,000. */
  readonly trackedKeys?: number;
  /**
   * Key settings of the engine (namespace, host keying, ignored and sensitive query parameters),
   * used to name requests by their cache key. Defaults: the engine's defaults.
   */
  readonly keys?: {
    readonly namespace?: string;
    readonly keyHost?: boolean;
    readonly queryIgnore?: readonly string[];
    readonly sensitiveQuery?: readonly string[];
  };
}

export interface KeyStat {
  /** The primary key, or `private:<digest>` for a per-user or credentialed request. */
  readonly key: string;
  readonly hits: number;
  readonly misses: number;
  readonly requests: number;
}

export interface RouteStat {
  readonly route: string;
  readonly requests: number;
  readonly served: number;
  readonly hitRatio: number | null;
}

export interface LayerStat {
  readonly layer: LayerName;
  readonly name: string;
  readonly reads: { readonly found: number; readonly absent: number; readonly error: number };
  readonly memory?: {
    readonly bytes: number;
    readonly maxBytes: number;
    readonly entries: number;
    readonly maxEntries: number;
    readonly ratio: number;
  };
  readonly evictions?: number;
  readonly breaker?: {
    readonly state: string;
    readonly errors: number;
    readonly timeouts: number;
    readonly shortCircuits: number;
    readonly opened: number;
  };
}

export interface MetricsSnapshot {
  readonly at: number;
  readonly uptimeSeconds: number;
  readonly requests: Readonly<Record<RequestOutcome, number>> & { readonly total: number };
  /** Served from the cache (fresh, stale or revalidated) over cacheable requests; null before any. */
  readonly hitRatio: number | null;
  readonly routes: readonly RouteStat[];
  readonly layers: readonly LayerStat[];
  /** Memory held over its limit across memory tiers (null without a memory tier). */
  readonly memoryRatio: number | null;
  readonly evictions: { readonly total: number; readonly perSecond: number };
  readonly stores: number;
  readonly storedBytes: number;
  readonly rejections: Readonly<Record<string, number>>;
  readonly bypasses: Readonly<Record<string, number>>;
  readonly staleServed: Readonly<Record<string, number>>;
  readonly coalesced: number;
  readonly purges: number;
  readonly storeFailures: number;
  readonly latency: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
    readonly hitP95: number | null;
    readonly originP95: number | null;
  };
  readonly alerts: readonly AlertEvent[];
  readonly topKeys: readonly KeyStat[];
}

export interface CacheMetrics {
  /** Pass to the engine: `createHttpCache({ onEvent: metrics.onEvent })`. */
  readonly onEvent: (event: CacheEvent) => void;
  /** Times requests, ties events to them and reads the store's gauges. Returns an undo. */
  observe(cache: HttpCache): () => void;
  /** The metrics in the Prometheus text format. */
  prometheus(): string;
  /** The Content-Type of `prometheus()`. */
  readonly contentType: string;
  /** The prom-client registry given, if any (a `/metrics` handler then serves it whole). */
  readonly registry: PromRegistry | undefined;
  readonly families: readonly MetricFamily[];
  /** Figures for the stats endpoint and the dashboard. */
  snapshot(options?: { topKeys?: number }): MetricsSnapshot;
  /** The most requested keys since start, most first. */
  topKeys(limit?: number): KeyStat[];
  /** Evaluates the alert rules now (also done every `evaluateEveryMs`). */
  evaluateAlerts(): AlertEvent[];
  activeAlerts(): AlertEvent[];
  /** The engine this is observing, if any. */
  readonly cache: HttpCache | undefined;
  readonly logger: GatecacheLogger;
  /** Stops the alert timer. */
  close(): void;
}

type PeekEntry = (request: CacheRequest, ...rest: unknown[]) => SendPlan | undefined;

type EngineEntry = (
  request: CacheRequest,
  origin: Origin,
  ...rest: unknown[]
) => HandleResult | Promise<HandleResult>;

/** Per-request state, carried through the engine's async work by AsyncLocalStorage. */
interface Trace {
  route: string | undefined;
  policy: string | undefined;
  hit: { stale: boolean; collapsed: boolean } | undefined;
  missReason: string | undefined;
  bypass: boolean;
  revalidated: boolean;
  staleIfError: boolean;
  /** The tier of the last read that found a record. */
  layer: LayerName | undefined;
  originSeconds: number | undefined;
  key: string | undefined;
}

interface WindowSample {
  readonly at: number;
  readonly served: number;
  readonly lookups: number;
  readonly evictions: number;
  readonly latency: readonly number[];
}

const OUTCOMES: readonly RequestOutcome[] = [
  'hit',
  'stale',
  'revalidated',
  'miss',
  'bypass',
  'error',
];
const SERVED: ReadonlySet<RequestOutcome> = new Set(['hit', 'stale', 'revalidated']);

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw invalidOption(name, value, 'a positive integer');
  return value;
}

const STALE_REASONS = new Set(['max-stale', 'stale-while-revalidate', 'stale-if-error']);

/** Why a stale response was served, from the detail of its Cache-Status (RFC 9211 §2.8). */
function staleDetail(result: HandleResult | undefined): string {
  if (result?.type !== 'send') return 'stale';
  const status = result.response.headers.find(([name]) => name === 'cache-status')?.[1];
  const detail = status === undefined ? undefined : /; detail=([\w-]+)/.exec(status)?.[1];
  return detail !== undefined && STALE_REASONS.has(detail) ? detail : 'stale';
}

/** Creates the metrics of one engine (options are validated here, once). */
export function createMetrics(options: MetricsOptions = {}): CacheMetrics {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', options, 'an object');
  }
  const prefix = options.prefix ?? 'gatecache_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw invalidOption('prefix', prefix, 'a Prometheus metric name prefix such as "gatecache_"');
  }
  if (options.registry !== undefined && !isPromRegistry(options.registry)) {
    throw invalidOption('registry', options.registry, 'a prom-client Registry');
  }
  if (options.meter !== undefined && !isMeter(options.meter)) {
    throw invalidOption('meter', options.meter, 'an OpenTelemetry Meter (metrics.getMeter(...))');
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw invalidOption('logger', options.logger, 'an object with debug, info, warn and error');
  }
  for (const fn of ['routeLabel', 'onAlert', 'timer'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') {
      throw invalidOption(fn, options[fn], 'a function');
    }
  }
  const buckets = options.buckets ?? DEFAULT_DURATION_BUCKETS;
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    !buckets.every((b, i) => typeof b === 'number' && b > 0 && (i === 0 || b > buckets[i - 1]!))
  ) {
    throw invalidOption('buckets', buckets, 'increasing positive numbers of seconds');
  }
  const maxRoutes = positiveInteger('maxRoutes', options.maxRoutes, 100);
  const trackedKeys = positiveInteger('trackedKeys', options.trackedKeys, 1000);
  const alertWindowMs = positiveInteger('alertWindowMs', options.alertWindowMs, 300_000);
  const evaluateEveryMs = options.evaluateEveryMs ?? 15_000;
  if (!Number.isSafeInteger(evaluateEveryMs) || evaluateEveryMs < 0) {
    throw invalidOption('evaluateEveryMs', evaluateEveryMs, 'an integer of 0 or more');
  }
  const keySettings: KeySettings = {
    namespace: options.keys?.namespace ?? DEFAULTS.namespace,
    includeHost: options.keys?.keyHost ?? DEFAULTS.keyHost,
    queryIgnore: options.keys?.queryIgnore ?? DEFAULTS.queryIgnore,
    sensitiveQuery: options.keys?.sensitiveQuery ?? DEFAULTS.sensitiveQuery,
  };
  const clock = options.clock ?? systemClock;
  const timer = options.timer ?? (() => performance.now());
  const logger = options.logger ?? silentLogger;
  const routes = new BoundedLabel(maxRoutes);
  const circuits = new BoundedLabel(maxRoutes);
  const meter = options.meter;
  const thresholds: AlertThresholds = {
    ...(options.monitoring !== undefined ? thresholdsFromMonitoring(options.monitoring) : {}),
    ...Object.fromEntries(
      Object.entries(options.alerts ?? {}).filter(([, value]) => value !== undefined),
    ),
  };
  const alerts = new AlertEvaluator(thresholds, options.hysteresis, options.alertMinRequests ?? 20);
  const startedAt = clock.now();
  const n = (name: string): string => prefix + name;
  let observed: HttpCache | undefined;

  // ---- families ----
  const otelCounters = new Map<CounterFamily, OtelCounter>();
  const otelHistograms = new Map<HistogramFamily, OtelHistogram>();
  const counter = (name: string, help: string, labels: readonly string[]): CounterFamily => {
    const family = new CounterFamily(n(name), help, labels);
    if (meter !== undefined) {
      otelCounters.set(family, meter.createCounter(otelName(family.name), { description: help }));
    }
    return family;
  };
  const histogram = (name: string, help: string, labels: readonly string[]): HistogramFamily => {
    const family = new HistogramFamily(n(name), help, labels, buckets);
    if (meter !== undefined) {
      otelHistograms.set(
        family,
        meter.createHistogram(otelName(family.name), {
          description: help,
          unit: 's',
          advice: { explicitBucketBoundaries: [...(buckets as readonly number[])] },
        }),
      );
    }
    return family;
  };
  const inc = (family: CounterFamily, labels: Labels, amount = 1): void => {
    family.inc(labels, amount);
    otelCounters.get(family)?.add(amount, { ...labels });
  };
  const record = (family: HistogramFamily, labels: Labels, seconds: number): void => {
    family.observe(labels, seconds);
    otelHistograms.get(family)?.record(seconds, { ...labels });
  };

  const requests = counter(
    'requests_total',
    'Requests through the cache by route and outcome (hit, stale, revalidated, miss, bypass, error).',
    ['route', 'outcome'],
  );
  const hits = counter(
    'hits_total',
    'Fresh responses served from the cache, by the tier that held them.',
    ['route', 'layer'],
  );
  const misses = counter(
    'misses_total',
    'Requests sent to the origin for a cacheable lookup, by reason.',
    ['route', 'reason'],
  );
  const staleServed = counter(
    'stale_served_total',
    'Stale responses served, by reason (max-stale, stale-while-revalidate, stale-if-error).',
    ['route', 'reason'],
  );
  const bypasses = counter('bypasses_total', 'Requests that bypassed the cache, by reason.', [
    'route',
    'reason',
  ]);
  const revalidations = counter(
    'revalidations_total',
    'Conditional requests to the origin for stale entries, by result (not-modified, modified, error).',
    ['route', 'result'],
  );
  const coalesced = counter(
    'coalesced_total',
    'Requests that waited for another request fetching the same key.',
    ['route'],
  );
  const stores = counter('stores_total', 'Responses stored.', ['route']);
  const storedBytes = counter('stored_bytes_total', 'Body bytes of the responses stored.', [
    'route',
  ]);
  const rejections = counter('store_rejections_total', 'Responses not stored, by reason.', [
    'route',
    'reason',
  ]);
  const purges = counter('purges_total', 'Invalidations applied (keys or all).', ['scope']);
  const purgedKeys = counter('purged_keys_total', 'Keys dropped by invalidations.', []);
  const storeFailures = counter(
    'store_failures_total',
    'Store operations that failed and were treated as a miss or skipped.',
    ['operation'],
  );
  const circuitTransitions = counter(
    'origin_circuit_transitions_total',
    'State changes of the origin circuit breakers, by circuit (upstream or route) and new state.',
    ['circuit', 'state'],
  );
  const layerReads = counter(
    'layer_reads_total',
    'Reads of each tier, by result (found, absent, error).',
    ['layer', 'result'],
  );
  const originDuration = histogram(
    'origin_duration_seconds',
    'Time the origin took to answer (until its response ended), by route.',
    ['route'],
  );
  const hitDuration = histogram(
    'hit_duration_seconds',
    'Time to answer a request from the cache.',
    ['route'],
  );
  const requestDuration = histogram(
    'request_duration_seconds',
    'Time the cache spent on each request, origin included, by outcome.',
    ['outcome'],
  );
  const layerReadDuration = histogram(
    'layer_read_duration_seconds',
    'Duration of reads of each tier.',
    ['layer'],
  );

  let probes: LayerProbe[] = [];
  const memorySamples = (
    pick: (f: ReturnType<NonNullable<LayerProbe['memory']>>) => number,
  ): Sample[] =>
    probes.flatMap((p) =>
      p.memory === undefined ? [] : [{ labels: { layer: p.layer }, value: pick(p.memory()) }],
    );

  const gauges: MetricFamily[] = [
    new GaugeFamily(n('memory_bytes'), 'Bytes held by each memory tier.', ['layer'], () =>
      memorySamples((f) => f.bytes),
    ),
    new GaugeFamily(n('memory_limit_bytes'), 'Byte limit of each memory tier.', ['layer'], () =>
      memorySamples((f) => f.maxBytes),
    ),
    new GaugeFamily(n('entries'), 'Entries held by each memory tier.', ['layer'], () =>
      memorySamples((f) => f.size),
    ),
    new GaugeFamily(n('entries_limit'), 'Entry limit of each memory tier.', ['layer'], () =>
      memorySamples((f) => f.maxEntries),
    ),
    new ReadCounterFamily(
      n('evictions_total'),
      'Entries pushed out of a memory tier to make room.',
      ['layer'],
      () => memorySamples((f) => f.evictions),
    ),
    new GaugeFamily(
      n('breaker_state'),
      'Circuit breaker of a tier: 1 for its current state (closed, half-open, open).',
      ['layer', 'state'],
      () =>
        probes.flatMap((p) => {
          if (p.breaker === undefined) return [];
          const { state } = p.breaker();
          return (['closed', 'half-open', 'open'] as const).map((s) => ({
            labels: { layer: p.layer, state: s },
            value: s === state ? 1 : 0,
          }));
        }),
    ),
    new ReadCounterFamily(
      n('layer_failures_total'),
      'Calls to a tier that failed (error), ran out of time (timeout) or were skipped by an open breaker (short_circuit).',
      ['layer', 'kind'],
      () =>
        probes.flatMap((p) => {
          if (p.breaker === undefined) return [];
          const { stats } = p.breaker();
          return [
            { labels: { layer: p.layer, kind: 'error' }, value: stats.errors },
            { labels: { layer: p.layer, kind: 'timeout' }, value: stats.timeouts },
            { labels: { layer: p.layer, kind: 'short_circuit' }, value: stats.shortCircuits },
          ];
        }),
    ),
    new ReadCounterFamily(
      n('breaker_opened_total'),
      'Times the circuit breaker of a tier opened.',
      ['layer'],
      () =>
        probes.flatMap((p) =>
          p.breaker === undefined
            ? []
            : [{ labels: { layer: p.layer }, value: p.breaker().stats.opened }],
        ),
    ),
    new GaugeFamily(
      n('origin_circuit_state'),
      'Origin circuit breaker: 1 for its current state (closed, half-open, open), by circuit.',
      ['circuit', 'state'],
      () => {
        const states: unknown = observed?.circuits;
        if (!(states instanceof Map)) return [];
        return [...(states as Map<string, string>).entries()].flatMap(([key, state]) =>
          (['closed', 'half-open', 'open'] as const).map((s) => ({
            labels: { circuit: circuits.value(key), state: s },
            value: s === state ? 1 : 0,
          })),
        );
      },
    ),
    new GaugeFamily(
      n('alert_active'),
      'Alerts currently raised (1), by name.',
      ['name', 'severity'],
      () =>
        alerts.active().map((a) => ({ labels: { name: a.name, severity: a.severity }, value: 1 })),
    ),
  ];

  const families: MetricFamily[] = [
    requests,
    hits,
    misses,
    staleServed,
    bypasses,
    revalidations,
    coalesced,
    stores,
    storedBytes,
    rejections,
    purges,
    purgedKeys,
    storeFailures,
    circuitTransitions,
    layerReads,
    originDuration,
    hitDuration,
    requestDuration,
    layerReadDuration,
    ...gauges,
  ];
  if (options.registry !== undefined) registerFamilies(options.registry, families);
  if (meter !== undefined) {
    for (const family of gauges) {
      const name = otelName(family.name);
      const instrument =
        family.type === 'counter'
          ? meter.createObservableCounter(name, { description: family.help })
          : meter.createObservableGauge(name, { description: family.help });
      instrument.addCallback((result) => {
        for (const sample of family.collect()) result.observe(sample.value, { ...sample.labels });
      });
    }
  }

  // ---- per-request tracing ----
  const traces = new AsyncLocalStorage<Trace>();
  const keyStats = new Map<string, { hits: number; misses: number }>();
  const routeOf = (trace: Trace | undefined, policy: string | undefined): string =>
    routes.value(trace?.route ?? policy);
  let staleIfErrorPending = false;

  const onEvent = function onEvent(event: CacheEvent): void {
    const trace = traces.getStore();
    try {
      if ('policy' in event && trace !== undefined && event.policy !== undefined)
        trace.policy ??= event.policy;
      const route = 'policy' in event ? routeOf(trace, event.policy) : '';
      switch (event.type) {
        case 'hit': {
          if (trace !== undefined) trace.hit = { stale: event.stale, collapsed: event.collapsed };
          if (event.stale) {
            // The engine reports stale-if-error just before the stale hit it serves for it.
            // With a trace the reason is read from the response's Cache-Status when it is done.
            if (trace === undefined && !staleIfErrorPending) {
              inc(staleServed, { route, reason: 'stale' });
            }
          } else {
            inc(hits, { route, layer: trace?.layer ?? defaultLayer() });
          }
          break;
        }
        case 'miss':
          if (trace !== undefined) trace.missReason = event.reason;
          inc(misses, { route, reason: event.reason });
          break;
        case 'bypass':
          if (trace !== undefined) trace.bypass = true;
          inc(bypasses, { route, reason: event.reason });
          break;
        case 'revalidated':
          if (trace !== undefined) trace.revalidated = true;
          inc(revalidations, { route, result: 'not-modified' });
          break;
        case 'stale-if-error':
          if (trace !== undefined) trace.staleIfError = true;
          inc(staleServed, { route, reason: 'stale-if-error' });
          staleIfErrorPending = true;
          return;
        case 'stored':
          inc(stores, { route });
          inc(storedBytes, { route }, event.bytes);
          break;
        case 'not-stored':
          inc(rejections, { route, reason: event.reason });
          break;
        case 'coalesced':
          inc(coalesced, { route });
          break;
        case 'invalidated':
          inc(purges, { scope: event.keys < 0 ? 'all' : 'keys' });
          if (event.keys > 0) inc(purgedKeys, {}, event.keys);
          break;
        case 'breaker':
          inc(circuitTransitions, { circuit: circuits.value(event.key), state: event.state });
          safeLog(
            logger,
            event.state === 'open' ? 'warn' : 'info',
            {
              event: 'gatecache.origin_circuit',
              circuit: circuits.value(event.key),
              state: event.state,
            },
            `[gatecache] origin circuit ${event.state}`,
          );
          break;
        case 'store-error':
          inc(storeFailures, { operation: event.operation });
          noteStoreFailure(event.operation, event.error);
          break;
        default:
          event satisfies never;
      }
    } catch {
      // Counting must never break a request.
    }
    staleIfErrorPending = false;
  };

  // Store failures are logged once, then summarized at most once a minute: never per request.
  let failureLog = { at: -Infinity, suppressed: 0 };
  function noteStoreFailure(operation: string, error: unknown): void {
    const now = clock.now();
    if (now - failureLog.at < 60_000) {
      failureLog.suppressed++;
      return;
    }
    safeLog(
      logger,
      'warn',
      {
        event: 'gatecache.store_failure',
        operation,
        error: errorSummary(error),
        suppressed: failureLog.suppressed,
      },
      '[gatecache] store operation failed; served as a miss',
    );
    failureLog = { at: now, suppressed: 0 };
  }

  function defaultLayer(): string {
    return probes.length === 1 ? probes[0]!.layer : 'unknown';
  }

  function keyOf(request: CacheRequest): string | undefined {
    try {
      const host = request.host ?? requestHeader(request.headers, 'host');
      const credentialed =
        request.partition !== undefined ||
        requestHeader(request.headers, 'authorization') !== undefined ||
        requestHeader(request.headers, 'cookie') !== undefined;
      const key = buildPrimaryKey(
        { url: request.url, host, partitionHash: undefined },
        keySettings,
      );
      // A request with credentials may be answered per user: named by a digest only.
      return credentialed ? `private:${digest(key + ' p=').slice(0, 16)}` : displayKey(key);
    } catch {
      return undefined;
    }
  }

  function countKey(key: string, served: boolean): void {
    let stat = keyStats.get(key);
    if (stat === undefined) {
      if (keyStats.size >= trackedKeys * 2) {
        // Keep the busiest half: a bounded table that still finds the hot keys of a long tail.
        const ranked = [...keyStats.entries()].sort(
          (a, b) => b[1].hits + b[1].misses - (a[1].hits + a[1].misses),
        );
        keyStats.clear();
        for (const [k, v] of ranked.slice(0, trackedKeys)) keyStats.set(k, v);
      }
      stat = { hits: 0, misses: 0 };
      keyStats.set(key, stat);
    }
    if (served) stat.hits++;
    else stat.misses++;
  }

  function finish(trace: Trace, result: HandleResult | undefined, startedMs: number): void {
    try {
      const seconds = (timer() - startedMs) / 1000;
      let outcome: RequestOutcome;
      if (result === undefined || result.type === 'rethrow') outcome = 'error';
      else if (trace.bypass) outcome = 'bypass';
      else if (trace.hit !== undefined) outcome = trace.hit.stale ? 'stale' : 'hit';
      else if (trace.revalidated) outcome = 'revalidated';
      else outcome = 'miss';
      const route = routes.value(trace.route ?? trace.policy);
      inc(requests, { route, outcome });
      record(requestDuration, { outcome }, seconds);
      if (trace.originSeconds !== undefined) record(originDuration, { route }, trace.originSeconds);
      if (outcome === 'hit' || (outcome === 'stale' && trace.originSeconds === undefined)) {
        record(hitDuration, { route }, seconds);
      }
      if (outcome === 'stale' && !trace.staleIfError) {
        inc(staleServed, { route, reason: staleDetail(result) });
      }
      if (trace.missReason === 'stale' && !trace.revalidated) {
        inc(revalidations, { route, result: trace.staleIfError ? 'error' : 'modified' });
      }
      if (trace.key !== undefined && outcome !== 'bypass') countKey(trace.key, SERVED.has(outcome));
    } catch {
      // Counting must never break a request.
    }
  }

  // ---- alerts and windows ----
  const window: WindowSample[] = [];
  function takeSample(): WindowSample {
    const served = OUTCOMES.filter((o) => SERVED.has(o)).reduce(
      (s, o) => s + requests.sum({ outcome: o }),
      0,
    );
    const sample: WindowSample = {
      at: clock.now(),
      served,
      lookups: served + requests.sum({ outcome: 'miss' }),
      evictions: probes.reduce((s, p) => s + (p.memory?.().evictions ?? 0), 0),
      latency: requestDuration.totals().counts,
    };
    window.push(sample);
    while (window.length > 2 && window[1]!.at <= sample.at - alertWindowMs) window.shift();
    // Bound the samples however often this is called.
    if (window.length > 1000) window.splice(1, window.length - 1000);
    return sample;
  }

  function memoryRatio(): number | null {
    let bytes = 0;
    let max = 0;
    for (const p of probes) {
      if (p.memory === undefined) continue;
      const f = p.memory();
      bytes += f.bytes;
      max += f.maxBytes;
    }
    return max > 0 ? bytes / max : null;
  }

  function evaluateAlerts(): AlertEvent[] {
    const current = takeSample();
    const first = window[0]!;
    const lookups = current.lookups - first.lookups;
    const latency = current.latency.map((c, i) => c - (first === current ? 0 : first.latency[i]!));
    const transitions = alerts.evaluate(
      {
        hitRatio: lookups > 0 ? (current.served - first.served) / lookups : undefined,
        requests: lookups,
        memoryRatio: memoryRatio() ?? undefined,
        p95: quantileFromBuckets(buckets, latency, 0.95),
        p99: quantileFromBuckets(buckets, latency, 0.99),
      },
      current.at,
    );
    for (const event of transitions) {
      safeLog(
        logger,
        event.state === 'raised' ? (event.severity === 'critical' ? 'error' : 'warn') : 'info',
        {
          event: `gatecache.alert.${event.state}`,
          alert: event.name,
          severity: event.severity,
          value: event.value,
          threshold: event.threshold,
        },
        `[gatecache] ${event.message}`,
      );
      try {
        options.onAlert?.(event);
      } catch {
        // A faulty alert handler must not stop the others.
      }
    }
    return transitions;
  }

  let timerHandle: ReturnType<typeof setInterval> | undefined;
  if (alerts.enabled && evaluateEveryMs > 0) {
    timerHandle = setInterval(() => void evaluateAlerts(), evaluateEveryMs);
    timerHandle.unref?.();
  }
  takeSample();

  // ---- breaker changes are logged when noticed (scrapes, alert evaluations, snapshots) ----
  const lastBreaker = new Map<LayerName, string>();
  function noticeBreakers(): void {
    for (const p of probes) {
      if (p.breaker === undefined) continue;
      const { state } = p.breaker();
      const before = lastBreaker.get(p.layer) ?? 'closed';
      if (state !== before) {
        safeLog(
          logger,
          state === 'open' ? 'warn' : 'info',
          { event: 'gatecache.breaker', layer: p.layer, state, previous: before },
          `[gatecache] ${p.layer} circuit breaker ${state}`,
        );
        lastBreaker.set(p.layer, state);
      }
    }
  }

  const metrics: CacheMetrics = {
    onEvent,
    contentType: PROMETHEUS_CONTENT_TYPE,
    registry: options.registry,
    families,
    logger,
    get cache() {
      return observed;
    },

    observe(cache: HttpCache): () => void {
      if (cache === null || typeof cache !== 'object' || typeof cache.handle !== 'function') {
        throw invalidOption('cache', cache, 'an HttpCache (createHttpCache(...))');
      }
      observed = cache;
      probes = probeLayers(cache.store);
      for (const probe of probes) {
        instrumentReads(
          probe,
          (layer: LayerName, result: ReadResult, seconds: number) => {
            layerReads.inc({ layer, result });
            otelCounters.get(layerReads)?.add(1, { layer, result });
            record(layerReadDuration, { layer }, seconds);
            const trace = traces.getStore();
            if (trace !== undefined && result === 'found') trace.layer = layer;
          },
          timer,
        );
      }
      // Adapters call `serve` (which may answer synchronously) and `handle` calls `serve`: wrapping
      // the one entry point counts every request once, whichever the adapter uses.
      const engine = cache as unknown as Record<string, unknown>;
      const method = typeof engine['serve'] === 'function' ? 'serve' : 'handle';
      const original = (engine[method] as EngineEntry).bind(cache);
      const routeLabel = options.routeLabel;
      const newTrace = (request: CacheRequest): Trace => {
        let route: string | undefined;
        try {
          route = routeLabel?.(request);
        } catch {
          route = undefined;
        }
        return {
          route,
          policy: undefined,
          hit: undefined,
          missReason: undefined,
          bypass: false,
          revalidated: false,
          staleIfError: false,
          layer: undefined,
          originSeconds: undefined,
          key: keyOf(request),
        };
      };
      const wrapped = function observedEntry(
        this: unknown,
        request: CacheRequest,
        origin: Origin,
        ...rest: unknown[]
      ): HandleResult | Promise<HandleResult> {
        const started = timer();
        const trace = newTrace(request);
        const timedOrigin: Origin = async (call) => {
          const originStarted = timer();
          try {
            return await origin(call);
          } finally {
            trace.originSeconds = (timer() - originStarted) / 1000;
          }
        };
        let value: HandleResult | Promise<HandleResult>;
        try {
          value = traces.run(trace, () => original(request, timedOrigin, ...rest));
        } catch (error) {
          finish(trace, undefined, started);
          throw error;
        }
        if (!(value instanceof Promise)) {
          finish(trace, value, started);
          return value;
        }
        return value.then(
          (result) => {
            finish(trace, result, started);
            return result;
          },
          (error: unknown) => {
            finish(trace, undefined, started);
            throw error;
          },
        );
      };
      Object.defineProperty(cache, method, { value: wrapped, configurable: true, writable: true });
      // `peek` answers fresh memory hits in front of a framework (`cache.front(app)`): a plan it
      // returns is a request served, counted as one; when it returns nothing the request goes on
      // to `serve`, which counts it.
      const peek = engine['peek'];
      if (typeof peek === 'function') {
        const originalPeek = (peek as PeekEntry).bind(cache);
        const observedPeek = function observedPeek(
          this: unknown,
          request: CacheRequest,
          ...rest: unknown[]
        ): SendPlan | undefined {
          const started = timer();
          const trace = newTrace(request);
          const plan = traces.run(trace, () => originalPeek(request, ...rest));
          if (plan !== undefined) finish(trace, { type: 'send', response: plan }, started);
          return plan;
        };
        Object.defineProperty(cache, 'peek', {
          value: observedPeek,
          configurable: true,
          writable: true,
        });
      }
      return () => {
        delete engine['peek'];
        delete engine[method];
        if (observed === cache) observed = undefined;
      };
    },

    prometheus(): string {
      noticeBreakers();
      return renderPrometheusText(families);
    },

    topKeys(limit = 10): KeyStat[] {
      return [...keyStats.entries()]
        .map(([key, s]) => ({ key, hits: s.hits, misses: s.misses, requests: s.hits + s.misses }))
        .sort((a, b) => b.requests - a.requests || b.hits - a.hits || (a.key < b.key ? -1 : 1))
        .slice(0, limit);
    },

    snapshot(snapshotOptions = {}): MetricsSnapshot {
      noticeBreakers();
      const now = clock.now();
      const counts = Object.fromEntries(
        OUTCOMES.map((o) => [o, requests.sum({ outcome: o })]),
      ) as Record<RequestOutcome, number>;
      const total = OUTCOMES.reduce((s, o) => s + counts[o], 0);
      const served = counts.hit + counts.stale + counts.revalidated;
      const lookups = served + counts.miss;
      const byRoute = new Map<string, { requests: number; served: number }>();
      for (const { labels, value } of requests.entries()) {
        const route = labels['route'] ?? '';
        const slot = byRoute.get(route) ?? { requests: 0, served: 0 };
        if (labels['outcome'] !== 'bypass') slot.requests += value;
        if (SERVED.has(labels['outcome'] as RequestOutcome)) slot.served += value;
        byRoute.set(route, slot);
      }
      const layers: LayerStat[] = probes.map((p) => {
        const reads = {
          found: layerReads.get({ layer: p.layer, result: 'found' }),
          absent: layerReads.get({ layer: p.layer, result: 'absent' }),
          error: layerReads.get({ layer: p.layer, result: 'error' }),
        };
        const f = p.memory?.();
        const b = p.breaker?.();
        return {
          layer: p.layer,
          name: p.store.name,
          reads,
          ...(f !== undefined && {
            memory: {
              bytes: f.bytes,
              maxBytes: f.maxBytes,
              entries: f.size,
              maxEntries: f.maxEntries,
              ratio: f.maxBytes > 0 ? f.bytes / f.maxBytes : 0,
            },
            evictions: f.evictions,
          }),
          ...(b !== undefined && {
            breaker: {
              state: b.state,
              errors: b.stats.errors,
              timeouts: b.stats.timeouts,
              shortCircuits: b.stats.shortCircuits,
              opened: b.stats.opened,
            },
          }),
        };
      });
      // Eviction rate over the last minute of samples (a sample is taken at most once a second).
      const last = window[window.length - 1];
      const current = last !== undefined && now - last.at < 1000 ? last : takeSample();
      const base = window.find((s) => s.at >= now - 60_000 && s !== current) ?? window[0]!;
      const span = (current.at - base.at) / 1000;
      const q = (family: HistogramFamily, p: number): number | null =>
        quantileFromBuckets(buckets, family.totals().counts, p) ?? null;
      const sumBy = (family: CounterFamily, label: string): Record<string, number> => {
        const out: Record<string, number> = {};
        for (const { labels, value } of family.entries()) {
          const k = labels[label] ?? '';
          out[k] = (out[k] ?? 0) + value;
        }
        return out;
      };
      return {
        at: now,
        uptimeSeconds: Math.max(0, (now - startedAt) / 1000),
        requests: { ...counts, total },
        hitRatio: lookups > 0 ? served / lookups : null,
        routes: [...byRoute.entries()]
          .map(([route, s]) => ({
            route,
            requests: s.requests,
            served: s.served,
            hitRatio: s.requests > 0 ? s.served / s.requests : null,
          }))
          .sort((a, b) => b.requests - a.requests || (a.route < b.route ? -1 : 1)),
        layers,
        memoryRatio: memoryRatio(),
        evictions: {
          total: current.evictions,
          perSecond: span > 0 ? (current.evictions - base.evictions) / span : 0,
        },
        stores: stores.sum(),
        storedBytes: storedBytes.sum(),
        rejections: sumBy(rejections, 'reason'),
        bypasses: sumBy(bypasses, 'reason'),
        staleServed: sumBy(staleServed, 'reason'),
        coalesced: coalesced.sum(),
        purges: purges.sum(),
        storeFailures: storeFailures.sum(),
        latency: {
          p50: q(requestDuration, 0.5),
          p95: q(requestDuration, 0.95),
          p99: q(requestDuration, 0.99),
          hitP95: q(hitDuration, 0.95),
          originP95: q(originDuration, 0.95),
        },
        alerts: alerts.active(),
        topKeys: metrics.topKeys(snapshotOptions.topKeys ?? 10),
      };
    },

    evaluateAlerts(): AlertEvent[] {
      noticeBreakers();
      return evaluateAlerts();
    },

    activeAlerts(): AlertEvent[] {
      return alerts.active();
    },

    close(): void {
      if (timerHandle !== undefined) clearInterval(timerHandle);
      timerHandle = undefined;
    },
  };
  return metrics;
}
