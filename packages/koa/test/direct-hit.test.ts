/**
 * Hits answered by the app's first middleware are written on `ctx.res` directly instead of through
 * Koa's response. These tests pin that this changes nothing a client or the app can see: the same
 * bytes as Koa's path, fields set before Koa ran kept, HEAD and 304 answered as Koa would.
 */
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { httpCache } from '../src/index.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

type Wrap = (req: IncomingMessage, res: ServerResponse) => void;

interface Options {
  /** Middleware mounted above the cache. */
  readonly above?: Middleware;
  /** Runs on Node's request before Koa does (a wrapping handler). */
  readonly wrap?: Wrap;
}

/** A Koa app with the cache mounted first (unless `above`), counting origin calls per path. */
async function serve(options: Options = {}) {
  const calls = new Map<string, number>();
  const hit = (path: string): void => void calls.set(path, (calls.get(path) ?? 0) + 1);
  const app = new Koa();
  app.on('error', () => undefined);
  if (options.above !== undefined) app.use(options.above);
  const cache = httpCache({ ttl: 60 });
  app.use(cache);
  const router = new Router();
  router.get('/json', (ctx) => {
    hit('/json');
    ctx.set('cache-control', 'public, max-age=60');
    ctx.append('link', '</a.css>; rel=preload');
    ctx.append('link', '</b.css>; rel=preload');
    ctx.body = { ok: true, n: 1 };
  });
  router.get('/bytes', (ctx) => {
    hit('/bytes');
    ctx.set('cache-control', 'public, max-age=60');
    ctx.body = Buffer.from('raw bytes');
    // Stored without a type: Koa's path adds application/octet-stream on the way out.
    ctx.remove('content-type');
  });
  router.get('/moved', (ctx) => {
    hit('/moved');
    ctx.set('cache-control', 'public, max-age=60');
    ctx.status = 203;
    ctx.body = 'not quite';
  });
  app.use(router.routes());
  const handler = app.callback();
  const server = createServer((req, res) => {
    options.wrap?.(req, res);
    void handler(req, res);
  });
  const { base, close } = await listen(server);
  closers.push(async () => {
    await close();
    await cache.cache.close();
  });
  return { base, port: Number(new URL(base).port), count: (path: string) => calls.get(path) ?? 0 };
}

/** The response exactly as it came over the socket, with the clock-dependent parts masked. */
function raw(port: number, method: string, path: string, fields = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () =>
      resolve(
        text
          .replace(/^date: .*$/gim, 'date: <masked>')
          .replace(/^age: \d+/gm, 'age: <masked>')
          .replace(/ttl=\d+/g, 'ttl=<masked>'),
      ),
    );
    socket.write(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${fields}\r\n`,
    );
  });
}

/** Records how Node was asked to write the head, to tell the direct path from Koa's. */
function headWrites(): { wrap: Wrap; withFields: () => number } {
  let withFields = 0;
  return {
    wrap: (_req, res) => {
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.writeHead = (...args: unknown[]) => {
        if (args.some((arg) => Array.isArray(arg))) withFields++;
        return writeHead(...args);
      };
    },
    withFields: () => withFields,
  };
}

const noop: Middleware = (_ctx, next) => next();

describe('@gatecache/koa hits from the first middleware', () => {
  it('send the same bytes as a hit through Koa, for GET, HEAD and a matching If-None-Match', async () => {
    const heads = headWrites();
    const direct = await serve({ wrap: heads.wrap });
    // A middleware above the cache makes hits go through Koa's own response.
    const viaKoa = await serve({ above: noop });
    const requests: Array<[string, string, string?]> = [
      ['GET', '/json'],
      ['HEAD', '/json'],
      ['GET', '/json', 'If-None-Match: *\r\n'],
      ['GET', '/bytes'],
      ['HEAD', '/bytes'],
      ['GET', '/bytes', 'If-None-Match: *\r\n'],
      ['GET', '/moved'],
      ['HEAD', '/moved'],
    ];
    for (const path of ['/json', '/bytes', '/moved']) {
      await raw(direct.port, 'GET', path);
      await raw(viaKoa.port, 'GET', path);
    }
    for (const [method, path, fields] of requests) {
      const expected = await raw(viaKoa.port, method, path, fields);
      expect(
        await raw(direct.port, method, path, fields),
        `${method} ${path} ${fields ?? ''}`,
      ).toBe(expected);
    }
    for (const path of ['/json', '/bytes', '/moved']) {
      expect(direct.count(path)).toBe(1);
      expect(viaKoa.count(path)).toBe(1);
    }
    // GET, HEAD and 304 of /json, HEAD and 304 of /bytes: the rest needed Koa's path.
    expect(heads.withFields()).toBe(5);
  });

  it('a hit keeps the body, repeated fields and Content-Length; HEAD has no body; a match gets 304', async () => {
    const s = await serve();
    const miss = await fetch(s.base + '/json');
    expect(miss.headers.get('cache-status')).toMatch(/miss/);
    const body = await miss.text();

    const hit = await fetch(s.base + '/json');
    expect(hit.status).toBe(200);
    expect(await hit.text()).toBe(body);
    expect(hit.headers.get('cache-status')).toMatch(/; hit/);
    expect(hit.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(hit.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(hit.headers.get('link')).toBe('</a.css>; rel=preload, </b.css>; rel=preload');
    const etag = hit.headers.get('etag');
    expect(etag).toBeTruthy();

    const head = await fetch(s.base + '/json', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(await head.text()).toBe('');

    // Over a raw socket: fetch() adds `cache-control: no-cache` to a conditional request.
    const notModified = await raw(s.port, 'GET', '/json', `If-None-Match: ${etag}\r\n`);
    expect(notModified).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(notModified).toContain(`etag: ${etag}\r\n`);
    expect(notModified).not.toMatch(/content-(type|length)/i);
    expect(notModified.endsWith('\r\n\r\n')).toBe(true);

    const other = await raw(s.port, 'GET', '/json', 'If-None-Match: "other"\r\n');
    expect(other).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(other.endsWith(`\r\n\r\n${body}`)).toBe(true);
    expect(s.count('/json')).toBe(1);
  });

  it('keeps fields set on the response before Koa ran, unless the cached response has them', async () => {
    const s = await serve({
      wrap: (_req, res) => {
        res.setHeader('x-request-id', 'r-1');
        res.setHeader('cache-control', 'no-store');
      },
    });
    await fetch(s.base + '/json');
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(s.base + '/json', { method });
      expect(res.headers.get('cache-status')).toMatch(/; hit/);
      expect(res.headers.get('x-request-id')).toBe('r-1');
      expect(res.headers.get('cache-control')).toBe('public, max-age=60');
      expect(res.headers.get('link')).toBe('</a.css>; rel=preload, </b.css>; rel=preload');
    }
    expect(s.count('/json')).toBe(1);
  });

  it('a middleware above the cache still sees the hit and sets fields after it', async () => {
    const seen: Array<[number, string, boolean]> = [];
    const s = await serve({
      // Sets nothing before the cache runs, so only its position tells it is there.
      above: async (ctx, next) => {
        await next();
        seen.push([ctx.status, ctx.type, Buffer.isBuffer(ctx.body)]);
        ctx.set('x-after', 'yes');
      },
    });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(s.base + '/json');
      expect(await res.json()).toEqual({ ok: true, n: 1 });
      expect(res.headers.get('x-after')).toBe('yes');
    }
    expect(seen[1]).toEqual([200, 'application/json', true]);
    expect(s.count('/json')).toBe(1);
  });
});

describe('@gatecache/koa status lines', () => {
  it('a 304 the engine answers on a miss carries its own reason phrase, not Koa’s "OK"', async () => {
    const { port, count } = await serve();
    const text = await raw(port, 'GET', '/json', 'If-None-Match: *\r\n');
    expect(count('/json')).toBe(1);
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 304 Not Modified');
  });
});
