import { createHttpCache } from '@gatecache/core';
import {
  createDataCache,
  createManualTimers,
  createShutdown,
  createWriteBehind,
  type QueuedWrite,
} from '@gatecache/core/data';
import { createWarmer } from '@gatecache/core/warming';
import { httpCache, runThroughApp } from '@gatecache/express';
import express from 'express';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { listen, manualClock } from '../support/http.ts';

describe('graceful shutdown', () => {
  it('stops the warmer, finishes background refreshes, flushes write-behind and closes, in order', async () => {
    const clock = manualClock();
    const cache = createHttpCache({ clock });
    let version = 0;
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const app = express();
    app.use(httpCache({ cache }));
    app.get('/api/feed', async (_req, res) => {
      version++;
      if (version > 1) await slow;
      res.set('cache-control', 'max-age=1, stale-while-revalidate=60').json({ version });
    });
    const server = createServer(app);
    const { base, close } = await listen(server);

    // A stale entry: the next request is served stale and refreshes in the background.
    await (await fetch(base + '/api/feed')).json();
    clock.advance(2000);
    const stale = (await (await fetch(base + '/api/feed')).json()) as { version: number };
    expect(stale.version).toBe(1);
    expect(version).toBe(2);

    const timers = createManualTimers(Date.now());
    const host = new URL(base).host;
    const warmer = createWarmer({
      cache,
      host,
      run: (url) => (call) => runThroughApp(app, url, { host }, call),
      paths: ['/api/feed'],
      schedule: '*/5 * * * *',
      warmOnStart: false,
      clock: timers,
      timers,
    });
    warmer.start();

    const rows = new Map<string, unknown>();
    const dropped: string[] = [];
    const queue = createWriteBehind<unknown>({
      write: async (batch: readonly QueuedWrite<unknown>[]) => {
        await new Promise((r) => setTimeout(r, 5));
        for (const w of batch) rows.set(w.key, w.value);
      },
      batchSize: 10,
      flushIntervalMs: 60_000,
      onDrop: (writes) => dropped.push(...writes.map((w) => w.key)),
    });
    const data = createDataCache();
    for (let i = 0; i < 25; i++) await data.setBehind(`order:${i}`, { i }, queue);
    expect(rows.size).toBe(0);

    const order: string[] = [];
    const shutdown = createShutdown({
      cache: [cache, data],
      warmer,
      writeBehind: queue,
      stores: [{ close: () => void order.push('engine closed') }, { close: () => close() }],
      deadlineMs: 5000,
      logger: {
        info: (_m, f) => order.push(String(f?.['step'])),
        warn: (_m, f) => order.push(`!${String(f?.['step'])}`),
      },
    });
    setTimeout(release, 30);
    const report = await shutdown();
    expect(report.ok).toBe(true);
    expect(order).toEqual([
      'warmer',
      'drain',
      'write-behind',
      'engine closed',
      'close-0',
      'close-1',
    ]);
    // The refresh finished before the store closed: the entry holds version 2.
    const served = await cache.handle({ method: 'GET', url: '/api/feed', host, headers: {} }, () =>
      Promise.reject(new Error('origin must not be called')),
    );
    expect(served.type).toBe('send');
    if (served.type !== 'send') return;
    expect(JSON.parse(new TextDecoder().decode(served.response.body))).toEqual({ version: 2 });
    expect(timers.pending).toBe(0);
    expect(rows.size).toBe(25);
    expect(dropped).toEqual([]);
    // A second call returns the same report.
    expect(await shutdown()).toBe(report);
  });

  it('reports the steps that missed the deadline', async () => {
    const queue = createWriteBehind<number>({
      write: () => Promise.reject(new Error('backend down')),
      retries: 1000,
      backoff: { initialMs: 10, factor: 1 },
    });
    queue.enqueue('a', 1);
    const never = { drain: () => new Promise<boolean>(() => undefined) };
    const shutdown = createShutdown({ cache: never, writeBehind: queue, deadlineMs: 200 });
    const report = await shutdown();
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ['drain', false],
      ['write-behind', false],
    ]);
    expect(queue.stats.dropped).toBe(1);
  });
});
