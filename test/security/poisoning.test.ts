/**
 * A malicious client poisoning shared entries, or tricking the cache into storing someone's page
 * (web cache deception), on every adapter with a sealed Redis tier behind memory. Each case shows
 * the attack reaches the origin, nothing poisoned is served afterwards, and legitimate traffic
 * still hits (origin calls counted).
 */
import { createSealer } from '@gatecache/core/security';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { ADAPTERS, rawRequest, startApp, type OriginRequest, type RunningApp } from './harness.ts';
import { redisStack, type RedisStack } from './redis-stack.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

const keys = [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }];

/** An app that, like many, lets unkeyed inputs change its answer. */
function reflective(request: OriginRequest) {
  const h = request.headers;
  const host = h['x-forwarded-host'] ?? h['host'];
  const scheme = h['x-forwarded-scheme'] ?? 'https';
  const path = h['x-original-url'] ?? h['x-rewrite-url'] ?? request.url;
  const method = h['x-http-method-override'] ?? request.method;
  const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
  return {
    headers: { 'cache-control': 'public, max-age=60', 'content-type': 'text/html' },
    body: `<a href="${scheme}://${host}${path}">${method}</a> body=${request.body} q=${query}`,
  };
}

const ATTACKS: Array<[string, string]> = [
  ['x-forwarded-host', 'evil.example'],
  ['x-original-url', '/evil'],
  ['x-rewrite-url', '/evil'],
  ['x-http-method-override', 'EVIL'],
  ['x-forwarded-scheme', 'evil'],
];

describe.each(ADAPTERS)('poisoning and deception on %s', (adapter) => {
  let app: RunningApp | undefined;
  let stack: RedisStack | undefined;
  afterEach(async () => {
    await app?.close();
    await stack?.close();
    app = stack = undefined;
  });

  async function start(origin: (request: OriginRequest) => ReturnType<typeof reflective>) {
    stack = await redisStack(redis.url, { sealer: createSealer({ keys }) });
    app = await startApp(adapter, {
      options: { store: stack.store, queryIgnore: ['utm_*', 'callback'] },
      partitionHeader: 'x-user',
      origin,
    });
    return app;
  }

  it('unkeyed headers: the attacker\u2019s answer is never stored; victims get the clean page', async () => {
    const a = await start(reflective);
    for (const [name, value] of ATTACKS) {
      const attack = await a.get('/page', { [name]: value });
      expect(await attack.text(), name).toContain(value);
      expect(attack.headers.get('cache-status'), name).toContain('detail=unkeyed-header');
      const victim = await a.get('/page');
      expect(await victim.text(), name).not.toMatch(/evil/i);
    }
    // One clean fill served every victim: legitimate traffic hits.
    expect(a.calls('/page')).toBe(ATTACKS.length + 1);
    // A purge and a refill: still clean, the attacks left nothing behind in Redis.
    for (const value of await stack!.values()) expect(value.includes('evil')).toBe(false);
  });

  it('a GET with a body bypasses the cache; the body never reaches a stored answer', async () => {
    const a = await start(reflective);
    const attack = await rawRequest(a.base, '/body', {
      headers: { 'content-type': 'text/plain', 'content-length': '11' },
      body: 'evil=inject',
    });
    expect(attack.status).toBe(200);
    expect(String(attack.headers['cache-status'])).toContain('detail=request-body');
    const victim = await a.get('/body');
    expect(await victim.text()).not.toContain('evil');
    expect(await (await a.get('/body')).text()).not.toContain('evil');
    expect(a.calls('/body')).toBe(2);
  });

  it('ignored query parameters never reach the origin, so they cannot change a shared answer', async () => {
    const a = await start(reflective);
    const attack = await a.get('/search?q=shoes&utm_source=%3Cscript%3Eevil()&callback=evil');
    expect(await attack.text()).not.toContain('evil');
    const victim = await a.get('/search?q=shoes');
    expect(await victim.text()).toContain('q=?q=shoes');
    expect(victim.headers.get('cache-status')).toContain('hit');
    expect(a.calls('/search')).toBe(1);
    expect(a.seen.map((request) => request.url)).toEqual(['/search?q=shoes']);
    // A parameter that is keyed is a different entry, not a poisoned one.
    expect(await (await a.get('/search?q=boots')).text()).toContain('q=boots');
    expect(a.calls('/search')).toBe(2);
  });

  // The adapters give the app the stripped target in `req.url` / `ctx.url` only: Express's
  // `req.originalUrl` and Koa's `ctx.originalUrl` (and `ctx.href`) still carry the ignored
  // parameters, so an app that builds links from them stores the attacker's input for everyone.
  // Fix (packages/core/src/node/bridge.ts and packages/koa/src/http-cache.ts): when `call.url` is
  // set, also set `req.originalUrl` (Express) and `ctx.originalUrl` / `ctx.request.originalUrl`
  // (Koa) to it. Expected to fail on Express and Koa until then.
  it('ignored query parameters do not reach an app that reads originalUrl', async () => {
    const a = await start((request) => reflective({ ...request, url: request.originalUrl }));
    await a.get('/canonical?id=1&utm_source=evil');
    const victim = await a.get('/canonical?id=1');
    expect(await victim.text()).not.toContain('evil');
    expect(a.calls('/canonical')).toBe(1);
  });

  it('deception: /account/x.css answered with HTML is not stored; real CSS still is', async () => {
    const a = await start((request) => {
      if (request.url.startsWith('/static/')) {
        return {
          headers: { 'cache-control': 'public, max-age=60', 'content-type': 'text/css' },
          body: 'body{color:black}',
        };
      }
      // A route that ignores what follows /account/, as many do, and forgets `private`.
      return {
        headers: { 'cache-control': 'max-age=60', 'content-type': 'text/html' },
        body: `<h1>account of ${request.headers['x-session'] ?? 'nobody'}</h1>`,
      };
    });
    const victim = await a.get('/account/x.css', { 'x-session': 'alice-session' });
    expect(await victim.text()).toContain('alice-session');
    expect(victim.headers.get('cache-status')).toContain('detail=deception');
    const attacker = await a.get('/account/x.css');
    expect(await attacker.text()).toBe('<h1>account of nobody</h1>');
    for (const value of await stack!.values()) expect(value.includes('alice-session')).toBe(false);
    await a.get('/static/app.css');
    const css = await a.get('/static/app.css');
    expect(css.headers.get('cache-status')).toContain('hit');
    expect(a.calls('/static/app.css')).toBe(1);
  });
});
