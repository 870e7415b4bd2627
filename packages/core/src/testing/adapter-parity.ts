/**
 * One list of scenarios run against every adapter (Express, Koa, Hono) on real sockets: a
 * difference between adapters is an adapter bug. Each adapter supplies a factory that builds a
 * framework-neutral `ParityApp` with its own framework.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpCacheOptions } from '../engine.ts';
import type { ManualClock } from './manual-clock.ts';
import { createManualClock } from './manual-clock.ts';
import { send } from './parity-client.ts';
import type {
  ParityAdapter,
  ParityApp,
  ParityReply,
  ParityRequest,
  ParityRoute,
  ParityServer,
} from './parity-app.ts';

export type {
  ParityAdapter,
  ParityApp,
  ParityBody,
  ParityReply,
  ParityRequest,
  ParityRoute,
  ParityRouting,
  ParityServer,
} from './parity-app.ts';

const encoder = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Origin calls per route, the proof of a hit. */
class Counter {
  readonly #counts = new Map<string, number>();
  bump(name: string): number {
    const n = (this.#counts.get(name) ?? 0) + 1;
    this.#counts.set(name, n);
    return n;
  }
  of(name: string): number {
    return this.#counts.get(name) ?? 0;
  }
}

interface Running {
  readonly server: ParityServer;
  readonly clock: ManualClock;
  readonly calls: Counter;
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Response>;
}

/** Body bytes, or the error the body failed with. */
async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

async function textOf(response: Response): Promise<string> {
  return new TextDecoder().decode(await bytesOf(response));
}

function patternBytes(length: number, seed = 7): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

const TEXT = ['content-type', 'text/plain; charset=utf-8'] as const;
const CACHE_60 = ['cache-control', 'max-age=60'] as const;

function text(body: string, ...headers: ReadonlyArray<readonly [string, string]>): ParityReply {
  return { status: 200, headers: [TEXT, ...headers], body: { kind: 'text', text: body } };
}

/**
 * Runs every parity scenario against one adapter. `name` labels the suite (`express`, `koa`,
 * `hono`); `adapter.serve` builds a `ParityApp` with that framework on a loopback port.
 */
export function runAdapterParity(name: string, adapter: ParityAdapter): void {
  const open: ParityServer[] = [];
  afterEach(async () => {
    while (open.length > 0) await open.pop()!.close();
  });

  async function start(
    routes: (calls: Counter) => ParityRoute[],
    app: Partial<Omit<ParityApp, 'routes' | 'options'>> & { options?: HttpCacheOptions } = {},
  ): Promise<Running> {
    const clock = createManualClock(Math.floor(Date.now() / 1000) * 1000);
    const calls = new Counter();
    const server = await adapter.serve({
      mount: 'app',
      ...app,
      options: { clock, ...app.options },
      routes: routes(calls),
    });
    open.push(server);
    return {
      server,
      clock,
      calls,
      get: (path, headers = {}, method = 'GET') => send(server.url + path, { method, headers }),
    };
  }

  const get = (
    path: string,
    handle: (request: ParityRequest) => ParityReply | Promise<ParityReply>,
  ): ParityRoute => ({
    method: 'GET',
    path,
    handle,
  });

  describe(`adapter parity: ${name}`, () => {
    it('a miss then a hit: one origin call, Age and Cache-Status on both', async () => {
      const t = await start((calls) => [
        get('/hello', () => text(`hello ${calls.bump('hello')}`, CACHE_60)),
      ]);
      const first = await t.get('/hello');
      expect(first.status).toBe(200);
      expect(await first.text()).toBe('hello 1');
      expect(first.headers.get('cache-status')).toMatch(/^gatecache; fwd=uri-miss; stored/);
      t.clock.advance(5_000);
      const second = await t.get('/hello');
      expect(await second.text()).toBe('hello 1');
      expect(second.headers.get('cache-status')).toMatch(/^gatecache; hit; ttl=55/);
      expect(second.headers.get('age')).toBe('5');
      expect(second.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(t.calls.of('hello')).toBe(1);
      t.clock.advance(60_000);
      const expired = await t.get('/hello');
      expect(await expired.text()).toBe('hello 2');
      expect(t.calls.of('hello')).toBe(2);
    });

    it('Vary: Accept-Language keeps one variant per language', async () => {
      const t = await start((calls) => [
        get('/greet', (req) => {
          calls.bump('greet');
          const lang = req.headers['accept-language'] ?? 'none';
          return text(`greeting in ${lang}`, CACHE_60, ['vary', 'Accept-Language']);
        }),
      ]);
      expect(await (await t.get('/greet', { 'accept-language': 'en' })).text()).toBe(
        'greeting in en',
      );
      expect(await (await t.get('/greet', { 'accept-language': 'fr' })).text()).toBe(
        'greeting in fr',
      );
      expect(t.calls.of('greet')).toBe(2);
      const en = await t.get('/greet', { 'accept-language': 'en' });
      expect(await en.text()).toBe('greeting in en');
      expect(en.headers.get('cache-status')).toMatch(/hit/);
      expect(en.headers.get('vary')).toBe('Accept-Language');
      expect(await (await t.get('/greet', { 'accept-language': 'fr' })).text()).toBe(
        'greeting in fr',
      );
      expect(t.calls.of('greet')).toBe(2);
    });

    it('Vary: Accept-Encoding keeps one variant per encoding', async () => {
      const t = await start((calls) => [
        get('/enc', (req) => {
          calls.bump('enc');
          const enc = req.headers['accept-encoding'] ?? 'none';
          return text(`encoded for ${enc}`, CACHE_60, ['vary', 'Accept-Encoding']);
        }),
      ]);
      const gzip = { 'accept-encoding': 'gzip' };
      const br = { 'accept-encoding': 'br' };
      expect(await (await t.get('/enc', gzip)).text()).toBe('encoded for gzip');
      expect(await (await t.get('/enc', br)).text()).toBe('encoded for br');
      expect(await (await t.get('/enc', gzip)).text()).toBe('encoded for gzip');
      expect(await (await t.get('/enc', br)).text()).toBe('encoded for br');
      expect(t.calls.of('enc')).toBe(2);
    });

    it('If-None-Match: 304 for a match, a list, a weak tag and *; 200 otherwise', async () => {
      const t = await start((calls) => [
        get('/tagged', () => text(`tagged ${calls.bump('tagged')}`, CACHE_60, ['etag', '"v1"'])),
      ]);
      const first = await t.get('/tagged');
      expect(first.headers.get('etag')).toBe('"v1"');
      await first.arrayBuffer();
      for (const inm of ['"v1"', '"x", "v1"', 'W/"v1"', '*']) {
        const res = await t.get('/tagged', { 'if-none-match': inm });
        expect(res.status, `If-None-Match: ${inm}`).toBe(304);
        expect(res.headers.get('etag')).toBe('"v1"');
        expect(res.headers.get('cache-status')).toMatch(/hit/);
        expect((await bytesOf(res)).byteLength).toBe(0);
      }
      const other = await t.get('/tagged', { 'if-none-match': '"v2"' });
      expect(other.status).toBe(200);
      expect(await other.text()).toBe('tagged 1');
      expect(t.calls.of('tagged')).toBe(1);
    });

    it('a generated ETag is the same on the miss and the hit, and answers a conditional request', async () => {
      const t = await start((calls) => [
        get('/plain', () => text(`plain ${calls.bump('plain')}`, CACHE_60)),
      ]);
      const first = await t.get('/plain');
      const tag = first.headers.get('etag');
      expect(tag).toMatch(/^"[0-9a-f]+-[\w+/]{27}"$/);
      await first.arrayBuffer();
      const second = await t.get('/plain');
      expect(second.headers.get('etag')).toBe(tag);
      const conditional = await t.get('/plain', { 'if-none-match': tag! });
      expect(conditional.status).toBe(304);
      expect(t.calls.of('plain')).toBe(1);
    });

    it('a conditional request on a cold cache gets 304 from the fresh response, which is stored', async () => {
      const t = await start((calls) => [
        get('/cold', (req) => {
          calls.bump('cold');
          // The engine removes the client's validators on a fill, so the origin never sees them.
          return text(`cold, inm=${req.headers['if-none-match'] ?? 'none'}`, CACHE_60, [
            'etag',
            '"c1"',
          ]);
        }),
      ]);
      const first = await t.get('/cold', { 'if-none-match': '"c1"' });
      expect(first.status).toBe(304);
      await first.arrayBuffer();
      const full = await t.get('/cold');
      expect(await full.text()).toBe('cold, inm=none');
      expect(t.calls.of('cold')).toBe(1);
    });

    it('If-Modified-Since: 304 when not modified since, 200 when modified', async () => {
      const lastModified = new Date(Date.now() - 3_600_000).toUTCString();
      const t = await start((calls) => [
        get('/dated', () =>
          text(`dated ${calls.bump('dated')}`, CACHE_60, ['last-modified', lastModified]),
        ),
      ]);
      await (await t.get('/dated')).arrayBuffer();
      const same = await t.get('/dated', { 'if-modified-since': lastModified });
      expect(same.status).toBe(304);
      expect(same.headers.get('last-modified')).toBe(lastModified);
      const earlier = new Date(Date.now() - 7_200_000).toUTCString();
      const modified = await t.get('/dated', { 'if-modified-since': earlier });
      expect(modified.status).toBe(200);
      expect(await modified.text()).toBe('dated 1');
      expect(t.calls.of('dated')).toBe(1);
    });

    it('no-store, private, Authorization and Set-Cookie responses are not shared', async () => {
      const t = await start((calls) => [
        get('/nostore', () =>
          text(`nostore ${calls.bump('nostore')}`, ['cache-control', 'no-store']),
        ),
        get('/private', () =>
          text(`private ${calls.bump('private')}`, ['cache-control', 'private, max-age=60']),
        ),
        get('/auth', (req) =>
          text(
            `for ${req.headers['authorization'] ?? 'anonymous'} ${calls.bump('auth')}`,
            CACHE_60,
          ),
        ),
        get('/cookie', () =>
          text(`cookie ${calls.bump('cookie')}`, CACHE_60, [
            'set-cookie',
            `sid=s${calls.of('cookie')}; HttpOnly`,
          ]),
        ),
      ]);
      for (const path of ['/nostore', '/private']) {
        await (await t.get(path)).arrayBuffer();
        await (await t.get(path)).arrayBuffer();
      }
      expect(t.calls.of('nostore')).toBe(2);
      expect(t.calls.of('private')).toBe(2);

      const alice = await t.get('/auth', { authorization: 'Bearer alice-secret' });
      expect(await alice.text()).toBe('for Bearer alice-secret 1');
      const anonymous = await t.get('/auth');
      expect(await anonymous.text()).toBe('for anonymous 2');
      expect(t.calls.of('auth')).toBe(2);

      const c1 = await t.get('/cookie');
      expect(c1.headers.get('set-cookie')).toBe('sid=s1; HttpOnly');
      await c1.arrayBuffer();
      const c2 = await t.get('/cookie');
      expect(c2.headers.get('set-cookie')).toBe('sid=s2; HttpOnly');
      expect(await c2.text()).toBe('cookie 2');
      expect(t.calls.of('cookie')).toBe(2);
    });

    it('HEAD is answered from the GET entry, with the length and no body', async () => {
      const body = 'a body for HEAD';
      const t = await start((calls) => [
        get('/head', () => (calls.bump('head'), text(body, CACHE_60))),
      ]);
      const full = await t.get('/head');
      const tag = full.headers.get('etag');
      expect(await full.text()).toBe(body);
      const head = await t.get('/head', {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(encoder.encode(body).byteLength));
      expect(head.headers.get('etag')).toBe(tag);
      expect(head.headers.get('cache-status')).toMatch(/hit/);
      expect((await bytesOf(head)).byteLength).toBe(0);
      expect(t.calls.of('head')).toBe(1);
    });

    it('a HEAD miss stores no body and tags nothing the GET would not', async () => {
      const body = 'a body behind HEAD';
      const t = await start((calls) => [
        get('/head-first', () => (calls.bump('h'), text(body, CACHE_60))),
      ]);
      const head = await t.get('/head-first', {}, 'HEAD');
      expect(head.status).toBe(200);
      expect((await bytesOf(head)).byteLength).toBe(0);
      const full = await t.get('/head-first');
      expect(await full.text()).toBe(body);
      const headTag = head.headers.get('etag');
      if (headTag !== null) expect(headTag).toBe(full.headers.get('etag'));
      expect(t.calls.of('h')).toBe(2);
    });

    it('a POST invalidates the stored GET response', async () => {
      const t = await start((calls) => [
        get('/items', () => text(`items v${calls.bump('get-items')}`, CACHE_60)),
        {
          method: 'POST',
          path: '/items',
          handle: () => (
            calls.bump('post-items'),
            { status: 201, headers: [TEXT], body: { kind: 'text', text: 'created' } }
          ),
        },
      ]);
      expect(await (await t.get('/items')).text()).toBe('items v1');
      expect(await (await t.get('/items')).text()).toBe('items v1');
      const post = await t.get('/items', {}, 'POST');
      expect(post.status).toBe(201);
      expect(await post.text()).toBe('created');
      expect(await (await t.get('/items')).text()).toBe('items v2');
      expect(t.calls.of('get-items')).toBe(2);
      expect(t.calls.of('post-items')).toBe(1);
    });

    it('a streamed body (chunks over time) is stored and replayed byte for byte', async () => {
      const chunks = [0, 1, 2, 3, 4].map((i) => patternBytes(3000 + i * 17, i + 1));
      const whole = concat(chunks);
      const t = await start((calls) => [
        get('/stream', () => {
          calls.bump('stream');
          return {
            status: 200,
            headers: [['content-type', 'application/octet-stream'], CACHE_60],
            body: { kind: 'stream', chunks, gapMs: 15 },
          };
        }),
      ]);
      const first = await t.get('/stream');
      expect(first.headers.get('cache-status')).toMatch(/stored/);
      expect(await bytesOf(first)).toEqual(whole);
      await sleep(20);
      const second = await t.get('/stream');
      expect(second.headers.get('cache-status')).toMatch(/hit/);
      expect(second.headers.get('content-length')).toBe(String(whole.byteLength));
      expect(await bytesOf(second)).toEqual(whole);
      expect(t.calls.of('stream')).toBe(1);
    });

    it('a stream that fails mid-body is never stored', async () => {
      const chunks = [patternBytes(2000, 1), patternBytes(2000, 2), patternBytes(2000, 3)];
      const t = await start((calls) => [
        get('/broken', () => {
          calls.bump('broken');
          return {
            status: 200,
            headers: [['content-type', 'application/octet-stream'], CACHE_60],
            body: { kind: 'stream', chunks, gapMs: 10, failAfter: 1 },
          };
        }),
      ]);
      for (let i = 0; i < 2; i++) {
        const res = await t.get('/broken');
        const received = await bytesOf(res).then(
          (bytes) => bytes.byteLength,
          () => -1,
        );
        // Truncated (the read fails, or ends short): never the whole body.
        expect(received).not.toBe(6000);
        await sleep(30);
      }
      expect(t.calls.of('broken')).toBe(2);
    });

    it('a thrown handler error and a 5xx are not cached', async () => {
      const t = await start(
        (calls) => [
          get('/throws', () => (calls.bump('throws'), { throws: new Error('handler failed') })),
          get('/fails', () => ({
            status: 500,
            headers: [TEXT],
            body: { kind: 'text', text: `failed ${calls.bump('fails')}` },
          })),
        ],
        { options: { ttl: 60 } },
      );
      for (let i = 1; i <= 2; i++) {
        const thrown = await t.get('/throws');
        expect(thrown.status).toBe(500);
        expect(await thrown.text()).not.toContain('handler failed');
        const failed = await t.get('/fails');
        expect(failed.status).toBe(500);
        expect(await failed.text()).toBe(`failed ${i}`);
      }
      expect(t.calls.of('throws')).toBe(2);
      expect(t.calls.of('fails')).toBe(2);
    });

    it('stale-while-revalidate serves the stale entry and refreshes it in the background', async () => {
      const t = await start((calls) => [
        get('/swr', () =>
          text(`swr ${calls.bump('swr')}`, [
            'cache-control',
            'max-age=10, stale-while-revalidate=60',
          ]),
        ),
      ]);
      expect(await (await t.get('/swr')).text()).toBe('swr 1');
      t.clock.advance(15_000);
      const stale = await t.get('/swr');
      expect(await stale.text()).toBe('swr 1');
      expect(stale.headers.get('cache-status')).toMatch(/hit.*detail=stale-while-revalidate/);
      const until = Date.now() + 5_000;
      while (t.calls.of('swr') < 2 && Date.now() < until) await sleep(5);
      expect(t.calls.of('swr')).toBe(2);
      await sleep(20);
      const fresh = await t.get('/swr');
      expect(await fresh.text()).toBe('swr 2');
      expect(fresh.headers.get('cache-status')).toMatch(/hit/);
      expect(t.calls.of('swr')).toBe(2);
    });

    it('stale-if-error serves the stored entry when the handler throws or answers 5xx', async () => {
      let failing: 'no' | 'throw' | '503' = 'no';
      const t = await start((calls) => [
        get('/sie', () => {
          const n = calls.bump('sie');
          if (failing === 'throw') return { throws: new Error('origin down') };
          if (failing === '503')
            return { status: 503, headers: [TEXT], body: { kind: 'text', text: 'unavailable' } };
          return text(`sie ${n}`, ['cache-control', 'max-age=10, stale-if-error=60']);
        }),
      ]);
      expect(await (await t.get('/sie')).text()).toBe('sie 1');
      t.clock.advance(15_000);
      for (const mode of ['throw', '503'] as const) {
        failing = mode;
        const res = await t.get('/sie');
        expect(res.status, mode).toBe(200);
        expect(await res.text()).toBe('sie 1');
        expect(res.headers.get('cache-status')).toMatch(/fwd=stale/);
      }
      expect(t.calls.of('sie')).toBe(3);
      t.clock.advance(120_000);
      failing = 'throw';
      expect((await t.get('/sie')).status).toBe(500);
    });

    it('25 concurrent cold requests make one origin call', async () => {
      const t = await start((calls) => [
        get('/slow', async () => {
          const n = calls.bump('slow');
          await sleep(150);
          return text(`slow ${n}`, CACHE_60);
        }),
      ]);
      const responses = await Promise.all(Array.from({ length: 25 }, () => t.get('/slow')));
      const bodies = await Promise.all(responses.map((r) => r.text()));
      expect(new Set(bodies)).toEqual(new Set(['slow 1']));
      expect(responses.every((r) => r.status === 200)).toBe(true);
      expect(t.calls.of('slow')).toBe(1);
      const stored = responses.filter((r) => /stored/.test(r.headers.get('cache-status') ?? ''));
      expect(stored).toHaveLength(1);
    });

    it('a body over maxBodyBytes is delivered whole and not stored, buffered or streamed', async () => {
      const big = patternBytes(4096, 3);
      const pieces = [big.subarray(0, 1500), big.subarray(1500, 3000), big.subarray(3000)];
      const t = await start(
        (calls) => [
          get(
            '/big',
            () => (
              calls.bump('big'),
              {
                status: 200,
                headers: [['content-type', 'application/octet-stream'], CACHE_60],
                body: { kind: 'bytes', bytes: big },
              }
            ),
          ),
          get(
            '/big-stream',
            () => (
              calls.bump('big-stream'),
              {
                status: 200,
                headers: [['content-type', 'application/octet-stream'], CACHE_60],
                body: { kind: 'stream', chunks: pieces, gapMs: 5 },
              }
            ),
          ),
        ],
        { options: { maxBodyBytes: 1024 } },
      );
      for (const path of ['/big', '/big-stream']) {
        for (let i = 0; i < 2; i++) {
          const res = await t.get(path);
          const status = res.headers.get('cache-status');
          expect(status, path).not.toMatch(/hit/);
          // A buffered body's size is known before the head goes out; a stream's is not.
          if (path === '/big') expect(status, path).not.toMatch(/stored/);
          expect(await bytesOf(res)).toEqual(big);
          await sleep(10);
        }
      }
      expect(t.calls.of('big')).toBe(2);
      expect(t.calls.of('big-stream')).toBe(2);
    });

    it('binary bodies are byte-exact on the miss and the hit', async () => {
      const bytes = new Uint8Array(256 * 4);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
      const t = await start((calls) => [
        get(
          '/bin',
          () => (
            calls.bump('bin'),
            {
              status: 200,
              headers: [['content-type', 'application/octet-stream'], CACHE_60],
              body: { kind: 'bytes', bytes },
            }
          ),
        ),
      ]);
      expect(await bytesOf(await t.get('/bin'))).toEqual(bytes);
      const hit = await t.get('/bin');
      expect(hit.headers.get('cache-status')).toMatch(/hit/);
      expect(await bytesOf(hit)).toEqual(bytes);
      expect(t.calls.of('bin')).toBe(1);
    });

    it('a UTF-8 body and a latin1 header value arrive intact on the miss and the hit', async () => {
      const body = 'héllo wörld — 日本語 🎉';
      const t = await start((calls) => [
        get('/intl', () => (calls.bump('intl'), text(body, CACHE_60, ['x-note', 'café crème']))),
      ]);
      for (let i = 0; i < 2; i++) {
        const res = await t.get('/intl');
        expect(res.headers.get('x-note')).toBe('café crème');
        expect(await textOf(res)).toBe(body);
        expect(res.headers.get('content-length')).toBe(String(encoder.encode(body).byteLength));
      }
      expect(t.calls.of('intl')).toBe(1);
    });

    it('a JSON body is stored with its content type', async () => {
      const value = { id: 7, tags: ['a', 'ü'], nested: { ok: true } };
      const t = await start((calls) => [
        get(
          '/json',
          () => (
            calls.bump('json'),
            { status: 200, headers: [CACHE_60], body: { kind: 'json', value } }
          ),
        ),
      ]);
      for (let i = 0; i < 2; i++) {
        const res = await t.get('/json');
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await res.json()).toEqual(value);
      }
      expect(t.calls.of('json')).toBe(1);
    });

    it('repeated response fields are kept apart on the hit', async () => {
      const t = await start((calls) => [
        get(
          '/links',
          () => (
            calls.bump('links'),
            text('links', CACHE_60, ['link', '</a>; rel=preload'], ['link', '</b>; rel=preload'])
          ),
        ),
      ]);
      for (let i = 0; i < 2; i++) {
        const res = await t.get('/links');
        expect(res.headers.get('link')).toBe('</a>; rel=preload, </b>; rel=preload');
        await res.arrayBuffer();
      }
      expect(t.calls.of('links')).toBe(1);
    });

    it('fields set by earlier middleware are not stored', async () => {
      const t = await start(
        (calls) => [get('/up', () => (calls.bump('up'), text('up', CACHE_60)))],
        { upstreamHeader: true },
      );
      const first = await t.get('/up');
      expect(first.headers.get('x-before')).toBe('1');
      await first.arrayBuffer();
      const second = await t.get('/up');
      expect(second.headers.get('cache-status')).toMatch(/hit/);
      expect(second.headers.get('x-before')).toBe('2');
      expect(t.calls.of('up')).toBe(1);
    });

    it('per-route middleware on a shared engine caches only its routes', async () => {
      const t = await start(
        (calls) => [
          get('/cached', () => text(`cached ${calls.bump('cached')}`)),
          get('/uncached', () => text(`uncached ${calls.bump('uncached')}`, CACHE_60)),
        ],
        { mount: 'route', cached: { '/cached': { ttl: 30 } } },
      );
      for (let i = 0; i < 2; i++) {
        await (await t.get('/cached')).arrayBuffer();
        const res = await t.get('/uncached');
        expect(res.headers.get('cache-status')).toBeNull();
        await res.arrayBuffer();
      }
      expect(t.calls.of('cached')).toBe(1);
      expect(t.calls.of('uncached')).toBe(2);
      t.clock.advance(31_000);
      expect(await (await t.get('/cached')).text()).toBe('cached 2');
    });

    describe('router differences never merge keys', () => {
      const variants = ['/Items', '/ITEMS', '/items/', '/%69tems', '/Items/'];

      it('the framework routes odd paths as documented, and the cache follows it', async () => {
        const t = await start((calls) => [
          get('/items', () => text(`items ${calls.bump('items')}`, CACHE_60)),
        ]);
        const expected = (path: string): number => {
          const r = adapter.routing;
          const folded = path.replace('%69', 'i');
          if (folded !== path && !r.decodesPercent) return 404;
          if (folded.endsWith('/') && !r.ignoresTrailingSlash) return 404;
          if (folded.replace(/\/$/, '') !== '/items' && !r.caseInsensitive) return 404;
          return 200;
        };
        for (const path of variants) {
          for (let i = 0; i < 2; i++) {
            const res = await t.get(path);
            expect(res.status, `${path} (request ${i + 1})`).toBe(expected(path));
            await res.arrayBuffer();
          }
        }
      });

      it('a cached 404 for an odd path never poisons the real route', async () => {
        const t = await start(
          (calls) => [get('/items', () => text(`items ${calls.bump('items')}`, CACHE_60))],
          { options: { ttl: 300 } },
        );
        for (const path of variants) await (await t.get(path)).arrayBuffer();
        for (const path of variants) await (await t.get(path)).arrayBuffer();
        const real = await t.get('/items');
        expect(real.status).toBe(200);
        expect(await real.text()).toMatch(/^items \d+$/);
      });

      it("`/Account` never serves `/account`'s private body", async () => {
        const t = await start(
          (calls) => [
            get('/account', (req) =>
              text(`account of ${req.headers['x-user'] ?? 'nobody'} ${calls.bump('account')}`, [
                'cache-control',
                'private, max-age=60',
              ]),
            ),
          ],
          { partitionHeader: 'x-user' },
        );
        const alice = await t.get('/account', { 'x-user': 'alice' });
        expect(await alice.text()).toBe('account of alice 1');
        const again = await t.get('/account', { 'x-user': 'alice' });
        expect(await again.text()).toBe('account of alice 1');
        for (const path of ['/account', '/Account', '/account/', '/%61ccount']) {
          for (const headers of [{ 'x-user': 'bob' }, {}] as Array<Record<string, string>>) {
            const res = await t.get(path, headers);
            expect(await res.text(), `${path} ${JSON.stringify(headers)}`).not.toContain('alice');
          }
        }
      });

      it('one sub-router mounted at two prefixes keeps two entries', async () => {
        const t = await start(() => [], {
          mount: 'route',
          subRouter: {
            prefixes: ['/v1', '/v2'],
            routes: [get('/item', (req) => text(`item at ${req.url}`, CACHE_60))],
          },
        });
        expect(await (await t.get('/v1/item')).text()).toBe('item at /v1/item');
        expect(await (await t.get('/v2/item')).text()).toBe('item at /v2/item');
        expect(await (await t.get('/v1/item')).text()).toBe('item at /v1/item');
      });
    });
  });
}
