import { describe, expect, it } from 'vitest';
import {
  createHttpCache,
  createMemoryStore,
  type CacheRequest,
  type HeaderList,
  type Origin,
} from '@gatecache/core';
import { compilePolicies } from '@gatecache/core/config';
import { createMetrics, type AlertEvent } from '@gatecache/core/metrics';
import { createManualClock } from '@gatecache/core/testing';

const encoder = new TextEncoder();

/** An origin that answers like a server would and counts its calls. */
function fakeOrigin(
  respond: (validators: ReadonlyMap<string, string>) => {
    status: number;
    headers: HeaderList;
    body: string;
  },
): Origin & { calls: number } {
  const origin = async (call: Parameters<Origin>[0]) => {
    origin.calls++;
    const validators = new Map(call.requestHeaders.set.map(([k, v]) => [k, v] as const));
    const { status, headers, body } = respond(validators);
    const bytes = encoder.encode(body);
    const action = call.head(status, headers, bytes);
    await Promise.resolve();
    return { status, headers, body: action.capture ? bytes : undefined, complete: true };
  };
  origin.calls = 0;
  return origin;
}

const get = (url: string, headers: Record<string, string> = {}): CacheRequest => ({
  method: 'GET',
  url,
  host: 'api.test',
  headers: { host: 'api.test', ...headers },
});

/** The value of one series in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('createMetrics with the engine', () => {
  it('counts hits, misses, stores and bypasses per policy, exactly', async () => {
    const clock = createManualClock(Date.now());
    const metrics = createMetrics({ clock });
    const cache = createHttpCache({
      clock,
      onEvent: metrics.onEvent,
      policy: compilePolicies([
        { name: 'products', pattern: '/products/*', ttl: 60 },
        { name: 'private', pattern: '/me', cache: false },
      ]),
    });
    metrics.observe(cache);
    const origin = fakeOrigin(() => ({
      status: 200,
      headers: [['content-type', 'application/json']],
      body: '{"ok":true}',
    }));

    await cache.handle(get('/products/1'), origin);
    await cache.handle(get('/products/1'), origin);
    await cache.handle(get('/products/1'), origin);
    await cache.handle(get('/products/2'), origin);
    await cache.handle(get('/me'), origin);
    await cache.handle({ ...get('/products/1'), method: 'POST' }, origin);
    expect(origin.calls).toBe(4);

    const text = metrics.prometheus();
    expect(sample(text, 'gatecache_requests_total{route="products",outcome="hit"}')).toBe(2);
    expect(sample(text, 'gatecache_requests_total{route="products",outcome="miss"}')).toBe(2);
    expect(sample(text, 'gatecache_requests_total{route="private",outcome="bypass"}')).toBe(1);
    expect(sample(text, 'gatecache_requests_total{route="default",outcome="bypass"}')).toBe(1);
    expect(sample(text, 'gatecache_hits_total{route="products",layer="l1"}')).toBe(2);
    expect(sample(text, 'gatecache_misses_total{route="products",reason="uri-miss"}')).toBe(2);
    expect(sample(text, 'gatecache_stores_total{route="products"}')).toBe(2);
    expect(sample(text, 'gatecache_stored_bytes_total{route="products"}')).toBe(22);
    expect(sample(text, 'gatecache_bypasses_total{route="private",reason="policy"}')).toBe(1);
    expect(sample(text, 'gatecache_bypasses_total{route="default",reason="method"}')).toBe(1);
    // The POST invalidated /products/1: one entry left.
    expect(sample(text, 'gatecache_entries{layer="l1"}')).toBe(1);
    expect(sample(text, 'gatecache_hit_duration_seconds_count{route="products"}')).toBe(2);
    expect(sample(text, 'gatecache_origin_duration_seconds_count{route="products"}')).toBe(2);
    expect(text).toContain('# TYPE gatecache_requests_total counter');
    expect(text).toContain('# TYPE gatecache_origin_duration_seconds histogram');
    expect(text).toContain('gatecache_memory_limit_bytes{layer="l1"} 67108864');

    const snapshot = metrics.snapshot();
    expect(snapshot.hitRatio).toBeCloseTo(0.5);
    expect(snapshot.routes.find((r) => r.route === 'products')).toMatchObject({
      requests: 4,
      served: 2,
      hitRatio: 0.5,
    });
    expect(snapshot.topKeys[0]).toEqual({
      key: 'gc1:default:api.test/products/1',
      hits: 2,
      misses: 1,
      requests: 3,
    });
    metrics.close();
  });

  it('counts the entries and bytes the memory tier holds (two entries after the delete)', async () => {
    const clock = createManualClock(Date.now());
    const metrics = createMetrics({ clock });
    const store = createMemoryStore({ clock, maxBytes: 4096, maxEntries: 3, maxEntryBytes: 2048 });
    const cache = createHttpCache({ clock, store, ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache);
    const origin = fakeOrigin(() => ({ status: 200, headers: [], body: 'x'.repeat(100) }));
    for (const id of [1, 2, 3, 4, 5]) await cache.handle(get(`/items/${id}`), origin);
    await cache.invalidateUrl('/items/5', 'api.test');
    const text = metrics.prometheus();
    expect(sample(text, 'gatecache_evictions_total{layer="l1"}')).toBe(2);
    expect(sample(text, 'gatecache_entries{layer="l1"}')).toBe(2);
    expect(sample(text, 'gatecache_entries_limit{layer="l1"}')).toBe(3);
    expect(sample(text, 'gatecache_memory_bytes{layer="l1"}')).toBe(store.bytes);
    expect(sample(text, 'gatecache_purges_total{scope="keys"}')).toBe(1);
    expect(metrics.snapshot().memoryRatio).toBeCloseTo(store.bytes / 4096);
  });

  it('serves stale-if-error once under its own reason, and counts revalidations by result', async () => {
    const clock = createManualClock(Date.now());
    const metrics = createMetrics({ clock });
    const cache = createHttpCache({ clock, onEvent: metrics.onEvent });
    metrics.observe(cache);
    let mode: 'ok' | 'fail' = 'ok';
    const origin = fakeOrigin((validators) => {
      if (mode === 'fail') return { status: 503, headers: [], body: 'down' };
      if (validators.has('if-none-match')) return { status: 304, headers: [], body: '' };
      return {
        status: 200,
        headers: [
          ['cache-control', 'max-age=10, stale-if-error=600'],
          ['etag', '"v1"'],
        ],
        body: 'hello',
      };
    });
    await cache.handle(get('/a'), origin);
    clock.advance(11_000);
    await cache.handle(get('/a'), origin); // stale: revalidated with 304
    clock.advance(11_000);
    mode = 'fail';
    await cache.handle(get('/a'), origin); // stale: origin 503, stale served
    const text = metrics.prometheus();
    expect(origin.calls).toBe(3);
    expect(
      sample(text, 'gatecache_revalidations_total{route="default",result="not-modified"}'),
    ).toBe(1);
    expect(sample(text, 'gatecache_revalidations_total{route="default",result="error"}')).toBe(1);
    expect(
      sample(text, 'gatecache_stale_served_total{route="default",reason="stale-if-error"}'),
    ).toBe(1);
    expect(
      sample(text, 'gatecache_stale_served_total{route="default",reason="max-stale"}'),
    ).toBeUndefined();
    expect(sample(text, 'gatecache_requests_total{route="default",outcome="stale"}')).toBe(1);
    expect(sample(text, 'gatecache_requests_total{route="default",outcome="revalidated"}')).toBe(1);
    expect(sample(text, 'gatecache_misses_total{route="default",reason="stale"}')).toBe(2);
  });

  it('names the reason a stale response was served: max-stale, stale-while-revalidate', async () => {
    const clock = createManualClock(Date.now());
    const metrics = createMetrics({ clock });
    const cache = createHttpCache({ clock, onEvent: metrics.onEvent });
    metrics.observe(cache);
    const origin = fakeOrigin(() => ({
      status: 200,
      headers: [['cache-control', 'max-age=10, stale-while-revalidate=60']],
      body: 'v',
    }));
    const background = { run: origin };
    await cache.handle(get('/s'), origin, undefined, background);
    clock.advance(15_000);
    await cache.handle(get('/s'), origin, undefined, background); // stale, refreshed behind
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(80_000);
    await cache.handle(get('/s', { 'cache-control': 'max-stale=600' }), origin); // past SWR
    const text = metrics.prometheus();
    expect(
      sample(text, 'gatecache_stale_served_total{route="default",reason="stale-while-revalidate"}'),
    ).toBe(1);
    expect(sample(text, 'gatecache_stale_served_total{route="default",reason="max-stale"}')).toBe(
      1,
    );
    expect(sample(text, 'gatecache_requests_total{route="default",outcome="stale"}')).toBe(2);
    expect(origin.calls).toBe(2);
  });

  it('counts waiters coalesced behind one origin call', async () => {
    const metrics = createMetrics();
    const cache = createHttpCache({ ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const origin: Origin = async (call) => {
      calls++;
      await gate;
      const body = encoder.encode('slow');
      const action = call.head(200, [], body);
      return { status: 200, headers: [], body: action.capture ? body : undefined, complete: true };
    };
    const all = Promise.all([1, 2, 3].map(() => cache.handle(get('/slow'), origin)));
    await new Promise((r) => setTimeout(r, 10));
    release();
    await all;
    const text = metrics.prometheus();
    expect(calls).toBe(1);
    expect(sample(text, 'gatecache_coalesced_total{route="default"}')).toBe(2);
    expect(sample(text, 'gatecache_requests_total{route="default",outcome="hit"}')).toBe(2);
  });

  it('names private and credentialed requests by a digest only, and bounds route labels', async () => {
    const metrics = createMetrics({ maxRoutes: 2, routeLabel: (r) => r.url.split('?')[0] });
    const cache = createHttpCache({ ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache);
    const origin = fakeOrigin(() => ({ status: 200, headers: [], body: 'x' }));
    await cache.handle(get('/a', { authorization: 'Bearer secret-token-123' }), origin);
    await cache.handle(get('/b?token=abc'), origin);
    await cache.handle(get('/c'), origin);
    const keys = metrics.topKeys().map((k) => k.key);
    expect(keys.some((k) => /^private:[\w-]{16}$/.test(k))).toBe(true);
    const text = metrics.prometheus();
    expect(text).not.toContain('secret-token-123');
    expect(text).not.toContain('abc');
    expect(keys.join(' ')).not.toContain('abc');
    expect(sample(text, 'gatecache_requests_total{route="other",outcome="miss"}')).toBe(1);
  });

  it('raises and clears alerts once each, with hysteresis, and logs them', async () => {
    const clock = createManualClock(Date.now());
    const events: AlertEvent[] = [];
    const logged: Array<{ level: string; obj: object; msg: string | undefined }> = [];
    const log =
      (level: string) =>
      (obj: object, msg?: string): void => {
        logged.push({ level, obj, msg });
      };
    const store = createMemoryStore({
      clock,
      maxBytes: 12_000,
      maxEntries: 1000,
      maxEntryBytes: 4000,
    });
    const metrics = createMetrics({
      clock,
      alerts: { hitRate: 0.5, memoryWarning: 0.8, memoryCritical: 0.9 },
      alertMinRequests: 4,
      alertWindowMs: 60_000,
      evaluateEveryMs: 0,
      onAlert: (e) => events.push(e),
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    const cache = createHttpCache({ clock, store, ttl: 600, onEvent: metrics.onEvent });
    metrics.observe(cache);
    const origin = fakeOrigin(() => ({ status: 200, headers: [], body: 'y'.repeat(1300) }));
    // Four distinct URLs: four misses, hit rate 0.
    for (const id of [1, 2, 3, 4]) await cache.handle(get(`/p/${id}`), origin);
    clock.advance(1000);
    expect(metrics.evaluateAlerts().map((e) => `${e.name}:${e.state}`)).toEqual([
      'hit_rate_low:raised',
    ]);
    // Still low: no new event.
    clock.advance(1000);
    expect(metrics.evaluateAlerts()).toEqual([]);
    // Memory: six entries of ~1.8 KB in 12 KB is over 90%.
    for (const id of [5, 6]) await cache.handle(get(`/p/${id}`), origin);
    clock.advance(1000);
    const memory = metrics.evaluateAlerts().map((e) => `${e.name}:${e.state}`);
    expect(memory).toContain('memory_warning:raised');
    expect(memory).toContain('memory_critical:raised');
    // Hits bring the ratio over the window to 12/18 = 0.67 > 0.5 + 0.05: cleared once.
    for (let i = 0; i < 2; i++)
      for (const id of [1, 2, 3, 4, 5, 6]) await cache.handle(get(`/p/${id}`), origin);
    clock.advance(1000);
    expect(metrics.evaluateAlerts().map((e) => `${e.name}:${e.state}`)).toEqual([
      'hit_rate_low:cleared',
    ]);
    expect(events.filter((e) => e.name === 'hit_rate_low').map((e) => e.state)).toEqual([
      'raised',
      'cleared',
    ]);
    expect(
      metrics
        .activeAlerts()
        .map((a) => a.name)
        .sort(),
    ).toEqual(['memory_critical', 'memory_warning']);
    expect(
      sample(
        metrics.prometheus(),
        'gatecache_alert_active{name="memory_critical",severity="critical"}',
      ),
    ).toBe(1);
    expect(logged.filter((l) => l.level === 'error').map((l) => l.msg)).toHaveLength(1);
    expect(logged.some((l) => l.msg?.includes('hit rate'))).toBe(true);
    // Nothing is logged per request.
    expect(logged).toHaveLength(events.length);
  });
});

describe('logging', () => {
  it('is quiet per request, and logs store failures once a minute without keys or credentials', async () => {
    const { createFaultyStore } = await import('@gatecache/core/testing');
    const clock = createManualClock(Date.now());
    const logged: Array<{ level: string; obj: object; msg: string | undefined }> = [];
    const log =
      (level: string) =>
      (obj: object, msg?: string): void => {
        logged.push({ level, obj, msg });
      };
    const metrics = createMetrics({
      clock,
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    const store = createFaultyStore(createMemoryStore({ clock }));
    const cache = createHttpCache({ clock, store, ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache);
    const origin = fakeOrigin(() => ({ status: 200, headers: [], body: 'private body' }));
    await cache.handle(get('/ok'), origin);
    await cache.handle(get('/ok'), origin);
    expect(logged).toEqual([]);
    store.fault = { type: 'reject' };
    for (let i = 0; i < 5; i++) {
      await cache.handle(
        get(`/u/${i}?token=secret-${i}`, { authorization: 'Bearer secret' }),
        origin,
      );
    }
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'warn', obj: { event: 'gatecache.store_failure' } });
    clock.advance(61_000);
    await cache.handle(get('/u/9'), origin);
    expect(logged).toHaveLength(2);
    expect((logged[1]!.obj as { suppressed: number }).suppressed).toBeGreaterThan(0);
    const text = JSON.stringify(logged);
    expect(text).not.toMatch(/secret|private body|\/u\//);
  });
});
