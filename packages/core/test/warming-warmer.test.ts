import { describe, expect, it } from 'vitest';
import { createHttpCache, type OriginCall, type OriginOutcome } from '@gatecache/core';
import { createManualTimers } from '@gatecache/core/data';
import { createWarmer, fromConfig, type WarmingLogger } from '@gatecache/core/warming';

const encoder = new TextEncoder();

/** An origin that answers the engine's call as an adapter would, counting calls per URL. */
function origin(options: { maxAge?: number; delay?: () => Promise<void> } = {}) {
  const calls = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const run =
    (url: string) =>
    async (call: OriginCall): Promise<OriginOutcome> => {
      calls.set(url, (calls.get(url) ?? 0) + 1);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await options.delay?.();
        const body = encoder.encode(JSON.stringify({ url }));
        const headers: Array<[string, string]> = [
          ['content-type', 'application/json'],
          [
            'cache-control',
            url.startsWith('/api/me') ? 'private, max-age=60' : `max-age=${options.maxAge ?? 3600}`,
          ],
        ];
        const action = call.head(200, headers, body);
        return { status: 200, headers, body: action.capture ? body : undefined, complete: true };
      } finally {
        inFlight--;
      }
    };
  return {
    run,
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

function logs(): WarmingLogger & { lines: Array<[string, Record<string, unknown> | undefined]> } {
  const lines: Array<[string, Record<string, unknown> | undefined]> = [];
  return { lines, info: (m, f) => lines.push([m, f]), warn: (m, f) => lines.push([m, f]) };
}

describe('warmer', () => {
  it('warms on the cron schedule; warmed paths are then hits with zero origin calls', async () => {
    const timers = createManualTimers(Date.parse('2025-03-10T01:30:00Z'));
    const cache = createHttpCache({ clock: timers });
    const app = origin({ maxAge: 3600 });
    const warmer = createWarmer({
      cache,
      run: app.run,
      paths: ['/api/config', '/api/categories'],
      schedule: '0 */6 * * *',
      warmOnStart: false,
      host: 'api.test',
      clock: timers,
      timers,
    });
    warmer.start();
    expect(new Date(warmer.nextRun()!).toISOString()).toBe('2025-03-10T06:00:00.000Z');
    await timers.advance(4.5 * 3600_000 - 1);
    expect(app.total()).toBe(0);
    await timers.advance(1);
    await warmer.idle();
    expect(app.total()).toBe(2);
    // Clients now get both from the cache.
    for (const url of ['/api/config', '/api/categories']) {
      const result = await cache.handle(
        { method: 'GET', url, host: 'api.test', headers: {} },
        app.run(url),
      );
      expect(result.type).toBe('send');
    }
    expect(app.total()).toBe(2);
    // At 12:00 the entries (1 h) have expired and are fetched again.
    await timers.advance(6 * 3600_000);
    await warmer.idle();
    expect(app.total()).toBe(4);
    await warmer.stop();
    expect(timers.pending).toBe(0);
  });

  it('warms the most requested paths learned from traffic', async () => {
    const timers = createManualTimers(1_700_000_000_000);
    const cache = createHttpCache({ clock: timers });
    const app = origin();
    const warmer = createWarmer({ cache, run: app.run, topK: 2, clock: timers, timers });
    for (let i = 0; i < 30; i++) warmer.recordRequest('/api/products?page=1');
    for (let i = 0; i < 20; i++) warmer.recordRequest('/api/categories');
    for (let i = 0; i < 3; i++) warmer.recordRequest('/api/rare');
    warmer.recordRequest('not-a-path');
    const report = await warmer.warmNow();
    expect(report.results.map((r) => r.url).sort()).toEqual([
      '/api/categories',
      '/api/products?page=1',
    ]);
    expect(report.stored).toBe(2);
    expect(app.calls.has('/api/rare')).toBe(false);
    for (const url of ['/api/products?page=1', '/api/categories']) {
      const result = await cache.handle({ method: 'GET', url, headers: {} }, app.run(url));
      expect(result.type).toBe('send');
    }
    expect(app.total()).toBe(2);
    // A second run finds them fresh: hits, no origin call.
    const again = await warmer.warmNow();
    expect(again.hits).toBe(2);
    expect(app.total()).toBe(2);
  });

  it('never warms per-user paths from a shared list; only listed users are warmed', async () => {
    const timers = createManualTimers(1_700_000_000_000);
    const policy = (request: { url: string }) =>
      request.url.startsWith('/api/me') ? { private: true, ttl: 60 } : undefined;
    const cache = createHttpCache({ clock: timers, policy });
    const app = origin();
    const log = logs();
    const warmer = createWarmer({
      cache,
      run: app.run,
      paths: ['/api/me/profile', '/api/public'],
      policy,
      users: [{ partition: 'user-7', paths: ['/api/me/profile'] }],
      logger: log,
      clock: timers,
      timers,
    });
    const report = await warmer.warmNow();
    expect(report.skipped).toBe(1);
    expect(report.stored).toBe(2);
    expect(report.results).toContainEqual({ url: '/api/me/profile', outcome: 'skipped' });
    expect(report.results).toContainEqual({
      url: '/api/me/profile',
      outcome: 'stored',
      user: true,
    });
    expect(JSON.stringify(log.lines)).not.toContain('user-7');
    const mine = await cache.handle(
      { method: 'GET', url: '/api/me/profile', headers: {}, partition: 'user-7' },
      app.run('/api/me/profile'),
    );
    expect(mine.type).toBe('send');
    expect(app.calls.get('/api/me/profile')).toBe(1);
    // Another user is not served user-7's entry.
    await cache.handle(
      { method: 'GET', url: '/api/me/profile', headers: {}, partition: 'user-8' },
      app.run('/api/me/profile'),
    );
    expect(app.calls.get('/api/me/profile')).toBe(2);
  });

  it('bounds concurrency and reports progress in logs', async () => {
    const timers = createManualTimers(1_700_000_000_000);
    const cache = createHttpCache({ clock: timers });
    const app = origin({ delay: () => new Promise((r) => setTimeout(r, 2)) });
    const log = logs();
    const paths = Array.from({ length: 12 }, (_, i) => `/api/items/${i}`);
    const warmer = createWarmer({
      cache,
      run: app.run,
      paths,
      concurrency: 3,
      logger: log,
      clock: timers,
      timers,
    });
    const report = await warmer.warmNow();
    expect(report.stored).toBe(12);
    expect(app.maxInFlight).toBe(3);
    const messages = log.lines.map(([m]) => m);
    expect(messages[0]).toBe('gatecache warming started');
    expect(
      messages.filter((m) => m === 'gatecache warming progress').length,
    ).toBeGreaterThanOrEqual(3);
    expect(log.lines.at(-1)).toEqual([
      'gatecache warming finished',
      expect.objectContaining({ total: 12, stored: 12, failed: 0 }),
    ]);
  });

  it('maps the seed cache_warming block', () => {
    const settings = fromConfig({
      enabled: true,
      schedule: '0 */6 * * *',
      strategies: [
        { type: 'popular_endpoints', source: 'analytics', limit: 100 },
        { type: 'static_content', paths: ['/api/config', '/api/categories'] },
        { type: 'user_specific', condition: 'login_frequency > 10/day', dataTypes: ['profile'] },
      ],
    });
    expect(settings).toEqual({
      enabled: true,
      schedule: '0 */6 * * *',
      paths: ['/api/config', '/api/categories'],
      topK: 100,
      skipped: [expect.stringContaining('user_specific is not run from configuration')],
    });
    expect(fromConfig(undefined).enabled).toBe(false);
    expect(() =>
      createWarmer({ cache: createHttpCache(), run: origin().run, paths: ['api'] }),
    ).toThrow(/option "paths"/);
  });
});
