import { describe, expect, it } from 'vitest';
import {
  createMemoryStore,
  createTieredStore,
  type InvalidationBus,
  type InvalidationMessage,
  type LeaseManager,
} from '@gatecache/core';
import { createDataCache, type DataCacheEvent } from '@gatecache/core/data';
import { createInvalidation } from '@gatecache/core/invalidation';
import { createFaultyStore, createManualClock } from '@gatecache/core/testing';

/** A deferred the test resolves when it wants the loader to finish. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Leases held in one process for several caches (what Redis leases do across a fleet). */
function localLeases(): LeaseManager & { granted: number } {
  const held = new Set<string>();
  const leases = {
    granted: 0,
    acquire(key: string) {
      if (held.has(key)) return Promise.resolve(undefined);
      held.add(key);
      leases.granted++;
      return Promise.resolve(() => {
        held.delete(key);
        return Promise.resolve();
      });
    },
  };
  return leases;
}

/** An in-process bus: a message reaches every other subscriber. */
function localBus(): () => InvalidationBus {
  const subscribers = new Set<{ owner: object; fn: (m: InvalidationMessage) => void }>();
  return () => {
    const owner = {};
    return {
      publish(message) {
        for (const s of subscribers) if (s.owner !== owner) s.fn(message);
        return Promise.resolve();
      },
      subscribe(fn) {
        const entry = { owner, fn };
        subscribers.add(entry);
        return () => subscribers.delete(entry);
      },
    };
  };
}

describe('data cache: read-through', () => {
  it('coalesces 50 concurrent callers of a cold key into one loader call', async () => {
    const cache = createDataCache({ clock: createManualClock() });
    let calls = 0;
    const gate = deferred<void>();
    const load = async () => {
      calls++;
      await gate.promise;
      return { id: 42, name: 'Ada' };
    };
    const callers = Array.from({ length: 50 }, () => cache.wrap('user:42', load, { ttl: 60 }));
    gate.resolve();
    const values = await Promise.all(callers);
    expect(calls).toBe(1);
    expect(values.every((v) => v.name === 'Ada')).toBe(true);
    // Then a hit: no further call.
    await expect(cache.wrap('user:42', load, { ttl: 60 })).resolves.toEqual({
      id: 42,
      name: 'Ada',
    });
    expect(calls).toBe(1);
  });

  it('calls the loader again once the TTL has passed (injected clock)', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    let calls = 0;
    const load = () => ++calls;
    expect(await cache.wrap('n', load, { ttl: 10 })).toBe(1);
    clock.advance(9_999);
    expect(await cache.wrap('n', load, { ttl: 10 })).toBe(1);
    clock.advance(1);
    expect(await cache.wrap('n', load, { ttl: 10 })).toBe(2);
    expect(calls).toBe(2);
  });

  it('stores values as JSON CacheEntry records any store can hold', async () => {
    const clock = createManualClock();
    const store = createMemoryStore({ clock });
    const cache = createDataCache({ clock, store, namespace: 'svc' });
    await cache.set('config', { a: [1, 2] }, { ttl: 5, tags: ['config'], staleIfError: 30 });
    const record = store.get(cache.storeKey('config'));
    expect(record?.kind).toBe('response');
    if (record?.kind !== 'response') return;
    expect(record.key).toBe('gc1:svc:data:config');
    expect(record.status).toBe(200);
    expect(record.headers).toEqual([['content-type', 'application/json']]);
    expect(new TextDecoder().decode(record.body)).toBe('{"a":[1,2]}');
    expect(record.tags).toEqual(['config']);
    expect(record.staleAt - record.storedAt).toBe(5000);
    expect(record.deleteAt - record.staleAt).toBe(30_000);
    expect(await cache.get('config')).toEqual({ a: [1, 2] });
    clock.advance(5000);
    expect(await cache.get('config')).toBeUndefined();
    expect(await cache.get('config', { allowStale: true })).toEqual({ a: [1, 2] });
  });

  it('never stores undefined and reads a store failure as a miss', async () => {
    const clock = createManualClock();
    const faulty = createFaultyStore(createMemoryStore({ clock }));
    const events: DataCacheEvent[] = [];
    const cache = createDataCache({ clock, store: faulty, onEvent: (e) => events.push(e) });
    let calls = 0;
    await cache.wrap('u', () => (calls++, undefined));
    await cache.wrap('u', () => (calls++, undefined));
    expect(calls).toBe(2);
    faulty.fault = { type: 'reject' };
    await expect(cache.wrap('x', () => 'from-loader')).resolves.toBe('from-loader');
    expect(events.some((e) => e.type === 'store-error')).toBe(true);
  });

  it('does not store a load that began before a delete of its key', async () => {
    const cache = createDataCache({ clock: createManualClock() });
    const gate = deferred<string>();
    const started = deferred<void>();
    const pending = cache.wrap('k', () => {
      started.resolve();
      return gate.promise;
    });
    await started.promise;
    await cache.delete('k');
    gate.resolve('old');
    expect(await pending).toBe('old');
    let calls = 0;
    expect(await cache.wrap('k', () => (calls++, 'new'))).toBe('new');
    expect(calls).toBe(1);
  });
});

describe('data cache: stale windows', () => {
  it('serves stale within staleWhileRevalidate and refreshes once in the background', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    let version = 0;
    const gate = { current: deferred<void>() };
    const load = async () => {
      version++;
      if (version > 1) await gate.current.promise;
      return `v${version}`;
    };
    const opts = { ttl: 10, staleWhileRevalidate: 20 };
    expect(await cache.wrap('k', load, opts)).toBe('v1');
    clock.advance(15_000);
    // Stale: answered at once from the cache, three callers, one refresh.
    expect(await cache.wrap('k', load, opts)).toBe('v1');
    expect(await cache.wrap('k', load, opts)).toBe('v1');
    expect(await cache.wrap('k', load, opts)).toBe('v1');
    expect(version).toBe(2);
    gate.current.resolve();
    expect(await cache.drain()).toBe(true);
    expect(await cache.wrap('k', load, opts)).toBe('v2');
    expect(version).toBe(2);
  });

  it('beyond staleWhileRevalidate the caller waits for the loader', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    let version = 0;
    const load = () => `v${++version}`;
    await cache.wrap('k', load, { ttl: 10, staleWhileRevalidate: 5, staleIfError: 60 });
    clock.advance(16_000);
    expect(await cache.wrap('k', load, { ttl: 10 })).toBe('v2');
  });

  it('serves stale within staleIfError when the loader throws, and throws after it', async () => {
    const clock = createManualClock();
    const events: DataCacheEvent[] = [];
    const cache = createDataCache({ clock, onEvent: (e) => events.push(e) });
    await cache.wrap('k', () => 'good', { ttl: 10, staleIfError: 60 });
    clock.advance(30_000);
    const failing = () => {
      throw new Error('backend down');
    };
    expect(await cache.wrap('k', failing, { ttl: 10, staleIfError: 60 })).toBe('good');
    expect(events.filter((e) => e.type === 'stale-if-error')).toHaveLength(1);
    clock.advance(40_001);
    await expect(cache.wrap('k', failing)).rejects.toThrow('backend down');
  });

  it('a failed background refresh keeps the stale value and is reported', async () => {
    const clock = createManualClock();
    const events: DataCacheEvent[] = [];
    const cache = createDataCache({ clock, onEvent: (e) => events.push(e) });
    await cache.wrap('k', () => 'v1', { ttl: 1, staleWhileRevalidate: 60 });
    clock.advance(2000);
    const boom = () => Promise.reject(new Error('refresh failed'));
    expect(await cache.wrap('k', boom)).toBe('v1');
    await cache.drain();
    expect(events.some((e) => e.type === 'refresh-error')).toBe(true);
    expect(await cache.get('k', { allowStale: true })).toBe('v1');
  });
});

describe('data cache: tags', () => {
  it('purges by tag with its own epochs', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    let calls = 0;
    const load = () => ({ calls: ++calls });
    await cache.wrap('user:1:profile', load, { ttl: 600, tags: ['user:1'] });
    await cache.wrap('user:2:profile', load, { ttl: 600, tags: ['user:2'] });
    await cache.invalidateTags(['user:1']);
    expect(await cache.wrap('user:1:profile', load, { ttl: 600, tags: ['user:1'] })).toEqual({
      calls: 3,
    });
    expect(await cache.wrap('user:2:profile', load, { ttl: 600, tags: ['user:2'] })).toEqual({
      calls: 2,
    });
  });

  it('shares tag epochs with an Invalidation (the HTTP cache purge module)', async () => {
    const clock = createManualClock();
    const invalidation = createInvalidation({ clock });
    const cache = createDataCache({ clock, validator: invalidation });
    let calls = 0;
    await cache.wrap('p', () => ++calls, { tags: ['products'] });
    clock.advance(1);
    await invalidation.invalidateTags(['products']);
    expect(await cache.wrap('p', () => ++calls, { tags: ['products'] })).toBe(2);
    clock.advance(1);
    await cache.invalidateTags(['products']);
    expect(await cache.wrap('p', () => ++calls, { tags: ['products'] })).toBe(3);
    invalidation.close();
  });
});

describe('data cache: across instances', () => {
  it('one loader call for a cold key across instances sharing leases and a store', async () => {
    const clock = createManualClock();
    const shared = createMemoryStore({ clock });
    const leases = localLeases();
    const a = createDataCache({ clock, store: shared, leases, leaseWaitMs: 2000 });
    const b = createDataCache({ clock, store: shared, leases, leaseWaitMs: 2000 });
    let calls = 0;
    const gate = deferred<void>();
    const load = async () => {
      calls++;
      await gate.promise;
      return 'value';
    };
    const first = a.wrap('cold', load);
    await new Promise((r) => setTimeout(r, 5));
    const second = b.wrap('cold', load);
    setTimeout(() => gate.resolve(), 20);
    expect(await Promise.all([first, second])).toEqual(['value', 'value']);
    expect(calls).toBe(1);
  });

  it('a delete on one instance drops the local copy on the others, L2 stays shared', async () => {
    const clock = createManualClock();
    const l2 = createMemoryStore({ clock });
    const bus = localBus();
    const storeA = createTieredStore({ l1: createMemoryStore({ clock }), l2, clock });
    const storeB = createTieredStore({ l1: createMemoryStore({ clock }), l2, clock });
    const a = createDataCache({ clock, store: storeA, bus: bus() });
    const b = createDataCache({ clock, store: storeB, bus: bus() });
    await a.set('k', 'one');
    expect(await b.get('k')).toBe('one');
    await a.set('k', 'two');
    await new Promise((r) => setTimeout(r, 0));
    // B's L1 copy of "one" was dropped; it reads the new value from L2.
    expect(await b.get('k')).toBe('two');
    await a.delete('k');
    await new Promise((r) => setTimeout(r, 0));
    expect(await b.get('k')).toBeUndefined();
    a.close();
    b.close();
  });
});

describe('data cache: write-through', () => {
  it('updates the cache only after the backend write succeeds', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    const db = new Map<string, unknown>();
    await cache.set('user:1', { name: 'old' });
    await expect(
      cache.setThrough('user:1', { name: 'new' }, () => {
        throw new Error('db refused');
      }),
    ).rejects.toThrow('db refused');
    expect(await cache.get('user:1')).toEqual({ name: 'old' });
    const result = await cache.setThrough('user:1', { name: 'new' }, (value) => {
      db.set('user:1', value);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(db.get('user:1')).toEqual({ name: 'new' });
    expect(await cache.get('user:1')).toEqual({ name: 'new' });
  });

  it('deletes the key when the cache write fails after the backend succeeded', async () => {
    const clock = createManualClock();
    const inner = createMemoryStore({ clock });
    const faulty = createFaultyStore(inner);
    const events: DataCacheEvent[] = [];
    const cache = createDataCache({ clock, store: faulty, onEvent: (e) => events.push(e) });
    await cache.set('k', 'old');
    // Sets fail, deletes still work: the old value must not survive.
    const set = faulty.set.bind(faulty);
    faulty.set = () => Promise.reject(new Error('store write failed'));
    let written: unknown;
    await cache.setThrough('k', 'new', (value) => {
      written = value;
    });
    faulty.set = set;
    expect(written).toBe('new');
    expect(inner.get(cache.storeKey('k'))).toBeUndefined();
    expect(await cache.get('k')).toBeUndefined();
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'write-through-cache-failed', cleared: true }),
    );
  });

  it('a load that read the backend before a write-through never stores its old value', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    let db = 'old';
    const gate = deferred<void>();
    const started = deferred<void>();
    const reading = cache.wrap('k', async () => {
      const value = db;
      started.resolve();
      await gate.promise;
      return value;
    });
    await started.promise;
    await cache.setThrough('k', 'new', (value) => {
      db = value as string;
    });
    gate.resolve();
    expect(await reading).toBe('old');
    expect(await cache.get('k')).toBe('new');
  });
});

describe('data cache: options', () => {
  it('rejects bad options naming them', () => {
    expect(() => createDataCache({ namespace: 'a b' })).toThrow(/option "namespace"/);
    expect(() => createDataCache({ ttl: -1 })).toThrow(/option "ttl"/);
    const cache = createDataCache();
    expect(() => cache.storeKey('')).toThrow(/option "key"/);
    expect(cache.storeKey('x'.repeat(400))).toMatch(/^gc1:default:data:#/);
  });
});
