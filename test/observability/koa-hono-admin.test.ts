import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createMetrics } from '@gatecache/core/metrics';
import { honoAdmin, honoMetrics, httpCache as honoCache } from '@gatecache/hono';
import { httpCache as koaCache, koaAdmin, koaMetrics } from '@gatecache/koa';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../support/http.ts';
import { ADMIN_TOKEN, bearer, sample } from './gateway.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

interface Stats {
  hitRatio: number;
  requests: { hit: number; miss: number };
  routes: Array<{ route: string; requests: number }>;
}

/** Three requests for one URL, then the admin and metrics endpoints as a client sees them. */
async function exercise(base: string): Promise<void> {
  for (let i = 0; i < 3; i++) expect((await fetch(`${base}/items/7`)).status).toBe(200);
  expect((await fetch(`${base}/_gatecache/stats`)).status).toBe(401);
  expect(
    (await fetch(`${base}/_gatecache/stats`, { headers: { cookie: `token=${ADMIN_TOKEN}` } }))
      .status,
  ).toBe(401);
  const stats = (await (
    await fetch(`${base}/_gatecache/stats`, { headers: bearer })
  ).json()) as Stats;
  expect(stats.requests).toMatchObject({ hit: 2, miss: 1 });
  expect(stats.hitRatio).toBeCloseTo(2 / 3, 5);
  const text = await (await fetch(`${base}/metrics`)).text();
  expect(sample(text, 'gatecache_requests_total{route="default",outcome="hit"}')).toBe(2);
  expect(sample(text, 'gatecache_requests_total{route="default",outcome="miss"}')).toBe(1);
  const page = await fetch(`${base}/_gatecache/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'nonce-");
  expect(await page.text()).toContain('id="chart-hit"');
  const purge = await fetch(`${base}/_gatecache/purge`, {
    method: 'POST',
    headers: bearer,
    body: JSON.stringify({ urls: ['/items/7'] }),
  });
  expect(purge.status).toBe(200);
}

describe('admin and /metrics on Koa and Hono', () => {
  it('Koa', async () => {
    const metrics = createMetrics();
    const cache = koaCache({ ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache.cache);
    let calls = 0;
    const app = new Koa();
    app.use(koaMetrics({ metrics }));
    app.use(koaAdmin({ cache: cache.cache, metrics, token: ADMIN_TOKEN }));
    app.use(cache);
    app.use((ctx) => {
      calls++;
      ctx.body = { item: ctx.path };
    });
    const { base, close } = await listen(createServer(app.callback()));
    closers.push(close);
    await exercise(base);
    await fetch(`${base}/items/7`);
    expect(calls).toBe(2);
  });

  it('Hono', async () => {
    const metrics = createMetrics();
    const cache = honoCache({ ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache.cache);
    let calls = 0;
    const app = new Hono();
    app.use(honoMetrics({ metrics }));
    app.use(honoAdmin({ cache: cache.cache, metrics, token: ADMIN_TOKEN }));
    app.use(cache);
    app.get('/items/:id', (c) => {
      calls++;
      return c.json({ item: c.req.param('id') });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    if (!server.listening) await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    await exercise(`http://127.0.0.1:${port}`);
    await fetch(`http://127.0.0.1:${port}/items/7`);
    expect(calls).toBe(2);
  });
});
