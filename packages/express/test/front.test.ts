import express from 'express';
import { createServer, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, manualClock } from '../../../test/support/http.ts';
import { createMetrics } from '@gatecache/core/metrics';
import { httpCache } from '../src/index.ts';
import { rawGet } from './harness.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

async function start(options: Parameters<typeof httpCache>[0] = {}) {
  const clock = manualClock();
  const cache = httpCache({ clock, ...options });
  const seen: string[] = [];
  const app = express();
  app.use((req, _res, next) => {
    seen.push(req.url);
    next();
  });
  app.use(cache);
  let calls = 0;
  app.get('/items', (req, res) => {
    calls++;
    res.set('Cache-Control', 'max-age=60').send(`items for ${req.get('x-user') ?? 'anyone'}`);
  });
  app.get('/me', (req, res) => {
    calls++;
    res.set('Cache-Control', 'private, max-age=60').send(`me: ${req.get('x-user')}`);
  });
  const { base, close } = await listen(createServer(cache.front(app)));
  closers.push(close);
  return { base, clock, seen, calls: () => calls };
}

describe('front: fresh hits answered before Express runs', () => {
  it('a miss goes through the app; the hit that follows never reaches Express', async () => {
    const s = await start();
    expect(await (await rawGet(s.base + '/items')).text()).toBe('items for anyone');
    const hit = await rawGet(s.base + '/items');
    expect(await hit.text()).toBe('items for anyone');
    expect(hit.headers.get('cache-status')).toMatch(/^gatecache; hit/);
    expect(hit.headers.get('age')).toBe('0');
    expect(s.seen).toEqual(['/items']);
    expect(s.calls()).toBe(1);
  });

  it('stale entries, conditional requests and client directives still take the full path', async () => {
    const s = await start();
    await rawGet(s.base + '/items');
    const conditional = await rawGet(s.base + '/items', { 'if-none-match': '*' });
    expect(conditional.status).toBe(304);
    await rawGet(s.base + '/items', { 'cache-control': 'no-cache' });
    expect(s.seen.length).toBe(2);
    s.clock.advance(61_000);
    await rawGet(s.base + '/items');
    expect(s.calls()).toBe(3);
  });

  it('per-user entries stay per user: partitionBy on the plain request', async () => {
    const s = await start({
      partitionBy: (req) => {
        const user = req.headers['x-user'];
        return typeof user === 'string' ? user : undefined;
      },
    });
    expect(await (await rawGet(s.base + '/me', { 'x-user': 'alice' })).text()).toBe('me: alice');
    expect(await (await rawGet(s.base + '/me', { 'x-user': 'bob' })).text()).toBe('me: bob');
    expect(await (await rawGet(s.base + '/me', { 'x-user': 'alice' })).text()).toBe('me: alice');
    expect(await (await rawGet(s.base + '/me', { 'x-user': 'bob' })).text()).toBe('me: bob');
    expect(s.calls()).toBe(2);
  });

  it('a partitionBy that needs Express helpers sends the request to the app, never a wrong body', async () => {
    const s = await start({ partitionBy: (req) => req.get('x-user') });
    await rawGet(s.base + '/me', { 'x-user': 'alice' });
    expect(await (await rawGet(s.base + '/me', { 'x-user': 'bob' })).text()).toBe('me: bob');
    expect(await (await rawGet(s.base + '/me', { 'x-user': 'alice' })).text()).toBe('me: alice');
    expect(s.calls()).toBe(2);
  });

  it('a front hit sends the stored header lines as they were: repeated fields, HEAD, 304', async () => {
    const cache = httpCache();
    const app = express();
    app.use(cache);
    let calls = 0;
    app.get('/links', (_req, res) => {
      calls++;
      res.setHeader('Link', ['</a.css>; rel=preload', '</b.js>; rel=preload']);
      res.set('Cache-Control', 'max-age=60').set('X-One', 'one').send('linked');
    });
    app.get('/plain', (_req, res) => {
      calls++;
      res.set('Cache-Control', 'max-age=60').set('X-One', 'one').send('plain!');
    });
    const { base, close } = await listen(createServer(cache.front(app)));
    closers.push(close);
    const miss = await rawLines(base + '/links');
    const hit = await rawLines(base + '/links');
    expect(calls).toBe(1);
    expect(hit.body).toBe('linked');
    expect(hit.lines.filter(([name]) => name === 'link')).toEqual([
      ['link', '</a.css>; rel=preload'],
      ['link', '</b.js>; rel=preload'],
    ]);
    const fields = (lines: Array<[string, string]>) =>
      lines
        .filter(([name]) => !['age', 'cache-status', 'date', 'keep-alive'].includes(name))
        .map(([name, value]) => `${name}: ${value}`)
        .sort();
    expect(fields(hit.lines)).toEqual(
      fields(miss.lines).filter((line) => !line.startsWith('x-powered-by:')),
    );
    expect(hit.lines.find(([name]) => name === 'cache-status')?.[1]).toMatch(/^gatecache; hit/);

    // Single fields only: the one-writeHead path.
    const plainMiss = await rawLines(base + '/plain');
    const plainHit = await rawLines(base + '/plain');
    expect(calls).toBe(2);
    expect(plainHit.body).toBe('plain!');
    expect(fields(plainHit.lines)).toEqual(
      fields(plainMiss.lines).filter((line) => !line.startsWith('x-powered-by:')),
    );

    for (const path of ['/links', '/plain']) {
      const head = await rawLines(base + path, {}, 'HEAD');
      expect(head.body).toBe('');
      expect(head.lines.find(([name]) => name === 'content-length')?.[1]).toBe('6');
      const etag = (await rawLines(base + path)).lines.find(([name]) => name === 'etag')![1];
      const notModified = await rawLines(base + path, { 'if-none-match': etag });
      expect(notModified.status).toBe(304);
      expect(notModified.body).toBe('');
    }
    expect(calls).toBe(2);
  });

  it('hits answered by the front are counted in the metrics like any other', async () => {
    const metrics = createMetrics();
    const cache = httpCache({ onEvent: metrics.onEvent });
    metrics.observe(cache.cache);
    const app = express();
    app.use(cache);
    let calls = 0;
    app.get('/counted', (_req, res) => {
      calls++;
      res.set('Cache-Control', 'max-age=60').send('counted');
    });
    const { base, close } = await listen(createServer(cache.front(app)));
    closers.push(() => {
      metrics.close();
      return close();
    });
    for (let i = 0; i < 4; i++)
      expect(await (await rawGet(base + '/counted')).text()).toBe('counted');
    expect(calls).toBe(1);
    const text = metrics.prometheus();
    expect(text).toMatch(/^gatecache_requests_total\{[^}]*outcome="miss"[^}]*\} 1$/m);
    expect(text).toMatch(/^gatecache_requests_total\{[^}]*outcome="hit"[^}]*\} 3$/m);
  });
});

/** Status, header lines in order (names lower-cased) and body text of one raw request. */
function rawLines(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; lines: Array<[string, string]>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const lines: Array<[string, string]> = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
          lines.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, lines, body: Buffer.concat(chunks).toString() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
