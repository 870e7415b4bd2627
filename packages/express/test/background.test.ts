import { describe, expect, it } from 'vitest';
import { setup } from './harness.ts';

const settle = async (check: () => boolean, ms = 2000): Promise<void> => {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
};

describe('stale-while-revalidate (RFC 5861)', () => {
  it('serves the stale entry at once and refreshes it in the background, once under 50 concurrent requests', async () => {
    let release!: () => void;
    let gate: Promise<void> = Promise.resolve();
    const h = await setup((app, hit) => {
      app.get('/swr', async (_req, res) => {
        const n = hit('/swr');
        await gate;
        res.set('Cache-Control', 'max-age=10, stale-while-revalidate=60').send(`v${n}`);
      });
    });
    expect(await (await h.get('/swr')).text()).toBe('v1');
    h.clock.advance(15_000);
    gate = new Promise((r) => (release = r));
    const responses = await Promise.all(Array.from({ length: 50 }, () => h.get('/swr')));
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(bodies)).toEqual(new Set(['v1']));
    expect(responses[0]!.headers.get('cache-status')).toContain('detail=stale-while-revalidate');
    // Exactly one background origin call, still in flight while all 50 were answered.
    expect(h.count('/swr')).toBe(2);
    release();
    await settle(() => false, 50);
    const fresh = await h.get('/swr');
    expect(await fresh.text()).toBe('v2');
    expect(fresh.headers.get('cache-status')).toMatch(/hit; ttl=(9|10)/);
    expect(h.count('/swr')).toBe(2);
  });

  it('never serves stale past the window, nor when must-revalidate forbids it', async () => {
    const h = await setup((app, hit) => {
      app.get('/w', (_req, res) => {
        res.set('Cache-Control', 'max-age=10, stale-while-revalidate=5').send(`v${hit('/w')}`);
      });
      app.get('/mr', (_req, res) => {
        res
          .set('Cache-Control', 'max-age=10, stale-while-revalidate=60, must-revalidate')
          .send(`v${hit('/mr')}`);
      });
    });
    await h.get('/w');
    await h.get('/mr');
    h.clock.advance(20_000);
    expect(await (await h.get('/w')).text()).toBe('v2');
    expect(await (await h.get('/mr')).text()).toBe('v2');
  });

  it('the background request carries the original request fields, so per-user entries refresh per user', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/mine', (req, res) => {
          hit(`/mine:${req.get('x-user')}`);
          res
            .set('Cache-Control', 'private, max-age=10, stale-while-revalidate=60')
            .send(`${req.get('x-user')}`);
        });
      },
      { partitionBy: (req) => req.get('x-user') },
    );
    await h.get('/mine', { 'x-user': 'alice' });
    h.clock.advance(15_000);
    expect(await (await h.get('/mine', { 'x-user': 'alice' })).text()).toBe('alice');
    await settle(() => h.count('/mine:alice') === 2);
    expect(h.count('/mine:alice')).toBe(2);
    expect(h.count('/mine:undefined')).toBe(0);
  });
});

describe('refresh-ahead', () => {
  it('refreshes a hot entry before it expires, so clients never wait for the origin', async () => {
    const h = await setup(
      (app, hit) => {
        app.get('/hot', (_req, res) => {
          res.set('Cache-Control', 'max-age=100').send(`v${hit('/hot')}`);
        });
      },
      { refreshAhead: 0.2, random: () => 0.5 },
    );
    await h.get('/hot');
    h.clock.advance(70_000);
    await h.get('/hot');
    expect(h.count('/hot')).toBe(1);
    // 5 s left of a 20 s window: probability 0.75 > 0.5, refresh.
    h.clock.advance(25_000);
    expect(await (await h.get('/hot')).text()).toBe('v1');
    await settle(() => h.count('/hot') === 2);
    expect(h.count('/hot')).toBe(2);
    await settle(() => false, 30);
    const after = await h.get('/hot');
    expect(await after.text()).toBe('v2');
    expect(after.headers.get('cache-status')).toContain('hit');
  });

  it('a marker field sent by a client is removed and ignored', async () => {
    const h = await setup((app, hit) => {
      app.get('/m', (req, res) => {
        hit('/m');
        res.send(String(req.get('x-gatecache-background')));
      });
    });
    expect(await (await h.get('/m', { 'x-gatecache-background': 'forged' })).text()).toBe(
      'undefined',
    );
  });
});
