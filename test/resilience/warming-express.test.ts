import { createHttpCache, type HttpCache } from '@gatecache/core';
import { createManualTimers } from '@gatecache/core/data';
import { createWarmer, trafficRecorder, type Warmer } from '@gatecache/core/warming';
import { httpCache, runThroughApp } from '@gatecache/express';
import express from 'express';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../support/http.ts';

interface Harness {
  base: string;
  host: string;
  cache: HttpCache;
  app: express.Express;
  calls: Map<string, number>;
  close: () => Promise<void>;
}

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!();
});

/** A real Express API on a loopback port with the cache mounted; the routes count their calls. */
async function harness(): Promise<Harness> {
  const app = express();
  const calls = new Map<string, number>();
  const cache = createHttpCache({ ttl: 3600 });
  const server = createServer(app);
  const { base, close } = await listen(server);
  open.push(close);
  // Routes are mounted by each test once its warmer exists (the traffic recorder feeds it).
  return { base, host: new URL(base).host, cache, app, calls, close };
}

function routes(h: Harness, before: express.RequestHandler[] = []): void {
  const count = (req: express.Request) =>
    h.calls.set(req.originalUrl, (h.calls.get(req.originalUrl) ?? 0) + 1);
  h.app.use(...before, httpCache({ cache: h.cache }));
  h.app.get('/api/config', (req, res) => {
    count(req);
    res.set('cache-control', 'public, max-age=3600').json({ theme: 'dark' });
  });
  h.app.get('/api/categories', (req, res) => {
    count(req);
    res.set('cache-control', 'public, max-age=3600').json(['books', 'music']);
  });
  h.app.get('/api/products', (req, res) => {
    count(req);
    res.set('cache-control', 'public, max-age=600').json({ page: req.query['page'] });
  });
}

const totalCalls = (h: Harness) => [...h.calls.values()].reduce((a, b) => a + b, 0);

async function get(h: Harness, path: string): Promise<{ status: number; cacheStatus: string }> {
  const res = await fetch(h.base + path);
  await res.arrayBuffer();
  return { status: res.status, cacheStatus: res.headers.get('cache-status') ?? '' };
}

function warmerFor(h: Harness, options: Partial<Parameters<typeof createWarmer>[0]>): Warmer {
  return createWarmer({
    cache: h.cache,
    host: h.host,
    run: (url) => (call) => runThroughApp(h.app, url, { host: h.host }, call),
    ...options,
  });
}

describe('warming through a real Express app', () => {
  it('warms the static paths on the cron schedule; clients then hit with zero origin calls', async () => {
    const h = await harness();
    routes(h);
    const timers = createManualTimers(Date.now());
    const warmer = warmerFor(h, {
      paths: ['/api/config', '/api/categories'],
      schedule: '0 */6 * * *',
      warmOnStart: false,
      clock: timers,
      timers,
    });
    warmer.start();
    open.push(() => warmer.stop());
    expect(totalCalls(h)).toBe(0);
    await timers.advance(timers.nextDelay()!);
    await warmer.idle();
    expect(h.calls.get('/api/config')).toBe(1);
    expect(h.calls.get('/api/categories')).toBe(1);
    for (const path of ['/api/config', '/api/categories', '/api/config']) {
      const res = await get(h, path);
      expect(res.status).toBe(200);
      expect(res.cacheStatus).toMatch(/; hit/);
    }
    expect(totalCalls(h)).toBe(2);
  });

  it('learns the most requested paths from traffic and warms them after a restart of the cache', async () => {
    const h = await harness();
    const warmer = warmerFor(h, { topK: 2 });
    routes(h, [trafficRecorder(warmer)]);
    for (let i = 0; i < 6; i++) await get(h, '/api/products?page=1');
    for (let i = 0; i < 4; i++) await get(h, '/api/categories');
    await get(h, '/api/config');
    // Requests with credentials are not counted: their answers are usually per user.
    for (let i = 0; i < 10; i++) {
      await (
        await fetch(h.base + '/api/config', { headers: { authorization: 'Bearer x' } })
      ).arrayBuffer();
    }
    expect(warmer.traffic!.top(2).map((t) => t.item)).toEqual([
      '/api/products?page=1',
      '/api/categories',
    ]);
    await h.cache.clear();
    h.calls.clear();
    const report = await warmer.warmNow();
    expect(report.stored).toBe(2);
    expect(totalCalls(h)).toBe(2);
    expect((await get(h, '/api/products?page=1')).cacheStatus).toMatch(/; hit/);
    expect((await get(h, '/api/categories')).cacheStatus).toMatch(/; hit/);
    expect(totalCalls(h)).toBe(2);
  });
});
