import express from 'express';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, manualClock } from '../../../test/support/http.ts';
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
});
