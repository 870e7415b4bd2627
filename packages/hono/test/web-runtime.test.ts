import { createManualClock } from '@gatecache/core/testing';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { httpCache } from '../src/index.ts';

/**
 * Runs the adapter through `app.request()`: no Node server, only Fetch API objects, as on
 * Workers, Bun and Deno.
 */
function setup(options: Parameters<typeof httpCache>[0] = {}) {
  const clock = createManualClock(Math.floor(Date.now() / 1000) * 1000);
  const calls = new Map<string, number>();
  const hit = (name: string): number => {
    const n = (calls.get(name) ?? 0) + 1;
    calls.set(name, n);
    return n;
  };
  const app = new Hono();
  const cache = httpCache({ clock, fetch: (request) => app.fetch(request), ...options });
  app.use('*', cache);
  return { app, clock, hit, count: (name: string) => calls.get(name) ?? 0, cache };
}

/** A Workers-like execution context that records what it was asked to keep alive. */
function executionContext() {
  const tasks: Array<Promise<unknown>> = [];
  return {
    tasks,
    ctx: {
      waitUntil: (task: Promise<unknown>) => void tasks.push(task),
      passThroughOnException: () => undefined,
      props: {},
    },
  };
}

describe('@gatecache/hono on Web-standard objects only', () => {
  it('misses, then hits, with a generated ETag and a 304 from the entry', async () => {
    const t = setup();
    t.app.get('/a', (c) => c.text(`a ${t.hit('a')}`, 200, { 'cache-control': 'max-age=60' }));
    const first = await t.app.request('/a');
    expect(await first.text()).toBe('a 1');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"/);
    const second = await t.app.request('/a');
    expect(await second.text()).toBe('a 1');
    expect(second.headers.get('cache-status')).toMatch(/hit/);
    const conditional = await t.app.request('/a', { headers: { 'if-none-match': etag! } });
    expect(conditional.status).toBe(304);
    expect(t.count('a')).toBe(1);
  });

  it('captures a stream while it streams, and hands the store to waitUntil', async () => {
    const t = setup();
    const encoder = new TextEncoder();
    t.app.get('/s', (c) => {
      t.hit('s');
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 5));
          if (i === 3) controller.close();
          else controller.enqueue(encoder.encode(`part${i++};`));
        },
      });
      return c.body(body, 200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
    });
    const exec = executionContext();
    const first = await t.app.request('/s', {}, {}, exec.ctx);
    expect(await first.text()).toBe('part0;part1;part2;');
    expect(exec.tasks).toHaveLength(1);
    await Promise.all(exec.tasks);
    const second = await t.app.request('/s');
    expect(second.headers.get('cache-status')).toMatch(/hit/);
    expect(await second.text()).toBe('part0;part1;part2;');
    expect(t.count('s')).toBe(1);
  });

  it('a client that cancels a streamed miss leaves nothing stored', async () => {
    const t = setup();
    t.app.get('/c', (c) => {
      t.hit('c');
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((r) => setTimeout(r, 5));
          controller.enqueue(new Uint8Array(100));
        },
      });
      return c.body(body, 200, { 'cache-control': 'max-age=60' });
    });
    const first = await t.app.request('/c');
    const reader = first.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 20));
    const second = await t.app.request('/c');
    expect(second.headers.get('cache-status')).toMatch(/fwd=uri-miss/);
    await second.body!.cancel();
    expect(t.count('c')).toBe(2);
  });

  it('the origin sees the engine’s request fields: client validators removed on a fill', async () => {
    const t = setup();
    t.app.get('/v', (c) =>
      c.text(`inm=${c.req.header('if-none-match') ?? 'none'}`, 200, {
        'cache-control': 'max-age=60',
        etag: '"e1"',
      }),
    );
    const res = await t.app.request('/v', { headers: { 'if-none-match': '"other"' } });
    expect(await res.text()).toBe('inm=none');
  });

  it('revalidates with the stored validator and refreshes on 304', async () => {
    const t = setup();
    t.app.get('/r', (c) => {
      const n = t.hit('r');
      if (c.req.header('if-none-match') === '"r1"')
        return c.body(null, 304, { etag: '"r1"', 'cache-control': 'max-age=10' });
      return c.text(`r ${n}`, 200, { 'cache-control': 'max-age=10', etag: '"r1"' });
    });
    expect(await (await t.app.request('/r')).text()).toBe('r 1');
    t.clock.advance(20_000);
    const revalidated = await t.app.request('/r');
    expect(revalidated.status).toBe(200);
    expect(await revalidated.text()).toBe('r 1');
    expect(revalidated.headers.get('cache-status')).toMatch(/fwd-status=304/);
    expect(t.count('r')).toBe(2);
  });

  it('stale-while-revalidate refreshes through the app’s fetch, kept alive by waitUntil', async () => {
    const t = setup();
    t.app.get('/w', (c) =>
      c.text(`w ${t.hit('w')}`, 200, { 'cache-control': 'max-age=10, stale-while-revalidate=60' }),
    );
    expect(await (await t.app.request('/w')).text()).toBe('w 1');
    t.clock.advance(15_000);
    const exec = executionContext();
    const stale = await t.app.request('/w', {}, {}, exec.ctx);
    expect(await stale.text()).toBe('w 1');
    expect(exec.tasks.length).toBeGreaterThan(0);
    await Promise.all(exec.tasks);
    expect(t.count('w')).toBe(2);
    expect(await (await t.app.request('/w')).text()).toBe('w 2');
  });

  it('an error thrown by the handler reaches app.onError once, and is not stored', async () => {
    const t = setup();
    const seen: string[] = [];
    t.app.onError((error, c) => {
      seen.push(error.message);
      return c.text('handled', 500);
    });
    t.app.get('/e', () => {
      t.hit('e');
      throw new Error('boom');
    });
    for (let i = 0; i < 2; i++) {
      const res = await t.app.request('/e');
      expect(res.status).toBe(500);
      expect(await res.text()).toBe('handled');
    }
    expect(seen).toEqual(['boom', 'boom']);
    expect(t.count('e')).toBe(2);
  });

  it('rejects a partitionBy or fetch that is not a function, naming the option', () => {
    expect(() => httpCache({ partitionBy: 'user' as never })).toThrow(/partitionBy/);
    expect(() => httpCache({ fetch: {} as never })).toThrow(/fetch/);
  });
});
