import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, bearer, sample, startGateway, type Gateway } from './gateway.ts';

let gateway: Gateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function traffic(base: string): Promise<void> {
  for (const path of ['/products/1', '/products/1', '/products/1', '/products/2', '/products/2']) {
    expect((await fetch(base + path)).status).toBe(200);
  }
  // Two users, each twice: per-user entries.
  for (const user of ['alice-secret-token', 'bob-secret-token']) {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(base + '/me', { headers: { authorization: `Bearer ${user}` } });
      expect(res.status).toBe(200);
    }
  }
  for (const lang of ['en', 'fr', 'en']) {
    await fetch(base + '/search?q=x', { headers: { 'accept-language': lang } });
  }
  await fetch(base + '/products/1', { method: 'POST' });
}

describe('Express: /metrics after known traffic', () => {
  it('reports exact counters per route and outcome', async () => {
    gateway = await startGateway();
    await traffic(gateway.base);
    const res = await fetch(gateway.base + '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const count = (route: string, outcome: string): number | undefined =>
      sample(text, `gatecache_requests_total{route="${route}",outcome="${outcome}"}`);
    expect(count('products', 'hit')).toBe(3);
    expect(count('products', 'miss')).toBe(2);
    expect(count('me', 'hit')).toBe(2);
    expect(count('me', 'miss')).toBe(2);
    expect(count('search', 'hit')).toBe(1);
    expect(count('search', 'miss')).toBe(2);
    expect(count('default', 'bypass')).toBe(1);
    expect(sample(text, 'gatecache_misses_total{route="search",reason="vary-miss"}')).toBe(1);
    expect(sample(text, 'gatecache_stores_total{route="products"}')).toBe(2);
    expect(sample(text, 'gatecache_stores_total{route="me"}')).toBe(2);
    expect(sample(text, 'gatecache_bypasses_total{route="default",reason="method"}')).toBe(1);
    expect(sample(text, 'gatecache_hits_total{route="products",layer="l1"}')).toBe(3);
    expect(sample(text, 'gatecache_purges_total{scope="keys"}')).toBe(1);
    expect(sample(text, 'gatecache_memory_limit_bytes{layer="l1"}')).toBe(1024 * 1024);
    // Origin calls: 2 products + 2 users + 2 languages + the POST.
    const calls = [...gateway.originCalls.values()].reduce((a, b) => a + b, 0);
    expect(calls).toBe(7);
    // Labels never carry users, tokens or raw paths.
    expect(text).not.toMatch(/alice|bob|secret|\/products\/1/);
  });
});

describe('Express: admin endpoint', () => {
  it('is off without a token', async () => {
    gateway = await startGateway({ token: undefined });
    expect((await fetch(gateway.base + '/_gatecache/stats', { headers: bearer })).status).toBe(404);
    expect((await fetch(gateway.base + '/metrics')).status).toBe(404);
  });

  it('authenticates with the bearer token only: never a cookie, never a wrong token', async () => {
    gateway = await startGateway();
    const stats = gateway.base + '/_gatecache/stats';
    const none = await fetch(stats);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="gatecache"');
    expect(
      (await fetch(stats, { headers: { cookie: `token=${ADMIN_TOKEN}; admin=${ADMIN_TOKEN}` } }))
        .status,
    ).toBe(401);
    expect(
      (await fetch(stats, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } })).status,
    ).toBe(401);
    expect(
      (await fetch(stats, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } })).status,
    ).toBe(401);
    expect((await fetch(stats, { headers: { 'x-gatecache-token': ADMIN_TOKEN } })).status).toBe(
      200,
    );
    const ok = await fetch(stats, { headers: bearer });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
  });

  it('reports hit ratio per route, memory against the limit, hottest and largest keys', async () => {
    gateway = await startGateway();
    await traffic(gateway.base);
    await fetch(gateway.base + '/products/9?size=5000');
    const res = await fetch(gateway.base + '/_gatecache/stats?limit=5', { headers: bearer });
    const body = await res.text();
    const stats = JSON.parse(body) as {
      hitRatio: number;
      routes: Array<{ route: string; hitRatio: number; requests: number }>;
      layers: Array<{
        layer: string;
        memory: { bytes: number; maxBytes: number; entries: number };
      }>;
      topKeys: Array<{ key: string; requests: number }>;
      largestEntries: Array<{ key: string; sizeBytes: number; layer: string }>;
      requests: { total: number };
    };
    // 6 served of 13 cacheable lookups (the POST bypassed).
    expect(stats.requests.total).toBe(14);
    expect(stats.hitRatio).toBeCloseTo(6 / 13, 5);
    expect(stats.routes.find((r) => r.route === 'products')).toMatchObject({
      requests: 6,
      hitRatio: 0.5,
    });
    expect(stats.routes.find((r) => r.route === 'me')).toMatchObject({
      requests: 4,
      hitRatio: 0.5,
    });
    const l1 = stats.layers.find((l) => l.layer === 'l1')!;
    expect(l1.memory.maxBytes).toBe(1024 * 1024);
    expect(l1.memory.entries).toBeGreaterThanOrEqual(6);
    // Both users' /me requests count under one digest: popular, but never who asked.
    expect(stats.topKeys[0]).toMatchObject({
      key: expect.stringMatching(/^private:/) as unknown,
      requests: 4,
    });
    expect(stats.topKeys[1]).toMatchObject({
      key: expect.stringMatching(/\/products\/1$/) as unknown,
      requests: 3,
    });
    expect(stats.largestEntries[0]!.key).toMatch(/\/products\/9\?size=5000$/);
    expect(stats.largestEntries[0]!.sizeBytes).toBeGreaterThan(5000);
    // Private entries appear as digests only.
    expect(stats.largestEntries.some((e) => /^private:[\w-]{16}$/.test(e.key))).toBe(true);
    expect(body).not.toMatch(/alice|bob|secret-token| p=/);
  });

  it('inspects one URL: variants, ages, TTLs, tags and tiers; private entries only counted', async () => {
    gateway = await startGateway();
    await traffic(gateway.base);
    const inspect = async (url: string): Promise<Record<string, unknown>> => {
      const res = await fetch(
        `${gateway!.base}/_gatecache/inspect?url=${encodeURIComponent(url)}`,
        { headers: bearer },
      );
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    };
    const product = (await inspect('/products/2')) as {
      entries: Array<{
        status: number;
        ttlSeconds: number;
        tags: string[];
        layers: string[];
        ageSeconds: number;
      }>;
    };
    expect(product.entries).toHaveLength(1);
    expect(product.entries[0]).toMatchObject({
      status: 200,
      tags: ['products'],
      layers: ['l1'],
      ageSeconds: 0,
    });
    expect(product.entries[0]!.ttlSeconds).toBeGreaterThan(55);
    expect(product.entries[0]!.ttlSeconds).toBeLessThanOrEqual(60);

    const search = (await inspect('/search?q=x')) as {
      varyFields: string[];
      entries: Array<{ vary: Record<string, string> }>;
    };
    expect(search.varyFields).toEqual(['accept-language']);
    expect(search.entries.map((e) => e.vary['accept-language']).sort()).toEqual(['en', 'fr']);

    const me = await inspect('/me');
    expect(me.privateEntries).toBe(2);
    expect(JSON.stringify(me)).not.toMatch(/alice|bob|secret| p=/);
    expect((await fetch(`${gateway.base}/_gatecache/inspect`, { headers: bearer })).status).toBe(
      400,
    );
  });

  it('purges by tag, URL and pattern: the next request goes to the origin', async () => {
    gateway = await startGateway();
    const { base, originCalls } = gateway;
    await fetch(base + '/products/1');
    await fetch(base + '/products/2');
    await fetch(base + '/search?q=a');
    const purge = (body: unknown) =>
      fetch(base + '/_gatecache/purge', {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await purge({ tags: ['products'] })).status).toBe(200);
    await fetch(base + '/products/1');
    expect(originCalls.get('/products/1')).toBe(2);
    expect((await purge({ url: '/search?q=a' })).status).toBe(200);
    await fetch(base + '/search?q=a');
    expect(originCalls.get('/search')).toBe(2);
    const byPattern = await purge({ patterns: ['/products/*'] });
    expect(((await byPattern.json()) as { purged: { keys: number } }).purged.keys).toBe(1);
    await fetch(base + '/products/1');
    expect(originCalls.get('/products/1')).toBe(3);
    expect((await purge({ nonsense: true })).status).toBe(400);
    const unauthenticated = await fetch(base + '/_gatecache/purge', {
      method: 'POST',
      body: '{"all":true}',
    });
    expect(unauthenticated.status).toBe(401);
  });
});

describe('Express: admin edge cases', () => {
  it('serves /metrics behind the token on the admin path, and refuses bad methods and bodies', async () => {
    gateway = await startGateway();
    const admin = gateway.base + '/_gatecache';
    expect((await fetch(admin + '/metrics')).status).toBe(401);
    const metrics = await fetch(admin + '/metrics', { headers: bearer });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE gatecache_requests_total counter');
    expect((await fetch(admin + '/purge', { headers: bearer })).status).toBe(405);
    const big = await fetch(admin + '/purge', {
      method: 'POST',
      headers: bearer,
      body: JSON.stringify({ tags: ['x'.repeat(70 * 1024)] }),
    });
    expect(big.status).toBe(413);
    expect((await fetch(admin + '/nope', { headers: bearer })).status).toBe(404);
    const page = await fetch(admin);
    expect(page.status).toBe(200);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    // The page carries no data of the cache.
    await fetch(gateway.base + '/products/1');
    expect(await (await fetch(admin)).text()).not.toContain('/products/1');
  });
});
