import { describe, expect, it } from 'vitest';
import { createHttpCache, type HttpCache } from '../src/engine.ts';
import { compileUrlPattern, createInvalidation, parseKey } from '../src/invalidation/index.ts';
import { createMemoryStore } from '../src/memory-store.ts';
import type { Origin } from '../src/origin.ts';
import { createManualClock } from '../src/testing/index.ts';
import type { CacheStore, HeaderList, InvalidationBus, InvalidationMessage } from '../src/types.ts';

function origin(count: { calls: number }, headers: HeaderList = []): Origin {
  return async (call) => {
    count.calls++;
    const bytes = new TextEncoder().encode(`body ${count.calls}`);
    const fields: HeaderList = [
      ['content-type', 'text/plain'],
      ['cache-control', 'max-age=600, stale-if-error=600'],
      ...headers,
    ];
    const action = call.head(200, fields, bytes);
    return Promise.resolve({
      status: 200,
      headers: fields,
      body: action.capture ? bytes : undefined,
      complete: true,
    });
  };
}

const failing: Origin = async (call) => {
  call.head(503, [], undefined);
  return Promise.resolve({ status: 503, headers: [], body: undefined, complete: true });
};

async function isHit(
  cache: HttpCache,
  url: string,
  org: Origin,
  host = 'api.example.com',
): Promise<boolean> {
  const result = await cache.handle({ method: 'GET', url, host, headers: {} }, org);
  return result.type === 'send';
}

/** Two engines in one process joined by a bus that delivers to the other side, as Redis pub/sub does. */
function pairedBus(): [InvalidationBus, InvalidationBus, InvalidationMessage[]] {
  const seen: InvalidationMessage[] = [];
  const listeners: Array<Set<(m: InvalidationMessage) => void>> = [new Set(), new Set()];
  const side = (me: 0 | 1): InvalidationBus => ({
    publish(message) {
      seen.push(message);
      for (const listener of listeners[me === 0 ? 1 : 0]!) listener(message);
      return Promise.resolve();
    },
    subscribe(onMessage) {
      listeners[me]!.add(onMessage);
      return () => listeners[me]!.delete(onMessage);
    },
  });
  return [side(0), side(1), seen];
}

describe('key parsing', () => {
  it('splits host, path and query, ignoring partition and variant suffixes', () => {
    expect(parseKey('gc1:ns:api.example.com:8080/a/b?x=1 p=abc v=e1&accept=x', 'gc1:ns:')).toEqual({
      host: 'api.example.com:8080',
      path: '/a/b',
      query: 'x=1',
    });
    expect(parseKey('gc1:ns:/a', 'gc1:ns:')).toEqual({ host: '', path: '/a', query: '' });
    expect(parseKey('gc1:other:/a', 'gc1:ns:')).toBeUndefined();
  });

  it('URL globs use the path grammar of rules', () => {
    const products = compileUrlPattern('/api/products/**', 'ns');
    expect(products.matches('gc1:ns:h/api/products')).toBe(true);
    expect(products.matches('gc1:ns:h/api/products/1/reviews?page=2 p=x')).toBe(true);
    expect(products.matches('gc1:ns:h/api/productsx')).toBe(false);
    expect(products.matches('gc1:ns2:h/api/products/1')).toBe(false);
    const one = compileUrlPattern('/api/users/*', 'ns');
    expect(one.matches('gc1:ns:h/api/users/1')).toBe(true);
    expect(one.matches('gc1:ns:h/api/users/1/orders')).toBe(false);
  });
});

describe('pattern purges over the store', () => {
  function setup(batchSize = 100, store: CacheStore = createMemoryStore()) {
    const clock = createManualClock();
    const invalidation = createInvalidation({ clock, batchSize });
    const cache = createHttpCache({ clock, store, validator: invalidation });
    invalidation.attach(cache);
    return { clock, invalidation, cache, store };
  }

  it('a URL glob deletes every matching key (variants and queries included) and nothing else', async () => {
    const { cache, invalidation } = setup(7);
    const count = { calls: 0 };
    const org = origin(count);
    const varying = origin(count, [['vary', 'accept']]);
    for (let i = 0; i < 30; i++) await isHit(cache, `/api/products/${i}?page=${i % 3}`, org);
    await isHit(cache, '/api/products', varying);
    await isHit(cache, '/api/users/1', org);
    await isHit(cache, '/api/products', varying, 'other.example.com');
    expect(count.calls).toBe(33);
    const removed = await invalidation.invalidatePattern({ url: '/api/products/**' });
    // 30 plain keys, and per host a vary record plus one variant.
    expect(removed).toBe(34);
    expect(await isHit(cache, '/api/products/3?page=0', org)).toBe(false);
    expect(await isHit(cache, '/api/products', varying)).toBe(false);
    expect(await isHit(cache, '/api/users/1', org)).toBe(true);
  });

  it('a key glob is confined to the namespace', async () => {
    const store = createMemoryStore();
    const { cache, invalidation } = setup(100, store);
    const neighbour = createHttpCache({ store, namespace: 'neighbour' });
    const count = { calls: 0 };
    const org = origin(count);
    await isHit(cache, '/api/products/1', org);
    await isHit(cache, '/api/orders/1', org);
    await isHit(neighbour, '/api/products/1', org);
    expect(await invalidation.invalidatePattern({ key: '*/api/products*' })).toBe(1);
    expect(await isHit(cache, '/api/products/1', org)).toBe(false);
    expect(await isHit(cache, '/api/orders/1', org)).toBe(true);
    expect(await isHit(neighbour, '/api/products/1', org)).toBe(true);
  });

  it('a soft pattern purge keeps the entries for stale-if-error', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const org = origin(count);
    await isHit(cache, '/api/products/1', org);
    clock.advance(1);
    expect(await invalidation.invalidatePattern({ url: '/api/products/*' }, { soft: true })).toBe(
      1,
    );
    expect(await isHit(cache, '/api/products/1', failing)).toBe(true);
    expect(await isHit(cache, '/api/products/1', org)).toBe(false);
  });

  it('announces deleted keys on the bus so other instances drop their local copies', async () => {
    const [busA, busB, seen] = pairedBus();
    const clock = createManualClock();
    const a = createHttpCache({ clock, store: createMemoryStore({ clock }), bus: busA });
    const b = createHttpCache({ clock, store: createMemoryStore({ clock }), bus: busB });
    const invalidation = createInvalidation({ clock, bus: busA, batchSize: 2, cache: a });
    const count = { calls: 0 };
    const org = origin(count);
    for (const url of ['/p/1', '/p/2', '/p/3', '/q/1']) {
      await isHit(a, url, org);
      await isHit(b, url, org);
    }
    // Instance B holds the same keys in its own memory: the bus is what reaches them.
    expect(await invalidation.invalidatePattern({ url: '/p/*' })).toBe(3);
    const announced = seen
      .filter((m) => m.type === 'keys')
      .flatMap((m) => (m.type === 'keys' ? m.keys : []));
    expect(announced).toHaveLength(3);
    expect(
      seen.filter((m) => m.type === 'keys').every((m) => m.type === 'keys' && m.keys.length <= 2),
    ).toBe(true);
    expect(await isHit(b, '/p/2', org)).toBe(false);
    expect(await isHit(b, '/q/1', org)).toBe(true);
  });

  it('tag purges reach other instances over the bus, with their epoch time', async () => {
    const [busA, busB, seen] = pairedBus();
    const clock = createManualClock();
    const ia = createInvalidation({ clock, bus: busA });
    const ib = createInvalidation({ clock, bus: busB });
    await ia.start();
    await ib.start();
    const b = createHttpCache({
      clock,
      store: createMemoryStore({ clock }),
      bus: busB,
      validator: ib,
    });
    const count = { calls: 0 };
    const org = origin(count, [['cache-tag', 'user:1']]);
    await isHit(b, '/users/1', org);
    clock.advance(1);
    await ia.invalidateTags(['user:1'], { soft: false });
    expect(seen).toEqual([{ type: 'tags', tags: ['user:1'], at: clock.now() }]);
    expect(await isHit(b, '/users/1', org)).toBe(false);
    ia.close();
    ib.close();
  });

  it('refuses pattern purges on a store that cannot scan', async () => {
    const memory = createMemoryStore();
    const noScan: CacheStore = {
      name: 'no-scan',
      get: (k) => memory.get(k),
      set: (k, r, t) => memory.set(k, r, t),
      delete: (k) => memory.delete(k),
      clear: () => memory.clear(),
    };
    const { invalidation } = setup(100, noScan);
    await expect(invalidation.invalidatePattern({ url: '/x/**' })).rejects.toThrow(/cannot scan/);
  });
});
