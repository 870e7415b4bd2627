/**
 * Hits on @hono/node-server: a fresh hit's `Response` carries its header fields as a plain record
 * where that says the same as a `Headers`, so the server writes the head without building one.
 * These tests pin what a client sees on the wire: fields from earlier middleware, HEAD, 304,
 * repeated fields, and fields added after the cache ran.
 */
import { createHttpCache, type HeaderList } from '@gatecache/core';
import { createManualClock } from '@gatecache/core/testing';
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { request as httpRequest, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { httpCache, type HonoCacheOptions } from '../src/index.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

const JSON_BODY = JSON.stringify({ items: [1, 2, 3], note: 'ünïcödé' });

/** The app: `above` mounted before the cache, then routes counting their origin calls. */
async function serve(options: { above?: MiddlewareHandler; cache?: HonoCacheOptions } = {}) {
  const calls = new Map<string, number>();
  const hit = (path: string): number => {
    const n = (calls.get(path) ?? 0) + 1;
    calls.set(path, n);
    return n;
  };
  const app = new Hono();
  if (options.above !== undefined) app.use(options.above);
  app.use(httpCache({ ttl: 60, ...options.cache }));
  app.get('/json', (c) => {
    hit('/json');
    // Set on the context: a field in the returned response would lose to earlier middleware's.
    c.header('x-frame-options', 'SAMEORIGIN');
    return c.body(JSON_BODY, 200, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'public, max-age=60',
    });
  });
  app.get('/untyped', (c) => {
    hit('/untyped');
    return c.body(new TextEncoder().encode('raw bytes'), 200, {
      'cache-control': 'public, max-age=60',
    });
  });
  const { base, close } = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  closers.push(close);
  return { base, count: (path: string) => calls.get(path) ?? 0 };
}

interface Reply {
  readonly status: number;
  /** Field names (lower-cased) and values as they came on the wire, repeated fields apart. */
  readonly fields: Array<[string, string]>;
  readonly body: string;
}

function get(url: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const fields: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          fields.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode!, fields, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const valuesOf = (reply: Reply, name: string): string[] =>
  reply.fields.filter(([field]) => field === name).map(([, value]) => value);

const field = (reply: Reply, name: string): string | undefined => {
  const values = valuesOf(reply, name);
  expect(values.length).toBeLessThanOrEqual(1);
  return values[0];
};

describe('@gatecache/hono hits on @hono/node-server', () => {
  it('answers a hit without the app, with the same body and fields as the miss', async () => {
    const t = await serve();
    const miss = await get(`${t.base}/json`);
    const hit = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(1);
    expect(hit.status).toBe(200);
    expect(hit.body).toBe(JSON_BODY);
    expect(field(hit, 'cache-status')).toMatch(/hit/);
    for (const name of ['content-type', 'cache-control', 'x-frame-options', 'etag']) {
      expect(field(hit, name)).toBe(field(miss, name));
    }
    expect(field(hit, 'content-length')).toBe(String(Buffer.byteLength(JSON_BODY)));
  });

  it('keeps fields earlier middleware set, unless the stored response has its own', async () => {
    let n = 0;
    const t = await serve({
      above: async (c, next) => {
        c.header('x-request', String(++n));
        c.header('x-frame-options', 'DENY');
        await next();
      },
    });
    await get(`${t.base}/json`);
    const hit = await get(`${t.base}/json`);
    const again = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(1);
    // Per-request fields are not stored: each hit carries its own request's value.
    expect(field(hit, 'x-request')).toBe('2');
    expect(field(again, 'x-request')).toBe('3');
    // The origin replaced the field, so the stored value wins, as one field.
    expect(valuesOf(hit, 'x-frame-options')).toEqual(['SAMEORIGIN']);
    expect(hit.body).toBe(JSON_BODY);
  });

  it('keeps fields earlier middleware set through c.res or c.header on the miss, and per request', async () => {
    let n = 0;
    const t = await serve({
      above: async (c, next) => {
        n += 1;
        c.res.headers.set('x-through-res', `r${n}`);
        c.header('x-through-header', `h${n}`);
        c.res.headers.append('set-cookie', `a=${n}`);
        c.res.headers.append('set-cookie', `b=${n}`);
        await next();
      },
    });
    const miss = await get(`${t.base}/json`);
    expect(miss.status).toBe(200);
    expect(miss.body).toBe(JSON_BODY);
    expect(field(miss, 'x-through-res')).toBe('r1');
    expect(field(miss, 'x-through-header')).toBe('h1');
    expect(valuesOf(miss, 'set-cookie')).toEqual(['a=1', 'b=1']);
    expect(field(miss, 'x-frame-options')).toBe('SAMEORIGIN');
    expect(field(miss, 'content-type')).toBe('application/json; charset=utf-8');
    const hit = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(1);
    expect(field(hit, 'cache-status')).toMatch(/hit/);
    expect(hit.body).toBe(JSON_BODY);
    // Not stored with the entry: the hit carries its own request's values.
    expect(field(hit, 'x-through-res')).toBe('r2');
    expect(field(hit, 'x-through-header')).toBe('h2');
    expect(valuesOf(hit, 'set-cookie')).toEqual(['a=2', 'b=2']);
  });

  it('keeps every Set-Cookie line from earlier middleware a separate field on a hit', async () => {
    const t = await serve({
      above: async (c, next) => {
        c.header('set-cookie', 'a=1; Path=/', { append: true });
        c.header('set-cookie', 'b=2; Path=/', { append: true });
        await next();
      },
    });
    await get(`${t.base}/json`);
    const hit = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(1);
    expect(field(hit, 'cache-status')).toMatch(/hit/);
    expect(valuesOf(hit, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(hit.body).toBe(JSON_BODY);
  });

  it('keeps a single Set-Cookie from earlier middleware on a hit', async () => {
    const t = await serve({
      above: async (c, next) => {
        c.header('set-cookie', 'only=1');
        await next();
      },
    });
    await get(`${t.base}/json`);
    const hit = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(1);
    expect(valuesOf(hit, 'set-cookie')).toEqual(['only=1']);
  });

  it('sends every value of a field the stored response repeats', async () => {
    const engine = createHttpCache({ ttl: 60 });
    const t = await serve({ cache: { cache: engine } });
    const host = new URL(t.base).host;
    const headers: HeaderList = [
      ['content-type', 'text/plain'],
      ['cache-control', 'public, max-age=60'],
      ['link', '</a.css>; rel=preload'],
      ['link', '</b.css>; rel=preload'],
    ];
    const body = new TextEncoder().encode('stored');
    // Fill the entry the way an adapter on another server would: the engine keeps both lines.
    await engine.handle({ method: 'GET', url: '/json', host, headers: { host } }, (call) => {
      call.head(200, headers, body);
      return Promise.resolve({ status: 200, headers, body, complete: true });
    });
    const hit = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(0);
    expect(hit.body).toBe('stored');
    const links = valuesOf(hit, 'link').flatMap((value) => value.split(', '));
    expect(links).toEqual(['</a.css>; rel=preload', '</b.css>; rel=preload']);
  });

  it('answers HEAD from the entry with no body', async () => {
    const t = await serve();
    const miss = await get(`${t.base}/json`);
    const head = await get(`${t.base}/json`, { method: 'HEAD' });
    expect(t.count('/json')).toBe(1);
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(field(head, 'cache-status')).toMatch(/hit/);
    expect(field(head, 'content-type')).toBe(field(miss, 'content-type'));
    expect(field(head, 'etag')).toBe(field(miss, 'etag'));
  });

  it('answers If-None-Match with a 304 from the entry', async () => {
    const t = await serve({
      above: async (c, next) => {
        c.header('x-request', 'yes');
        await next();
      },
    });
    const miss = await get(`${t.base}/json`);
    const etag = field(miss, 'etag')!;
    expect(etag).toMatch(/^"/);
    const conditional = await get(`${t.base}/json`, { headers: { 'if-none-match': etag } });
    expect(t.count('/json')).toBe(1);
    expect(conditional.status).toBe(304);
    expect(conditional.body).toBe('');
    expect(field(conditional, 'etag')).toBe(etag);
    expect(field(conditional, 'x-request')).toBe('yes');
  });

  it('a stored response without Content-Type is sent as the miss was', async () => {
    const t = await serve();
    const miss = await get(`${t.base}/untyped`);
    const hit = await get(`${t.base}/untyped`);
    expect(t.count('/untyped')).toBe(1);
    expect(field(hit, 'cache-status')).toMatch(/hit/);
    expect(hit.body).toBe('raw bytes');
    expect(field(hit, 'content-type')).toBe(field(miss, 'content-type'));
  });

  it('a cache mounted app-wide and on the route handles a request once', async () => {
    const engine = createHttpCache({ ttl: 60 });
    let calls = 0;
    const app = new Hono();
    app.use(httpCache({ cache: engine }));
    app.get('/both', httpCache({ cache: engine }), (c) => {
      calls += 1;
      return c.text('both', 200, { 'cache-control': 'public, max-age=60' });
    });
    const { base, close } = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    closers.push(close);
    const miss = await get(`${base}/both`);
    const hit = await get(`${base}/both`);
    expect(calls).toBe(1);
    // One engine call per request: a second middleware stepping in would count another.
    expect(engine.stats).toMatchObject({ hits: 1, misses: 1 });
    expect(valuesOf(miss, 'cache-status')).toHaveLength(1);
    expect(valuesOf(hit, 'cache-status')).toHaveLength(1);
    expect(field(hit, 'cache-status')).toMatch(/hit/);
    expect(hit.body).toBe('both');
  });

  it('with the app’s fetch, serves a stale entry and refreshes it in the background', async () => {
    const clock = createManualClock(Math.floor(Date.now() / 1000) * 1000);
    let calls = 0;
    const app = new Hono();
    app.use(httpCache({ clock, fetch: (request, env) => app.fetch(request, env) }));
    app.get('/swr', (c) => {
      calls += 1;
      return c.text(`v${calls}`, 200, {
        'cache-control': 'public, max-age=10, stale-while-revalidate=60',
      });
    });
    const { base, close } = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
    closers.push(close);
    expect((await get(`${base}/swr`)).body).toBe('v1');
    expect((await get(`${base}/swr`)).body).toBe('v1');
    expect(calls).toBe(1);
    clock.advance(15_000);
    const stale = await get(`${base}/swr`);
    expect(stale.body).toBe('v1');
    expect(field(stale, 'cache-status')).toMatch(/hit/);
    await vi.waitFor(() => expect(calls).toBe(2));
    await vi.waitFor(async () => expect((await get(`${base}/swr`)).body).toBe('v2'));
  });

  it('middleware mounted above the cache can still change a hit after it ran', async () => {
    const t = await serve({
      above: async (c, next) => {
        await next();
        c.res.headers.set('x-after', c.res.headers.get('cache-status') ?? 'none');
        c.header('x-frame-options', 'DENY');
      },
    });
    await get(`${t.base}/json`);
    const hit = await get(`${t.base}/json`);
    expect(t.count('/json')).toBe(1);
    expect(field(hit, 'x-after')).toMatch(/hit/);
    expect(valuesOf(hit, 'x-frame-options')).toEqual(['DENY']);
    expect(hit.body).toBe(JSON_BODY);
  });
});
