/**
 * The request fields the engine keys on, read from Node's raw list while @hono/node-server's
 * request is untouched, and through `Headers` otherwise. Both ways must give the same record, and
 * a field an earlier middleware changed must be the one the cache sees.
 */
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { once } from 'node:events';
import { request as httpRequest, type Server } from 'node:http';
import { connect, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { httpCache } from '../src/index.ts';
import { recordFromRaw, requestHeaderRecord } from '../src/request-headers.ts';

/** What iterating a `Headers` built from the same raw list gives, as a record. */
function viaHeaders(raw: readonly string[]): Record<string, string> {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) {
    if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!);
  }
  return Object.fromEntries(headers);
}

describe('recordFromRaw', () => {
  const lists: string[][] = [
    ['Host', 'example.test', 'Accept', 'application/json'],
    ['Accept-Language', 'en', 'accept-language', 'de', 'X-Trace', 'a'],
    ['Cookie', 'a=1', 'COOKIE', 'b=2', 'Host', 'h'],
    [':authority', 'h', ':path', '/x', 'accept', '*/*'],
    ['constructor', 'c', 'toString', 't', 'Empty', ''],
    [],
  ];

  it.each(lists)('gives what Headers gives for %j', (...raw) => {
    expect(recordFromRaw(raw)).toEqual(viaHeaders(raw));
  });

  it('leaves to Headers what it would refuse or reshape', () => {
    expect(recordFromRaw(['bad name', 'x'])).toBeUndefined();
    expect(recordFromRaw(['x-a', 'line\r\nbreak'])).toBeUndefined();
    expect(recordFromRaw(['x-a', 'nul\0'])).toBeUndefined();
    expect(recordFromRaw(['x-a', ' padded '])).toBeUndefined();
    expect(recordFromRaw(['__proto__', 'x'])).toBeUndefined();
    expect(recordFromRaw(['x-a'])).toBeUndefined();
  });
});

describe('requestHeaderRecord', () => {
  it('reads a standard Request through its Headers', () => {
    const request = new Request('http://h/x', {
      headers: [
        ['X-A', '1'],
        ['x-a', '2'],
      ],
    });
    expect(requestHeaderRecord(request)).toEqual({ 'x-a': '1, 2' });
  });
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A route varying on Accept-Language, behind the cache, with `above` mounted first. */
async function serve(above?: MiddlewareHandler) {
  let calls = 0;
  const app = new Hono();
  if (above !== undefined) app.use(above);
  app.use(httpCache({ ttl: 60 }));
  app.get('/greeting', (c) => {
    calls++;
    const language = c.req.header('accept-language') ?? 'none';
    return c.text(`hello in ${language}`, 200, {
      'cache-control': 'public, max-age=60',
      vary: 'Accept-Language',
    });
  });
  const { base, close } = await listen(createAdaptorServer({ fetch: app.fetch }) as Server);
  closers.push(close);
  return { base, calls: () => calls };
}

/** A GET sending `raw` as the header section, names and repeats exactly as given. */
function get(url: string, raw: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Given as a raw list, the fields are sent as they are: Node adds no Host of its own.
    const req = httpRequest(url, { headers: ['Host', new URL(url).host, ...raw] }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('@gatecache/hono request fields on @hono/node-server', () => {
  it('keys a repeated field the same whether or not earlier middleware read the fields', async () => {
    let readFields = false;
    const { base, calls } = await serve(async (c, next) => {
      // Listing the fields makes the server build its Headers: the standard path.
      if (readFields) expect([...c.req.raw.headers].length).toBeGreaterThan(0);
      await next();
    });
    const repeated = ['Accept-Language', 'en', 'Accept-Language', 'de'];
    const first = await get(`${base}/greeting`, repeated);
    expect(first.body).toBe('hello in en, de');
    readFields = true;
    const second = await get(`${base}/greeting`, repeated);
    expect(second.body).toBe('hello in en, de');
    expect(calls()).toBe(1);
    // And the other way round: stored through Headers, found from the raw list.
    const third = await get(`${base}/greeting`, ['accept-language', 'fr']);
    readFields = false;
    const fourth = await get(`${base}/greeting`, ['Accept-Language', 'fr']);
    expect([third.body, fourth.body]).toEqual(['hello in fr', 'hello in fr']);
    expect(calls()).toBe(2);
  });

  it('sees a field an earlier middleware changed, not the one the client sent', async () => {
    let rewrite = true;
    const { base, calls } = await serve(async (c, next) => {
      // Nothing read before: the change itself is the first touch of the request's fields.
      if (rewrite) c.req.raw.headers.set('accept-language', 'de');
      await next();
    });
    const rewritten = await get(`${base}/greeting`, ['Accept-Language', 'en']);
    expect(rewritten.body).toBe('hello in de');
    rewrite = false;
    // Stored as the "de" variant: a client asking for "en" must not get it.
    const english = await get(`${base}/greeting`, ['Accept-Language', 'en']);
    expect(english.body).toBe('hello in en');
    expect(calls()).toBe(2);
    const german = await get(`${base}/greeting`, ['Accept-Language', 'de']);
    expect(german.body).toBe('hello in de');
    expect(calls()).toBe(2);
  });
  it('answers a hit without making the server build its Headers', async () => {
    let seen: Request | undefined;
    const { base, calls } = await serve(async (c, next) => {
      seen = c.req.raw;
      await next();
    });
    const symbolsBefore = () => Object.getOwnPropertySymbols(seen!).length;
    await get(`${base}/greeting`, ['Accept-Language', 'en']);
    const hit = await get(`${base}/greeting`, ['Accept-Language', 'en']);
    expect(hit.body).toBe('hello in en');
    expect(calls()).toBe(1);
    // A request whose fields were read holds the Headers built for it as one more property.
    const untouched = symbolsBefore();
    void seen!.headers;
    expect(symbolsBefore()).toBe(untouched + 1);
  });

  it('keys right a request whose Fetch request an earlier middleware had built', async () => {
    const { base, calls } = await serve(async (c, next) => {
      // Building the Fetch request (its signal, its body) goes through the request's fields.
      void c.req.raw.signal;
      if (c.req.raw.method === 'GET') void c.req.raw.cache;
      await next();
    });
    const english = await get(`${base}/greeting`, ['Accept-Language', 'en']);
    const german = await get(`${base}/greeting`, ['Accept-Language', 'de']);
    const again = await get(`${base}/greeting`, ['Accept-Language', 'de']);
    expect([english.body, german.body, again.body]).toEqual([
      'hello in en',
      'hello in de',
      'hello in de',
    ]);
    expect(calls()).toBe(2);
  });
});

describe('@gatecache/hono request fields over HTTP/2 on @hono/node-server', () => {
  it('keys on the fields without the pseudo-fields, and hits', async () => {
    let calls = 0;
    const app = new Hono();
    app.use(httpCache({ ttl: 60 }));
    app.get('/greeting', (c) => {
      calls++;
      return c.text(`hello in ${c.req.header('accept-language') ?? 'none'}`, 200, {
        'cache-control': 'public, max-age=60',
        vary: 'Accept-Language',
      });
    });
    const server = createAdaptorServer({ fetch: app.fetch, createServer: createHttp2Server });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client = connect(`http://127.0.0.1:${port}`);
    closers.push(async () => {
      client.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const get = (language: string) =>
      new Promise<{ body: string; cacheStatus: string }>((resolve, reject) => {
        const stream = client.request({ ':path': '/greeting', 'accept-language': language });
        let body = '';
        let cacheStatus = '';
        stream.setEncoding('utf8');
        stream.on('response', (headers) => (cacheStatus = String(headers['cache-status'] ?? '')));
        stream.on('data', (chunk: string) => (body += chunk));
        stream.on('end', () => resolve({ body, cacheStatus }));
        stream.on('error', reject);
        stream.end();
      });

    expect((await get('en')).body).toBe('hello in en');
    const again = await get('en');
    expect(again.body).toBe('hello in en');
    expect(again.cacheStatus).toMatch(/; hit/);
    expect((await get('de')).body).toBe('hello in de');
    expect(calls).toBe(2);
  });
});
