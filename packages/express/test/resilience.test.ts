import { describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { setup } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stale-if-error (RFC 5861 §4)', () => {
  const failing = (mode: { kind: 'ok' | 500 | 502 | 503 | 504 | 'throw' | 'slow' }, cc: string) =>
    function routes(app: Express, hit: (p: string) => number): void {
      app.get('/r', (_req, res, next) => {
        const n = hit('/r');
        if (mode.kind === 'ok') {
          res.set('Cache-Control', cc).send(`good ${n}`);
        } else if (mode.kind === 'throw') {
          next(new Error('origin failed'));
        } else if (mode.kind === 'slow') {
          setTimeout(() => res.set('Cache-Control', cc).send(`late ${n}`), 300);
        } else {
          res.status(mode.kind).send('bad');
        }
      });
    };

  for (const kind of [500, 502, 503, 504, 'throw'] as const) {
    it(`serves the stale entry when the origin ${kind === 'throw' ? 'throws' : `answers ${kind}`}`, async () => {
      const mode: { kind: 'ok' | 500 | 502 | 503 | 504 | 'throw' | 'slow' } = { kind: 'ok' };
      const h = await setup(failing(mode, 'max-age=10, stale-if-error=60'));
      await h.get('/r');
      h.clock.advance(20_000);
      mode.kind = kind;
      const r = await h.get('/r');
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('good 1');
      expect(r.headers.get('cache-status')).toContain('fwd=stale');
      // The error never replaced the good entry.
      mode.kind = 'ok';
      expect(await (await h.get('/r')).text()).toBe('good 3');
    });
  }

  it('serves stale when the origin is slower than originTimeoutMs', async () => {
    const mode: { kind: 'ok' | 500 | 502 | 503 | 504 | 'throw' | 'slow' } = { kind: 'ok' };
    const h = await setup(failing(mode, 'max-age=10, stale-if-error=60'), { originTimeoutMs: 50 });
    await h.get('/r');
    h.clock.advance(20_000);
    mode.kind = 'slow';
    const started = Date.now();
    const r = await h.get('/r');
    expect(await r.text()).toBe('good 1');
    expect(r.headers.get('cache-status')).toContain('detail=origin-timeout');
    expect(Date.now() - started).toBeLessThan(280);
  });

  it('serves stale on originTimeoutMs when middleware after the cache wraps res.end', async () => {
    // compression and express-session wrap res.end after the cache has intercepted it.
    const mode: { kind: 'ok' | 500 | 502 | 503 | 504 | 'throw' | 'slow' } = { kind: 'ok' };
    const routes = failing(mode, 'max-age=10, stale-if-error=60');
    const h = await setup(
      (app, hit) => {
        app.use((_req, res, next) => {
          // Called with `.apply(this)` below.
          // eslint-disable-next-line @typescript-eslint/unbound-method
          const end = res.end;
          res.end = function wrapped(this: typeof res, ...args: unknown[]) {
            return (end as (...a: unknown[]) => typeof res).apply(this, args);
          } as typeof res.end;
          next();
        });
        routes(app, hit);
      },
      { originTimeoutMs: 50 },
    );
    await h.get('/r');
    h.clock.advance(20_000);
    mode.kind = 'slow';
    const started = Date.now();
    const r = await h.get('/r');
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('good 1');
    expect(r.headers.get('cache-status')).toContain('detail=origin-timeout');
    expect(Date.now() - started).toBeLessThan(280);
  });

  it('never serves stale past the window, or when must-revalidate, s-maxage or no-cache forbid it', async () => {
    for (const cc of [
      'max-age=10, stale-if-error=5',
      'max-age=10, stale-if-error=60, must-revalidate',
      'max-age=10, stale-if-error=60, proxy-revalidate',
      's-maxage=10, stale-if-error=60',
      'max-age=10, stale-if-error=60, no-cache',
    ]) {
      const mode: { kind: 'ok' | 500 | 502 | 503 | 504 | 'throw' | 'slow' } = { kind: 'ok' };
      const h = await setup(failing(mode, cc));
      await h.get('/r');
      h.clock.advance(20_000);
      mode.kind = 503;
      expect((await h.get('/r')).status, cc).toBe(503);
    }
  });

  it('a route policy can give a stale-if-error window the origin did not', async () => {
    const mode: { kind: 'ok' | 500 | 502 | 503 | 504 | 'throw' | 'slow' } = { kind: 'ok' };
    const h = await setup(failing(mode, 'max-age=10'), { route: { staleIfError: 300 } });
    await h.get('/r');
    h.clock.advance(100_000);
    mode.kind = 500;
    expect(await (await h.get('/r')).text()).toBe('good 1');
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, serves stale or fails fast with Retry-After, and closes after a good probe', async () => {
    const mode = { fail: false };
    const states: string[] = [];
    const h = await setup(
      (app, hit) => {
        app.get('/a', (_req, res) => {
          hit('/a');
          if (mode.fail) res.status(502).send('down');
          else res.set('Cache-Control', 'max-age=1').send('a');
        });
        app.get('/b', (_req, res) => {
          hit('/b');
          if (mode.fail) res.status(503).send('down');
          else res.send('b');
        });
      },
      {
        breaker: { failureThreshold: 3, windowMs: 10_000, cooldownMs: 5_000 },
        onEvent: (e) => e.type === 'breaker' && states.push(e.state),
      },
    );
    await h.get('/a');
    h.clock.advance(2_000);
    mode.fail = true;
    for (let i = 0; i < 3; i++) expect((await h.get('/b')).status).toBe(503);
    expect(states).toEqual(['open']);
    const callsB = h.count('/b');
    const fast = await h.get('/b');
    expect(fast.status).toBe(503);
    expect(fast.headers.get('retry-after')).toBe('5');
    expect(fast.headers.get('cache-status')).toContain('detail=circuit-open');
    expect(h.count('/b')).toBe(callsB);
    // A stale entry is served while the circuit is open, without calling the origin.
    const stale = await h.get('/a');
    expect(await stale.text()).toBe('a');
    expect(stale.headers.get('cache-status')).toContain('detail=circuit-open');
    expect(h.count('/a')).toBe(1);
    // Half-open after the cool-down: one probe goes through; a failed probe opens it again.
    h.clock.advance(5_000);
    expect((await h.get('/b')).status).toBe(503);
    expect(h.count('/b')).toBe(callsB + 1);
    expect(states).toEqual(['open', 'half-open', 'open']);
    h.clock.advance(5_000);
    mode.fail = false;
    expect(await (await h.get('/b')).text()).toBe('b');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
    expect(h.middleware.cache.circuits.size).toBe(0);
    await sleep(1);
  });
});
