import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDemoBackend } from '../src/demo-backend.ts';
import type { DemoBackend } from '../src/demo-backend.ts';
import { ADAPTERS } from '../src/gateway.ts';
import { request, startGateway } from './helpers.ts';

const PURGE_TOKEN = 'purge-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const quiet = { info: () => undefined, warn: () => undefined };

describe.each(ADAPTERS)('purge and admin endpoints on %s', (adapter) => {
  let backend: DemoBackend;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  beforeEach(async () => {
    backend = await startDemoBackend();
    gw = await startGateway({
      upstream: backend.url,
      adapter,
      purgeToken: PURGE_TOKEN,
      adminToken: ADMIN_TOKEN,
      log: quiet,
    });
  });
  afterEach(async () => {
    await gw.close();
    await backend.close();
  });

  const purge = (body: unknown, token: string | null = PURGE_TOKEN) =>
    request(`${gw.url}/cache/invalidate`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== null && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify(body),
    });
  const status = async (path: string) =>
    (await request(`${gw.url}${path}`)).headers['cache-status'] ?? '';

  it('refuses a purge without the bearer token, or with the admin token', async () => {
    await request(`${gw.url}/api/products`);
    expect((await purge({ tags: ['products'] }, null)).status).toBe(401);
    expect((await purge({ tags: ['products'] }, ADMIN_TOKEN)).status).toBe(401);
    expect(await status('/api/products')).toMatch(/hit/);
  });

  it('purges by tag: the entries the backend tagged, and only those', async () => {
    await request(`${gw.url}/api/products/2`);
    await request(`${gw.url}/api/products/3`);
    expect(await status('/api/products/2')).toMatch(/hit/);
    const res = await purge({ tags: ['product:2'] });
    expect(res.status).toBe(202);
    expect(await status('/api/products/2')).not.toMatch(/hit/);
    expect(await status('/api/products/3')).toMatch(/hit/);
    // `products` is on the list and on every product.
    await request(`${gw.url}/api/products`);
    expect((await purge({ tags: ['products'] })).status).toBe(202);
    expect(await status('/api/products')).not.toMatch(/hit/);
    expect(await status('/api/products/3')).not.toMatch(/hit/);
    expect(backend.calls.get('GET /api/products/:id')).toBe(4);
  });

  it('purges by URL', async () => {
    await request(`${gw.url}/api/products`);
    await request(`${gw.url}/api/products/5`);
    const res = await purge({ urls: ['/api/products'] });
    expect(res.status).toBe(202);
    expect(await status('/api/products')).not.toMatch(/hit/);
    expect(await status('/api/products/5')).toMatch(/hit/);
    expect(backend.calls.get('GET /api/products')).toBe(2);
  });

  it('serves /metrics and the admin stats with the admin token only', async () => {
    await request(`${gw.url}/api/products`);
    await request(`${gw.url}/api/products`);
    await request(`${gw.url}/api/products`);
    expect((await request(`${gw.url}/metrics`)).status).toBe(401);
    expect((await request(`${gw.url}/_gatecache/stats`)).status).toBe(401);
    const auth = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
    const scrape = await request(`${gw.url}/metrics`, auth);
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/text\/plain/);
    const text = scrape.body.toString();
    expect(text).toMatch(/^gatecache_requests_total\{[^}]*outcome="hit"[^}]*\} 2$/m);
    expect(text).toMatch(/^gatecache_requests_total\{[^}]*outcome="miss"[^}]*\} 1$/m);
    const stats = await request(`${gw.url}/_gatecache/stats`, auth);
    expect(stats.status).toBe(200);
    expect((JSON.parse(stats.body.toString()) as { requests: { hit: number } }).requests.hit).toBe(
      2,
    );
    // The gateway's own endpoints never reach the backend.
    expect([...backend.calls.keys()]).toEqual(['GET /api/products']);
  });
});

describe('without tokens', () => {
  it.each(ADAPTERS)(
    'proxies /cache/invalidate and /metrics to the upstream on %s',
    async (adapter) => {
      const backend = await startDemoBackend();
      const gw = await startGateway({ upstream: backend.url, adapter });
      try {
        const purge = await request(`${gw.url}/cache/invalidate`, { method: 'POST', body: '{}' });
        const metrics = await request(`${gw.url}/metrics`);
        // The demo backend answers 404 for both: the gateway mounted nothing of its own.
        expect([purge.status, metrics.status]).toEqual([404, 404]);
        expect(JSON.parse(metrics.body.toString())).toEqual({
          error: 'not_found',
          path: '/metrics',
        });
      } finally {
        await gw.close();
        await backend.close();
      }
    },
  );
});
