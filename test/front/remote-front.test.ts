/**
 * `front(app, { remote: true })` with a store in a real redis-server (no memory tier): fresh hits
 * are answered from Redis before the framework runs, and everything else goes to the app with the
 * lookup already made, so the store is read once per request, not twice.
 */
import { getRequestListener } from '@hono/node-server';
import {
  createHttpCache,
  createMemoryStore,
  createTieredStore,
  type HeaderList,
  type HttpCache,
  type Origin,
} from '@gatecache/core';
import { httpCache as expressCache } from '@gatecache/express';
import { httpCache as honoCache } from '@gatecache/hono';
import { httpCache as koaCache } from '@gatecache/koa';
import { createRedisStore } from '@gatecache/redis';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rawGet } from '../../packages/express/test/harness.ts';
import { listen } from '../support/http.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});
beforeEach(async () => {
  await redis.cli('FLUSHALL');
});

/** GET commands Redis has run since the last call. */
async function redisGets(): Promise<number> {
  const info = await redis.cli('INFO', 'commandstats');
  await redis.cli('CONFIG', 'RESETSTAT');
  return Number(/cmdstat_get:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

interface Counts {
  /** Requests that reached the framework (its first middleware). */
  reached: number;
  /** Origin handler calls. */
  calls: number;
}

/** The origin: `/items` (shared), `/lang` (varies by Accept-Language), `/me` (per user). */
function answer(path: string, lang: string | undefined, user: string | undefined, n: number) {
  if (path === '/lang') {
    return { body: `lang=${lang ?? 'none'} n=${n}`, vary: 'Accept-Language' };
  }
  if (path === '/me') return { body: `user=${user ?? 'none'} n=${n}`, vary: undefined };
  return { body: `items n=${n}`, vary: undefined };
}

interface Mounted {
  readonly listener: RequestListener;
  readonly engine: HttpCache;
}

type Frameworks = Record<string, (engine: HttpCache, counts: Counts) => Mounted>;

const partitionBy = (req: { headers: Record<string, unknown> }) => {
  const user = req.headers['x-user'];
  return typeof user === 'string' ? user : undefined;
};

const frameworks: Frameworks = {
  Express: (engine, counts) => {
    const cache = expressCache({ cache: engine, partitionBy });
    const app = express();
    app.use((_req, _res, next) => {
      counts.reached++;
      next();
    });
    app.use(cache);
    app.get(/.*/, (req, res) => {
      const out = answer(req.path, req.get('accept-language'), req.get('x-user'), ++counts.calls);
      res.set('Cache-Control', req.path === '/me' ? 'private, max-age=60' : 'max-age=60');
      if (out.vary !== undefined) res.set('Vary', out.vary);
      res.send(out.body);
    });
    return { listener: cache.front(app, { remote: true }), engine };
  },
  Koa: (engine, counts) => {
    // `ctx.headers` and Node's request both hold the fields: one function serves both sides.
    const cache = koaCache({ cache: engine, partitionBy: (ctx) => partitionBy(ctx) });
    const app = new Koa();
    app.use(async (_ctx, next) => {
      counts.reached++;
      await next();
    });
    app.use(cache);
    app.use((ctx) => {
      const out = answer(
        ctx.path,
        ctx.get('accept-language') || undefined,
        ctx.get('x-user') || undefined,
        ++counts.calls,
      );
      ctx.set('Cache-Control', ctx.path === '/me' ? 'private, max-age=60' : 'max-age=60');
      if (out.vary !== undefined) ctx.set('Vary', out.vary);
      ctx.body = out.body;
    });
    return { listener: cache.front(app, { remote: true }), engine };
  },
  Hono: (engine, counts) => {
    // The middleware passes Hono's context, the front Node's plain request.
    const cache = honoCache({
      cache: engine,
      partitionBy: (c) =>
        typeof c.req?.header === 'function'
          ? c.req.header('x-user')
          : partitionBy(c as unknown as IncomingMessage),
    });
    const app = new Hono();
    app.use('*', async (_c, next) => {
      counts.reached++;
      await next();
    });
    app.use('*', cache);
    app.get('*', (c) => {
      const out = answer(
        c.req.path,
        c.req.header('accept-language'),
        c.req.header('x-user'),
        ++counts.calls,
      );
      const headers: Record<string, string> = {
        'Cache-Control': c.req.path === '/me' ? 'private, max-age=60' : 'max-age=60',
      };
      if (out.vary !== undefined) headers['Vary'] = out.vary;
      return c.text(out.body, 200, headers);
    });
    return { listener: cache.front(getRequestListener(app.fetch), { remote: true }), engine };
  },
};

async function start(name: string) {
  const counts: Counts = { reached: 0, calls: 0 };
  const engine = createHttpCache({
    store: createRedisStore({ url: redis.url, keyPrefix: `t:${name}:` }),
  });
  const { listener } = frameworks[name]!(engine, counts);
  const { base, close } = await listen(createServer(listener));
  closers.push(async () => {
    await close();
    await engine.close();
  });
  await redisGets();
  return { base, counts, engine };
}

describe.each(Object.keys(frameworks))('%s: front with remote: true over Redis alone', (name) => {
  it('a Redis hit is answered before the framework; a miss reads Redis once', async () => {
    const s = await start(name);
    const miss = await rawGet(s.base + '/items');
    expect(await miss.text()).toBe('items n=1');
    expect(miss.headers.get('cache-status')).toMatch(/fwd=uri-miss; stored/);
    // The front's lookup, handed to the middleware: one GET, not two.
    expect(await redisGets()).toBe(1);
    expect(s.counts).toEqual({ reached: 1, calls: 1 });

    const hit = await rawGet(s.base + '/items');
    expect(await hit.text()).toBe('items n=1');
    expect(hit.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    expect(hit.headers.get('age')).toBe('0');
    expect(await redisGets()).toBe(1);
    // Neither the framework nor the origin saw the hit.
    expect(s.counts).toEqual({ reached: 1, calls: 1 });
  });

  it('variants and per-user entries: each request gets its own body, never another one', async () => {
    const s = await start(name);
    const lang = async (value: string) =>
      (await rawGet(s.base + '/lang', { 'accept-language': value })).text();
    expect(await lang('fr')).toBe('lang=fr n=1');
    expect(await lang('de')).toBe('lang=de n=2');
    expect(await lang('fr')).toBe('lang=fr n=1');
    expect(await lang('de')).toBe('lang=de n=2');
    const me = async (user: string) => (await rawGet(s.base + '/me', { 'x-user': user })).text();
    expect(await me('alice')).toBe('user=alice n=3');
    expect(await me('bob')).toBe('user=bob n=4');
    expect(await me('alice')).toBe('user=alice n=3');
    expect(await me('bob')).toBe('user=bob n=4');
    expect(s.counts.calls).toBe(4);
    // Only the first request of each variant and each user reached the framework.
    expect(s.counts.reached).toBe(4);
  });

  it('client directives and stale entries still take the full path', async () => {
    const s = await start(name);
    await rawGet(s.base + '/items');
    const revalidated = await rawGet(s.base + '/items', { 'cache-control': 'no-cache' });
    expect(await revalidated.text()).toBe('items n=2');
    expect(s.counts).toEqual({ reached: 2, calls: 2 });
    const conditional = await rawGet(s.base + '/items', { 'if-none-match': '*' });
    expect(conditional.status).toBe(304);
  });

  it('with Redis stopped every request still gets its answer from the app', async () => {
    const s = await start(name);
    expect(await (await rawGet(s.base + '/items')).text()).toBe('items n=1');
    await redis.stop();
    try {
      for (let i = 2; i <= 4; i++) {
        const res = await rawGet(s.base + '/items');
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(`items n=${i}`);
      }
    } finally {
      await redis.start();
    }
  });
});

describe('serve and a lookahead lookup', () => {
  it('a lookup is taken once, by its own engine, for the same keys, while recent', async () => {
    const store = createRedisStore({ url: redis.url, keyPrefix: 'prior:' });
    const engine = createHttpCache({ store });
    const other = createHttpCache({
      store: createRedisStore({ url: redis.url, keyPrefix: 'prior:' }),
    });
    closers.push(async () => {
      await engine.close();
      await other.close();
    });
    const request = (url: string, user?: string) => ({
      method: 'GET',
      url,
      host: 'api.example',
      headers: { host: 'api.example' },
      partition: user,
    });
    let calls = 0;
    const origin: Origin = async (call) => {
      calls++;
      const body = new TextEncoder().encode(`n=${calls}`);
      const headers: HeaderList = [['cache-control', 'public, max-age=60']];
      const action = call.head(200, headers, body);
      await Promise.resolve();
      return { status: 200, headers, body: action.capture ? body : undefined, complete: true };
    };
    const prior = async (url: string, user?: string) => {
      const found = await engine.lookahead(request(url, user));
      expect(found?.plan).toBeUndefined();
      return found!.prior!;
    };
    await redisGets();

    // Its own engine, same keys: no second read.
    const first = await prior('/a');
    expect(await redisGets()).toBe(1);
    await engine.serve(request('/a'), origin, undefined, undefined, first);
    expect(await redisGets()).toBe(0);
    // Taken once: a second serve with it reads the store.
    await engine.serve(request('/b'), origin, undefined, undefined, first);
    expect(await redisGets()).toBe(1);

    // Another engine, another user, a stale lookup: each reads the store again.
    const foreign = await prior('/c');
    await redisGets();
    await other.serve(request('/c'), origin, undefined, undefined, foreign);
    expect(await redisGets()).toBe(1);
    const shared = await prior('/d');
    await redisGets();
    await engine.serve(request('/d', 'alice'), origin, undefined, undefined, shared);
    expect(await redisGets()).toBeGreaterThanOrEqual(2);
    const old = await prior('/e');
    await new Promise((resolve) => setTimeout(resolve, 80));
    await redisGets();
    await engine.serve(request('/e'), origin, undefined, undefined, old);
    expect(await redisGets()).toBe(1);

    // A fresh hit comes back as a plan, and no prior.
    const hit = await engine.lookahead(request('/a'));
    expect(hit?.plan?.status).toBe(200);
    expect(hit?.prior).toBeUndefined();
    expect(Buffer.from(hit!.plan!.body!).toString()).toBe('n=1');
  });
});

describe('front with remote: true over memory in front of Redis', () => {
  it('a second instance answers the first one’s entry from Redis before its framework runs', async () => {
    let calls = 0;
    const instance = async () => {
      const counts = { reached: 0 };
      const cache = expressCache({
        store: createTieredStore({
          l1: createMemoryStore(),
          l2: createRedisStore({ url: redis.url, keyPrefix: 'tiered:' }),
        }),
      });
      const app = express();
      app.use((_req, _res, next) => {
        counts.reached++;
        next();
      });
      app.use(cache);
      app.get('/items', (_req, res) => {
        calls++;
        res.set('Cache-Control', 'max-age=60').send(`items n=${calls}`);
      });
      const { base, close } = await listen(createServer(cache.front(app, { remote: true })));
      closers.push(async () => {
        await close();
        await cache.cache.close();
      });
      return { base, counts };
    };
    const a = await instance();
    const b = await instance();
    // One Host for both, as behind a load balancer: the key includes it.
    const get = (base: string) => rawGet(base + '/items', { host: 'api.example' });
    expect(await (await get(a.base)).text()).toBe('items n=1');
    const local = await get(a.base);
    expect(await local.text()).toBe('items n=1');
    expect(local.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    // The write to Redis may land just after the response.
    for (let i = 0; i < 50 && (await redis.cli('KEYS', 'tiered:*')).trim() === ''; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await redisGets();
    // B's memory tier is empty: its front reads Redis, answers, and fills its memory tier.
    const shared = await get(b.base);
    expect(await shared.text()).toBe('items n=1');
    expect(shared.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    expect(await redisGets()).toBe(1);
    expect(await (await get(b.base)).text()).toBe('items n=1');
    expect(await redisGets()).toBe(0);
    expect(calls).toBe(1);
    expect(a.counts.reached).toBe(1);
    expect(b.counts.reached).toBe(0);
  });
});

describe('front with remote: true and a cache on some routes only', () => {
  it('uncached routes still reach the app every time; HEAD is answered from the GET entry', async () => {
    const engine = createHttpCache({
      store: createRedisStore({ url: redis.url, keyPrefix: 'routes:' }),
    });
    const cache = expressCache({ cache: engine });
    const app = express();
    let cachedCalls = 0;
    let openCalls = 0;
    app.get('/cached', cache, (_req, res) => {
      cachedCalls++;
      res.set('Cache-Control', 'max-age=60').send(`cached n=${cachedCalls}`);
    });
    app.get('/open', (_req, res) => {
      openCalls++;
      // Storable, but no cache middleware on this route: nothing may store or answer it.
      res.set('Cache-Control', 'max-age=60').send(`open n=${openCalls}`);
    });
    const { base, close } = await listen(createServer(cache.front(app, { remote: true })));
    closers.push(async () => {
      await close();
      await engine.close();
    });
    expect(await (await rawGet(base + '/open')).text()).toBe('open n=1');
    expect(await (await rawGet(base + '/open')).text()).toBe('open n=2');
    expect(openCalls).toBe(2);
    expect(await (await rawGet(base + '/cached')).text()).toBe('cached n=1');
    const head = await rawGet(base + '/cached', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    expect(await head.text()).toBe('');
    expect(await (await rawGet(base + '/cached')).text()).toBe('cached n=1');
    expect(cachedCalls).toBe(1);
  });
});
