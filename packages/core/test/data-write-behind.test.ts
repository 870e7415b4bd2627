import { describe, expect, it } from 'vitest';
import {
  createDataCache,
  createManualTimers,
  createWriteBehind,
  type DropReason,
  type QueuedWrite,
} from '@gatecache/core/data';

interface Backend {
  batches: Array<Array<[string, unknown]>>;
  rows: Map<string, unknown>;
  failNext: number;
  write: (batch: readonly QueuedWrite<unknown>[]) => Promise<void>;
}

/** A backend that records batches and fails its next `failNext` writes. */
function backend(): Backend {
  const b: Backend = {
    batches: [],
    rows: new Map(),
    failNext: 0,
    write: (batch) => {
      if (b.failNext > 0) {
        b.failNext--;
        return Promise.reject(new Error('backend unavailable'));
      }
      b.batches.push(batch.map((w) => [w.key, w.value]));
      for (const w of batch) b.rows.set(w.key, w.value);
      return Promise.resolve();
    },
  };
  return b;
}

describe('write-behind', () => {
  it('batches by size, then sends the rest after the flush interval', async () => {
    const timers = createManualTimers();
    const db = backend();
    const queue = createWriteBehind({
      write: db.write,
      batchSize: 3,
      flushIntervalMs: 1000,
      clock: timers,
      timers,
    });
    for (let i = 1; i <= 7; i++) queue.enqueue(`k${i}`, i);
    await timers.advance(0);
    expect(db.batches.map((b) => b.length)).toEqual([3, 3]);
    expect(queue.stats.queued).toBe(1);
    await timers.advance(999);
    expect(db.batches).toHaveLength(2);
    await timers.advance(1);
    expect(db.batches.map((b) => b.length)).toEqual([3, 3, 1]);
    expect([...db.rows.values()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(queue.stats).toMatchObject({ written: 7, batches: 3, queued: 0, dropped: 0 });
  });

  it('keeps only the latest value of a key still queued', async () => {
    const timers = createManualTimers();
    const db = backend();
    const queue = createWriteBehind({ write: db.write, batchSize: 10, clock: timers, timers });
    queue.enqueue('a', 1);
    queue.enqueue('b', 1);
    queue.enqueue('a', 2);
    await queue.flush();
    expect(db.batches).toEqual([
      [
        ['a', 2],
        ['b', 1],
      ],
    ]);
    expect(queue.stats.superseded).toBe(1);
  });

  it('retries a failed batch with exponential backoff and loses nothing', async () => {
    const timers = createManualTimers();
    const db = backend();
    const delays: Array<number | undefined> = [];
    const queue = createWriteBehind({
      write: db.write,
      batchSize: 2,
      retries: 5,
      backoff: { initialMs: 100, factor: 2, maxMs: 10_000 },
      clock: timers,
      timers,
      onEvent: (e) => {
        if (e.type === 'batch-failed') delays.push(e.retryInMs);
      },
    });
    db.failNext = 3;
    queue.enqueue('a', 1);
    queue.enqueue('b', 2);
    await timers.advance(0);
    expect(db.batches).toHaveLength(0);
    await timers.advance(100);
    await timers.advance(200);
    expect(db.batches).toHaveLength(0);
    // A write queued while the batch is retrying goes after it.
    queue.enqueue('a', 3);
    await timers.advance(400);
    await queue.flush();
    expect(delays).toEqual([100, 200, 400]);
    expect(db.batches).toEqual([
      [
        ['a', 1],
        ['b', 2],
      ],
      [['a', 3]],
    ]);
    expect(db.rows.get('a')).toBe(3);
    expect(queue.stats).toMatchObject({ failedAttempts: 3, dropped: 0, written: 3 });
  });

  it('reports a batch dropped after its last retry', async () => {
    const timers = createManualTimers();
    const db = backend();
    const dropped: Array<[string[], DropReason]> = [];
    const queue = createWriteBehind({
      write: db.write,
      batchSize: 1,
      retries: 2,
      backoff: { initialMs: 10 },
      clock: timers,
      timers,
      onDrop: (writes, reason) => dropped.push([writes.map((w) => w.key), reason]),
    });
    db.failNext = 3;
    queue.enqueue('a', 1);
    await timers.advance(0);
    await timers.advance(10);
    await timers.advance(20);
    expect(dropped).toEqual([[['a'], 'retries-exhausted']]);
    expect(db.rows.size).toBe(0);
  });

  it('a full queue rejects new writes or drops the oldest, reporting either', () => {
    const timers = createManualTimers();
    const dropped: Array<[string, DropReason]> = [];
    const onDrop = (writes: readonly QueuedWrite<number>[], reason: DropReason) => {
      for (const w of writes) dropped.push([w.key, reason]);
    };
    const never = () => new Promise<void>(() => undefined);
    const rejecting = createWriteBehind<number>({
      write: never,
      batchSize: 100,
      maxQueue: 2,
      clock: timers,
      timers,
      onDrop,
    });
    rejecting.enqueue('a', 1);
    rejecting.enqueue('b', 1);
    expect(() => rejecting.enqueue('c', 1)).toThrow(/queue is full \(maxQueue 2\)/);
    // Replacing a queued key is not growth.
    rejecting.enqueue('a', 2);
    const dropping = createWriteBehind<number>({
      write: never,
      batchSize: 100,
      maxQueue: 2,
      overflow: 'drop-oldest',
      clock: timers,
      timers,
      onDrop,
    });
    dropping.enqueue('x', 1);
    dropping.enqueue('y', 1);
    dropping.enqueue('z', 1);
    expect(dropped).toEqual([
      ['c', 'rejected'],
      ['x', 'overflow'],
    ]);
    expect(dropping.stats.queued).toBe(2);
  });

  it('close flushes every queued write (retries included) before the deadline', async () => {
    const timers = createManualTimers();
    const db = backend();
    const queue = createWriteBehind({
      write: db.write,
      batchSize: 2,
      flushIntervalMs: 60_000,
      backoff: { initialMs: 50 },
      clock: timers,
      timers,
    });
    for (let i = 0; i < 5; i++) queue.enqueue(`k${i}`, i);
    db.failNext = 1;
    const closing = queue.close(5000);
    await timers.advance(50);
    const report = await closing;
    expect(report).toEqual({ written: 5, dropped: 0, complete: true });
    expect(db.rows.size).toBe(5);
    expect(() => queue.enqueue('late', 1)).toThrow(/closed/);
  });

  it('close reports what the deadline left behind', async () => {
    const timers = createManualTimers();
    const db = backend();
    const dropped: Array<[string, DropReason]> = [];
    const queue = createWriteBehind({
      write: db.write,
      batchSize: 1,
      retries: 100,
      backoff: { initialMs: 1000, factor: 1 },
      clock: timers,
      timers,
      onDrop: (writes, reason) => {
        for (const w of writes) dropped.push([w.key, reason]);
      },
    });
    db.failNext = 1000;
    queue.enqueue('a', 1);
    queue.enqueue('b', 2);
    const closing = queue.close(2500);
    await timers.advance(2500);
    const report = await closing;
    expect(report.complete).toBe(false);
    expect(report.dropped).toBe(2);
    expect(dropped.sort()).toEqual([
      ['a', 'unconfirmed'],
      ['b', 'shutdown'],
    ]);
  });

  it('setBehind caches at once and leaves the cache alone when the queue refuses', async () => {
    const timers = createManualTimers(1_700_000_000_000);
    const db = backend();
    const cache = createDataCache({ clock: timers });
    const queue = createWriteBehind<unknown>({
      write: db.write,
      batchSize: 10,
      maxQueue: 1,
      clock: timers,
      timers,
    });
    await cache.setBehind('cart:1', { items: 1 }, queue);
    expect(await cache.get('cart:1')).toEqual({ items: 1 });
    expect(db.rows.size).toBe(0);
    await expect(cache.setBehind('cart:2', { items: 2 }, queue)).rejects.toThrow(/queue is full/);
    expect(await cache.get('cart:2')).toBeUndefined();
    await queue.close(1000);
    expect(db.rows.get('cart:1')).toEqual({ items: 1 });
  });
});
