import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDemoBackend } from '../src/demo-backend.ts';
import type { DemoBackend } from '../src/demo-backend.ts';
import { ADAPTERS } from '../src/gateway.ts';
import { request, startGateway } from './helpers.ts';

describe.each(ADAPTERS)('gateway with the gatecache middleware on %s', (adapter) => {
  let backend: DemoBackend;
  let gw: Awaited<ReturnType<typeof startGateway>>;
  beforeEach(async () => {
    backend = await startDemoBackend({ slowMs: 200 });
    gw = await startGateway({ upstream: backend.url, adapter });
  });
  afterEach(async () => {
    await gw.close();
    await backend.close();
  });

  const calls = (route: string): number => backend.calls.get(route) ?? 0;

  it('serves the second GET /api/products from the cache', async () => {
    const first = await request(`${gw.url}/api/products`);
    const second = await request(`${gw.url}/api/products`);
    expect(first.status).toBe(200);
    expect(first.headers['cache-status']).toMatch(/miss|fwd=/);
    expect(second.status).toBe(200);
    expect(calls('GET /api/products')).toBe(1);
    expect(second.headers['cache-status']).toMatch(/hit/);
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(second.headers['x-backend-calls']).toBe('1');
    expect(second.body.equals(first.body)).toBe(true);
  });

  it('tags entries from Cache-Tag and never shows the field to clients', async () => {
    const miss = await request(`${gw.url}/api/products/3`);
    const hit = await request(`${gw.url}/api/products/3`);
    expect(hit.headers['cache-status']).toMatch(/hit/);
    expect(miss.headers['cache-tag']).toBeUndefined();
    expect(hit.headers['cache-tag']).toBeUndefined();
    // The tag reached the entry: purging it turns the next request into a miss.
    await gw.gateway.stack?.invalidation.invalidateTags(['product:3']);
    const after = await request(`${gw.url}/api/products/3`);
    expect(after.headers['cache-status']).not.toMatch(/hit/);
    expect(calls('GET /api/products/:id')).toBe(2);
  });

  it('never stores no-store or private responses', async () => {
    await request(`${gw.url}/api/time`);
    await request(`${gw.url}/api/time`);
    expect(calls('GET /api/time')).toBe(2);
    await request(`${gw.url}/api/users/1/profile`);
    await request(`${gw.url}/api/users/1/profile`);
    expect(calls('GET /api/users/:id/profile')).toBe(2);
  });

  it('keeps one variant per Accept-Language for /api/search', async () => {
    const de = { headers: { 'accept-language': 'de' } };
    const fr = { headers: { 'accept-language': 'fr' } };
    const first = await request(`${gw.url}/api/search?q=lamp`, de);
    await request(`${gw.url}/api/search?q=lamp`, fr);
    const again = await request(`${gw.url}/api/search?q=lamp`, de);
    expect(calls('GET /api/search')).toBe(2);
    expect(again.headers['cache-status']).toMatch(/hit/);
    expect(again.body.equals(first.body)).toBe(true);
  });

  it('calls the backend once for concurrent requests to a slow cold route', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => request(`${gw.url}/api/slow`)),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(calls('GET /api/slow')).toBe(1);
  });

  it('passes POST through to the backend every time', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await request(`${gw.url}/api/products`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Item ${i}` }),
      });
      expect(res.status).toBe(201);
    }
    expect(calls('POST /api/products')).toBe(2);
  });

  it('drops the cached list after a POST to it (RFC 9111 §4.4)', async () => {
    await request(`${gw.url}/api/products`);
    expect((await request(`${gw.url}/api/products`)).headers['cache-status']).toMatch(/hit/);
    await request(`${gw.url}/api/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'New' }),
    });
    const after = await request(`${gw.url}/api/products`);
    expect(after.headers['cache-status']).not.toMatch(/hit/);
    expect(calls('GET /api/products')).toBe(2);
    expect((JSON.parse(after.body.toString()) as { total: number }).total).toBe(9);
  });

  it('does not cache a 502 from an unreachable upstream', async () => {
    await backend.close();
    const first = await request(`${gw.url}/api/products/1`);
    const second = await request(`${gw.url}/api/products/1`);
    expect(first.status).toBe(502);
    expect(second.status).toBe(502);
    expect(second.headers['cache-status'] ?? '').not.toMatch(/hit/);
    // Reopened for afterEach.
    backend = await startDemoBackend();
  });
});
