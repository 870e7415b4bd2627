import { getRequestListener } from '@hono/node-server';
import { httpCache as honoCache } from '@gatecache/hono';
import { httpCache as koaCache } from '@gatecache/koa';
import { Hono } from 'hono';
import Koa from 'koa';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { rawGet } from '../../packages/express/test/harness.ts';
import { listen } from '../support/http.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

describe('front: fresh hits answered before the framework runs', () => {
  it('Koa: the hit never reaches Koa', async () => {
    const cache = koaCache();
    const app = new Koa();
    let reached = 0;
    let calls = 0;
    app.use(async (_ctx, next) => {
      reached++;
      await next();
    });
    app.use(cache);
    app.use((ctx) => {
      calls++;
      ctx.set('Cache-Control', 'max-age=60');
      ctx.body = { n: calls };
    });
    const { base, close } = await listen(createServer(cache.front(app)));
    closers.push(close);
    expect(await (await rawGet(base + '/k')).json()).toEqual({ n: 1 });
    const hit = await rawGet(base + '/k');
    expect(await hit.json()).toEqual({ n: 1 });
    expect(hit.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    expect(reached).toBe(1);
    expect(calls).toBe(1);
  });

  it('Hono on Node: the hit never reaches Hono', async () => {
    const cache = honoCache();
    const app = new Hono();
    let reached = 0;
    let calls = 0;
    app.use('*', async (_c, next) => {
      reached++;
      await next();
    });
    app.use('*', cache);
    app.get('/h', (c) => {
      calls++;
      return c.text(`n=${calls}`, 200, { 'Cache-Control': 'max-age=60' });
    });
    const { base, close } = await listen(createServer(cache.front(getRequestListener(app.fetch))));
    closers.push(close);
    expect(await (await rawGet(base + '/h')).text()).toBe('n=1');
    const hit = await rawGet(base + '/h');
    expect(await hit.text()).toBe('n=1');
    expect(hit.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    expect(reached).toBe(1);
    expect(calls).toBe(1);
  });
});
