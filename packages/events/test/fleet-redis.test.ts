import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpCache,
  createMemoryStore,
  createTieredStore,
  type HeaderList,
  type HttpCache,
  type Origin,
} from '@gatecache/core';
import { createInvalidation, type Invalidation } from '@gatecache/core/invalidation';
import {
  createRedisBus,
  createRedisEpochStore,
  createRedisStore,
  type RedisBus,
  type RedisEpochStore,
  type RedisStore,
} from '@gatecache/redis';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';

let server: RedisServer;
let raw: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  raw = new Redis(server.url);
});

afterAll(async () => {
  await raw?.quit();
  await server?.dispose();
});

interface Instance {
  readonly cache: HttpCache;
  readonly invalidation: Invalidation;
  readonly redis: RedisStore;
  readonly bus: RedisBus;
  readonly epochs: RedisEpochStore;
  close(): Promise<void>;
}

/** One gateway instance: memory L1, Redis L2, Redis bus and epoch hash, as in production. */
async function instance(namespace: string): Promise<Instance> {
  const connection = { url: server.url, commandTimeout: 5_000 };
  const redis = createRedisStore({ ...connection, breaker: false });
  const bus = createRedisBus({ ...connection, channel: `gc1:invalidate:${namespace}` });
  const epochs = createRedisEpochStore({ ...connection, namespace });
  const invalidation = createInvalidation({
    namespace,
    bus,
    epochStore: epochs,
    reloadIntervalMs: 0,
  });
  const cache = createHttpCache({
    namespace,
    store: createTieredStore({ l1: createMemoryStore(), l2: redis }),
    bus,
    validator: invalidation,
  });
  invalidation.attach(cache);
  if (redis.client.status !== 'ready') {
    await new Promise<void>((resolve) => redis.client.once('ready', () => resolve()));
  }
  await invalidation.start();
  // The subscriber connects on first subscribe; wait until Redis counts it.
  await until(async () => Number((await raw.pubsub('NUMSUB', bus.channel))[1]) > 0);
  return {
    cache,
    invalidation,
    redis,
    bus,
    epochs,
    async close() {
      invalidation.close();
      await cache.close();
      await epochs.close();
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

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

const down: Origin = async (call) => {
  call.head(503, [['content-type', 'text/plain']], undefined);
  return Promise.resolve({ status: 503, headers: [], body: undefined, complete: true });
};

async function fetchBody(cache: HttpCache, url: string, org: Origin): Promise<string> {
  const result = await cache.handle(
    { method: 'GET', url, host: 'api.example.com', headers: {} },
    org,
  );
  if (result.type !== 'send' || result.response.body === undefined) return 'origin';
  return new TextDecoder().decode(result.response.body);
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 2));

describe('purges across two instances sharing Redis', () => {
  it('a tag purge on A makes B miss in L1 and L2', async () => {
    const ns = `t${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all([instance(ns), instance(ns)]);
    try {
      const count = { calls: 0 };
      const org = origin(count, [['cache-tag', 'user:42']]);
      const other = origin(count, [['cache-tag', 'user:7']]);
      await fetchBody(a.cache, '/api/users/42', org);
      await fetchBody(a.cache, '/api/users/7', other);
      // B finds both in Redis and keeps them in its L1.
      expect(await fetchBody(b.cache, '/api/users/42', org)).toBe('body 1');
      expect(await fetchBody(b.cache, '/api/users/7', other)).toBe('body 2');
      expect(count.calls).toBe(2);
      await tick();
      await a.invalidation.invalidateTags(['user:42']);
      await until(() => b.invalidation.versionOf('user:42') > 0);
      expect(await fetchBody(b.cache, '/api/users/42', org)).toBe('origin');
      expect(await fetchBody(b.cache, '/api/users/7', other)).toBe('body 2');
      expect(count.calls).toBe(3);
      // A never serves its own pre-purge copy either.
      expect(await fetchBody(a.cache, '/api/users/42', org)).not.toBe('body 1');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a URL pattern purge on A deletes from Redis and from B's memory", async () => {
    const ns = `p${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all([instance(ns), instance(ns)]);
    try {
      const count = { calls: 0 };
      const org = origin(count);
      for (const url of ['/api/products/1', '/api/products/2?page=3', '/api/orders/1']) {
        await fetchBody(a.cache, url, org);
        await fetchBody(b.cache, url, org);
      }
      expect(count.calls).toBe(3);
      expect(await a.invalidation.invalidatePattern({ url: '/api/products/**' })).toBe(2);
      await until(async () => (await fetchBody(b.cache, '/api/products/1', down)) === 'origin');
      expect(await fetchBody(b.cache, '/api/products/2?page=3', org)).not.toBe('body 2');
      expect(await fetchBody(b.cache, '/api/orders/1', org)).toBe('body 3');
      const left: string[] = [];
      for await (const key of a.redis.scan(`gc1:${ns}:*`)) left.push(key);
      expect(left.some((key) => key.includes('/api/orders/1'))).toBe(true);
      expect(left.some((key) => key.includes('/api/products/1'))).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a namespace version bump and an entity version bump reach B', async () => {
    const ns = `v${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all([instance(ns), instance(ns)]);
    try {
      const count = { calls: 0 };
      const org = origin(count, [['surrogate-key', 'user:1']]);
      const plain = origin(count);
      await fetchBody(a.cache, '/u/1', org);
      await fetchBody(a.cache, '/plain', plain);
      expect(await fetchBody(b.cache, '/u/1', org)).toBe('body 1');
      await tick();
      const version = await a.invalidation.bumpVersion('user:1');
      await until(() => b.invalidation.versionOf('user:1') === version);
      expect(await fetchBody(b.cache, '/u/1', org)).toBe('origin');
      expect(await fetchBody(b.cache, '/plain', plain)).toBe('body 2');
      await tick();
      await a.invalidation.invalidateAll();
      await until(() => b.invalidation.epochs.namespaceVersion > 0);
      expect(await fetchBody(b.cache, '/plain', plain)).toBe('origin');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a soft purge on A leaves B a stale copy to serve while the origin is down', async () => {
    const ns = `s${randomUUID().slice(0, 8)}`;
    const [a, b] = await Promise.all([instance(ns), instance(ns)]);
    try {
      const count = { calls: 0 };
      const org = origin(count, [['cache-tag', 'catalog']]);
      await fetchBody(a.cache, '/catalog', org);
      expect(await fetchBody(b.cache, '/catalog', org)).toBe('body 1');
      await tick();
      let remote = 0;
      b.invalidation.epochs.records();
      await a.invalidation.invalidateTags(['catalog'], { soft: true });
      await until(() => {
        remote = b.invalidation.epochs.records().filter((r) => r.soft).length;
        return remote > 0;
      });
      expect(await fetchBody(b.cache, '/catalog', down)).toBe('body 1');
      expect(await fetchBody(b.cache, '/catalog', org)).toBe('origin');
      expect(count.calls).toBe(2);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('an instance started after a purge, or reconnected, learns it from the Redis hash', async () => {
    const ns = `r${randomUUID().slice(0, 8)}`;
    const a = await instance(ns);
    let c: Instance | undefined;
    try {
      const count = { calls: 0 };
      const org = origin(count, [['cache-tag', 'late']]);
      await fetchBody(a.cache, '/late', org);
      await tick();
      await a.invalidation.invalidateTags(['late']);
      c = await instance(ns);
      expect(c.invalidation.versionOf('late')).toBe(a.invalidation.versionOf('late'));
      expect(await fetchBody(c.cache, '/late', org)).toBe('origin');
      // An epoch written while C's subscriber is cut off: C reloads when the bus reconnects.
      await tick();
      await a.epochs.save([{ kind: 'tag', name: 'missed', soft: false, at: Date.now() }]);
      expect(c.invalidation.versionOf('missed')).toBe(0);
      await raw.client('KILL', 'TYPE', 'pubsub');
      await until(() => c!.invalidation.versionOf('missed') > 0, 10_000);
    } finally {
      await Promise.all([a.close(), c?.close()]);
    }
  });
});
