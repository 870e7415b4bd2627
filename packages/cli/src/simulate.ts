/**
 * Replays an access log through the configured policies with the real engine: a manual clock set
 * to each line's time, a memory tier with the configured limits, and a stand-in origin that
 * answers with the logged status and a body of the logged size. The prediction is therefore the
 * engine's own behaviour, given what the origin sends (by default no freshness of its own, so the
 * rules' TTLs apply; `originCacheControl` says otherwise).
 */
import {
  createHttpCache,
  createMemoryStore,
  DEFAULTS,
  type CacheRequest,
  type HeaderList,
  type Origin,
} from '@gatecache/core';
import { compilePolicies, type LoadedConfig } from '@gatecache/core/config';
import { createMetrics, type RouteStat } from '@gatecache/core/metrics';
import type { AccessRecord } from './access-log.ts';

export interface SimulateOptions {
  /** Cache-Control the origin is assumed to send (e.g. `max-age=60`); none by default. */
  readonly originCacheControl?: string | undefined;
  /** Memory tier limits; default: the config's `cache.layers.l1`, else the engine's defaults. */
  readonly maxBytes?: number | undefined;
  readonly maxEntries?: number | undefined;
  readonly namespace?: string | undefined;
  /** Host for lines that name none. */
  readonly host?: string | undefined;
}

export interface SimulationReport {
  readonly requests: number;
  /** Requests the cache looked up (GET/HEAD not bypassed). */
  readonly cacheable: number;
  readonly served: number;
  readonly misses: number;
  readonly bypasses: number;
  /** Served from the cache over cacheable requests (the admin endpoint's `hitRatio`). */
  readonly hitRatio: number | null;
  readonly originCalls: number;
  readonly originCallsSaved: number;
  readonly bytesServedFromCache: number;
  readonly stores: number;
  readonly evictions: number;
  /** Peak bytes and entries held with the configured limits. */
  readonly peakBytes: number;
  readonly peakEntries: number;
  /** Peak bytes without a byte limit: the memory that would hold every live entry. */
  readonly memoryNeededBytes: number;
  readonly maxBytes: number;
  readonly routes: readonly RouteStat[];
  /** Responses not stored, by reason (`authorization`, `no-store`, `status`, `too-large`…). */
  readonly rejections: Readonly<Record<string, number>>;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

interface Run {
  served: number;
  misses: number;
  bypasses: number;
  cacheable: number;
  originCalls: number;
  bytesServed: number;
  stores: number;
  evictions: number;
  peakBytes: number;
  peakEntries: number;
  routes: readonly RouteStat[];
  rejections: Readonly<Record<string, number>>;
}

async function replay(
  records: readonly AccessRecord[],
  config: LoadedConfig,
  options: SimulateOptions,
  maxBytes: number,
  maxEntries: number,
): Promise<Run> {
  let now = records[0]?.time ?? 0;
  const clock = { now: () => now };
  const store = createMemoryStore({ clock, maxBytes, maxEntries });
  const metrics = createMetrics({ clock, evaluateEveryMs: 0, maxRoutes: 1000 });
  const cache = createHttpCache({
    clock,
    store,
    policy: compilePolicies(config),
    onEvent: metrics.onEvent,
    ...(options.namespace !== undefined && { namespace: options.namespace }),
  });
  metrics.observe(cache);
  // The size last seen for a URL: a 304 in the log says the client had it, not how large it is.
  const sizes = new Map<string, number>();
  let originCalls = 0;
  let bytesServed = 0;
  let peakBytes = 0;
  let peakEntries = 0;
  const zeros = new Uint8Array(1024 * 1024);
  for (const record of records) {
    now = Math.max(now, record.time);
    let status = record.status;
    let bytes = record.bytes;
    if (status === 304) {
      status = 200;
      bytes = sizes.get(record.url) ?? 0;
    } else if (status === 200) {
      sizes.set(record.url, bytes);
    }
    const body = bytes <= zeros.byteLength ? zeros.subarray(0, bytes) : new Uint8Array(bytes);
    const headers: HeaderList = [
      ['date', new Date(now).toUTCString()],
      ['content-type', 'application/octet-stream'],
    ];
    if (options.originCacheControl !== undefined) {
      headers.push(['cache-control', options.originCacheControl]);
    }
    const origin: Origin = (call) => {
      originCalls++;
      const action = call.head(status, headers, body);
      return Promise.resolve({
        status,
        headers,
        body: action.capture ? body : undefined,
        complete: true,
      });
    };
    const host = record.host ?? options.host ?? 'gateway.local';
    const requestHeaders: Record<string, string> = { host, ...record.headers };
    if (record.user !== undefined && requestHeaders['authorization'] === undefined) {
      requestHeaders['authorization'] = `Simulated ${record.user}`;
    }
    const request: CacheRequest = {
      method: record.method,
      url: record.url,
      host,
      headers: requestHeaders,
    };
    const result = await cache.handle(request, origin);
    if (
      result.type === 'send' &&
      result.response.body !== undefined &&
      result.response.status === 200
    ) {
      const cacheStatus = result.response.headers.find(([n]) => n === 'cache-status')?.[1] ?? '';
      if (cacheStatus.includes('; hit') || cacheStatus.includes('fwd=stale')) {
        bytesServed += result.response.body.byteLength;
      }
    }
    if (store.bytes > peakBytes) peakBytes = store.bytes;
    if (store.size > peakEntries) peakEntries = store.size;
  }
  const snapshot = metrics.snapshot();
  metrics.close();
  const served = snapshot.requests.hit + snapshot.requests.stale + snapshot.requests.revalidated;
  return {
    served,
    misses: snapshot.requests.miss,
    bypasses: snapshot.requests.bypass,
    cacheable: served + snapshot.requests.miss,
    originCalls,
    bytesServed,
    stores: snapshot.stores,
    evictions: store.evictions,
    peakBytes,
    peakEntries,
    routes: snapshot.routes,
    rejections: snapshot.rejections,
  };
}

/** Replays the records (in time order) and predicts what the cache would do with them. */
export async function simulate(
  records: readonly AccessRecord[],
  config: LoadedConfig,
  options: SimulateOptions = {},
): Promise<SimulationReport> {
  const l1 = config.cache.layers.l1;
  const maxBytes = options.maxBytes ?? l1?.maxSizeBytes ?? DEFAULTS.memory.maxBytes;
  const maxEntries = options.maxEntries ?? l1?.maxEntries ?? DEFAULTS.memory.maxEntries;
  const run = await replay(records, config, options, maxBytes, maxEntries);
  // The same log without limits shows what holding every live entry would take.
  const unbounded =
    run.evictions === 0
      ? run
      : await replay(records, config, options, Number.MAX_SAFE_INTEGER, records.length + 1);
  return {
    requests: records.length,
    cacheable: run.cacheable,
    served: run.served,
    misses: run.misses,
    bypasses: run.bypasses,
    hitRatio: run.cacheable > 0 ? run.served / run.cacheable : null,
    originCalls: run.originCalls,
    originCallsSaved: records.length - run.originCalls,
    bytesServedFromCache: run.bytesServed,
    stores: run.stores,
    evictions: run.evictions,
    peakBytes: run.peakBytes,
    peakEntries: run.peakEntries,
    memoryNeededBytes: unbounded.peakBytes,
    maxBytes,
    routes: run.routes,
    rejections: run.rejections,
    from: records[0] && new Date(records[0].time).toISOString(),
    to: records.length > 0 ? new Date(records[records.length - 1]!.time).toISOString() : undefined,
  };
}
