import Router from '@koa/router';
import { createManualClock } from '@gatecache/core/testing';
import Koa from 'koa';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { httpCache } from '../src/index.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

async function setup(build: (app: Koa, router: Router, hit: (name: string) => number) => void) {
  const clock = createManualClock(Math.floor(Date.now() / 1000) * 1000);
  const calls = new Map<string, number>();
  const hit = (name: string): number => {
    const n = (calls.get(name) ?? 0) + 1;
    calls.set(name, n);
    return n;
  };
  const app = new Koa();
  app.on('error', () => undefined);
  const router = new Router();
  build(app, router, hit);
  app.use(router.routes());
  const { base, close } = await listen(createServer(app.callback()));
  closers.push(close);
  return {
    get: (path: string, init?: RequestInit) => fetch(base + path, init),
    count: (name: string) => calls.get(name) ?? 0,
    clock,
  };
}

describe('@gatecache/koa', () => {
  it('an error thrown downstream reaches upstream error handling, and nothing is stored', async () => {
    const caught: string[] = [];
    const t = await setup((app, router, hit) => {
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          caught.push((error as Error).message);
          ctx.status = 502;
          ctx.body = 'handled upstream';
        }
      });
      app.use(httpCache());
      router.get('/boom', () => {
        hit('boom');
        throw new Error('boom');
      });
    });
    for (let i = 0; i < 2; i++) {
      const res = await t.get('/boom');
      expect(res.status).toBe(502);
      expect(await res.text()).toBe('handled upstream');
    }
    expect(caught).toEqual(['boom', 'boom']);
    expect(t.count('boom')).toBe(2);
  });

  it('a hit goes out through Koa, so upstream middleware sees its status, type and body', async () => {
    const seen: Array<[number, string, boolean]> = [];
    const t = await setup((app, router, hit) => {
      app.use(async (ctx, next) => {
        await next();
        seen.push([
          ctx.status,
          ctx.type,
          Buffer.isBuffer(ctx.body) || typeof ctx.body === 'string',
        ]);
        ctx.set('x-seen', 'yes');
      });
      app.use(httpCache());
      router.get('/json', (ctx) => {
        hit('json');
        ctx.set('cache-control', 'max-age=60');
        ctx.body = { ok: true };
      });
    });
    for (let i = 0; i < 2; i++) {
      const res = await t.get('/json');
      expect(await res.json()).toEqual({ ok: true });
      expect(res.headers.get('x-seen')).toBe('yes');
    }
    expect(seen[1]).toEqual([200, 'application/json', true]);
    expect(t.count('json')).toBe(1);
  });

  it('per-route use with @koa/router, sharing one engine, with ctx.status, ctx.type and a null body', async () => {
    const t = await setup((_app, router, hit) => {
      const shared = httpCache();
      router.get('/created', httpCache({ cache: shared.cache, ttl: 30 }), (ctx) => {
        hit('created');
        ctx.status = 203;
        ctx.type = 'text/csv';
        ctx.body = 'a,b\n1,2\n';
      });
      router.get('/nothing', httpCache({ cache: shared.cache, ttl: 30 }), (ctx) => {
        hit('nothing');
        ctx.body = null;
      });
    });
    for (let i = 0; i < 2; i++) {
      const res = await t.get('/created');
      expect(res.status).toBe(203);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(await res.text()).toBe('a,b\n1,2\n');
      const nothing = await t.get('/nothing');
      expect(nothing.status).toBe(204);
    }
    expect(t.count('created')).toBe(1);
    expect(t.count('nothing')).toBe(1);
  });

  it('partitionBy(ctx) keeps private responses per user', async () => {
    const t = await setup((app, router, hit) => {
      app.use(httpCache({ partitionBy: (ctx) => ctx.get('x-user') || undefined }));
      router.get('/me', (ctx) => {
        hit('me');
        ctx.set('cache-control', 'private, max-age=60');
        ctx.body = `me: ${ctx.get('x-user')}`;
      });
    });
    for (const user of ['ann', 'bo', 'ann', 'bo']) {
      const res = await t.get('/me', { headers: { 'x-user': user } });
      expect(await res.text()).toBe(`me: ${user}`);
    }
    expect(t.count('me')).toBe(2);
  });

  it('rejects a partitionBy that is not a function, naming the option', () => {
    expect(() => httpCache({ partitionBy: 'user' as never })).toThrow(/partitionBy/);
  });
});
