import { describe, expect, it } from 'vitest';
import { makeEntry, createManualClock } from '@gatecache/core/testing';
import { createManualTimers } from '@gatecache/core/data';
import {
  createResizableMemoryStore,
  createSizingController,
  type ResizeEvent,
} from '@gatecache/core/sizing';

const MiB = 1024 * 1024;

describe('resizable memory store', () => {
  it('shrinks by evicting the least recently used first and keeps TTLs', () => {
    const clock = createManualClock();
    const store = createResizableMemoryStore({ clock, maxBytes: 64 * 1024, maxEntryBytes: 8192 });
    const body = new Uint8Array(4000);
    for (let i = 0; i < 10; i++) {
      const key = `k${i}`;
      store.set(key, makeEntry(key, { body }, clock.now()), 60_000 + i);
    }
    // Touch k0 and k1: they become the most recently used.
    store.get('k0');
    store.get('k1');
    store.resize(20 * 1024);
    expect(store.maxBytes).toBe(20 * 1024);
    expect(store.bytes).toBeLessThanOrEqual(20 * 1024);
    const kept = [...store.keys()];
    expect(kept).toContain('k0');
    expect(kept).toContain('k1');
    expect(kept).not.toContain('k2');
    expect(store.remainingTtl('k9')).toBe(60_009);
    expect(store.evictions).toBeGreaterThan(0);
    store.resize(64 * 1024);
    store.set('k2', makeEntry('k2', { body }, clock.now()), 1000);
    expect(store.size).toBe(kept.length + 1);
  });
});

describe('sizing controller', () => {
  it('shrinks under pressure and grows back to the maximum once pressure passes', async () => {
    const timers = createManualTimers(1_700_000_000_000);
    const store = createResizableMemoryStore({ clock: timers, maxBytes: 8 * MiB });
    const body = new Uint8Array(50_000);
    for (let i = 0; i < 120; i++) {
      store.set(`k${i}`, makeEntry(`k${i}`, { body }, timers.now()), 600_000);
    }
    const heldBefore = store.bytes;
    let heapUsed = 50 * MiB;
    const events: ResizeEvent[] = [];
    const logged: string[] = [];
    const sizing = createSizingController({
      target: store,
      budget: { heapBytes: 100 * MiB, rssBytes: 400 * MiB },
      minBytes: 1 * MiB,
      calmMs: 30_000,
      intervalMs: 5000,
      readMemory: () => ({ heapUsed, rss: 150 * MiB }),
      onResize: (e) => events.push(e),
      logger: { info: (m) => logged.push(m) },
      clock: timers,
      timers,
    });
    sizing.start();
    await timers.advance(5000);
    expect(events).toHaveLength(0);
    heapUsed = 95 * MiB;
    await timers.advance(5000);
    expect(events).toEqual([
      expect.objectContaining({
        direction: 'shrink',
        from: 8 * MiB,
        to: Math.floor(heldBefore / 2),
      }),
    ]);
    expect(store.bytes).toBeLessThanOrEqual(Math.floor(heldBefore / 2));
    await timers.advance(5000);
    await timers.advance(5000);
    // Shrinks step down to the floor and stop there.
    const shrinks = events.filter((e) => e.direction === 'shrink');
    expect(shrinks.length).toBeGreaterThanOrEqual(2);
    heapUsed = 40 * MiB;
    for (let i = 0; i < 120; i++) await timers.advance(5000);
    expect(store.maxBytes).toBe(8 * MiB);
    const grows = events.filter((e) => e.direction === 'grow');
    expect(grows.length).toBeGreaterThan(1);
    // Each grow waited for a calm period.
    expect(sizing.stats).toMatchObject({
      shrinks: shrinks.length,
      grows: grows.length,
      maxBytes: 8 * MiB,
    });
    expect(logged.filter((m) => m.includes('shrink'))).toHaveLength(shrinks.length);
    sizing.stop();
    expect(timers.pending).toBe(0);
  });

  it('holds between the watermarks and at the floor; reads RSS too', () => {
    const clock = createManualClock();
    const resized: number[] = [];
    const target = { maxBytes: 4 * MiB, bytes: 4 * MiB, resize: (n: number) => resized.push(n) };
    let rss = 80 * MiB;
    const sizing = createSizingController({
      target,
      budget: { rssBytes: 100 * MiB },
      minBytes: 4 * MiB,
      readMemory: () => ({ heapUsed: 0, rss }),
      clock,
    });
    expect(sizing.check()).toMatchObject({ type: 'hold', reason: 'between-watermarks' });
    rss = 99 * MiB;
    expect(sizing.check()).toMatchObject({ type: 'hold', reason: 'at-minimum' });
    expect(resized).toEqual([]);
    expect(() => createSizingController({ target, budget: {} })).toThrow(/option "budget"/);
    expect(() => createSizingController({ target, budget: { heapBytes: 1e9 }, low: 0.95 })).toThrow(
      /option "low"/,
    );
  });
});
