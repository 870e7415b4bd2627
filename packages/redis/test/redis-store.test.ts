import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createTieredStore } from '@gatecache/core';
import {
  createManualClock,
  expectSameRecord,
  incompressibleBytes,
  makeEntry,
  runStoreConformance,
} from '@gatecache/core/testing';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import { createRedisClient, createRedisStore, type RedisStore } from '../src/index.ts';

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

/** Generous timeouts: these tests are about what is stored, not about speed. */
const open = (keyPrefix: string, extra: Partial<Parameters<typeof createRedisStore>[0]> = {}) =>
  createRedisStore({ url: server.url, keyPrefix, commandTimeout: 5_000, breaker: false, ...extra });

const ready = async (store: RedisStore) => {
  if (store.client.status !== 'ready') {
    await new Promise<void>((resolve) => store.client.once('ready', () => resolve()));
  }
};

runStoreConformance('redis', async () => {
  const prefix = `gc1:${randomUUID()}:`;
  const store = open(prefix);
  await ready(store);
  return {
    store,
    realTtl: { ttlMs: 100, maxWaitMs: 5_000 },
    writeRaw: async (key, bytes) => {
      await raw.set(prefix + key, Buffer.from(bytes));
    },
    readRaw: async (key) => (await raw.getBuffer(prefix + key)) ?? undefined,
    dispose: () => store.close(),
  };
});

describe('redis store', () => {
  it('sends each command as it is issued unless auto-pipelining is asked for', async () => {
    const store = open('gc1:unpipelined:');
    await ready(store);
    expect(store.client.options.enableAutoPipelining).toBe(false);
    await store.set('k', makeEntry('k'), 60_000);
    // Without auto-pipelining the GET is on the socket before `get` returns: nothing is queued.
    const pending = Promise.resolve(store.get('k'));
    expect(store.client.autoPipelineQueueSize).toBe(0);
    expectSameRecord(await pending, makeEntry('k'));
    await store.close();
  });

  it('creates its client without a timer per command, unless redisOptions asks for one', async () => {
    // The wrapper bounds every call (see redis-faults.test.ts); ioredis's timer would be a second.
    const store = createRedisStore({ url: server.url, keyPrefix: 'gc1:timer:' });
    const asked = createRedisStore({
      url: server.url,
      keyPrefix: 'gc1:timer:',
      redisOptions: { commandTimeout: 200 },
    });
    // A client made to be shared (bus, leases) keeps its bound on every command.
    const shared = createRedisClient({ url: server.url });
    try {
      expect((store.client as Redis).options.commandTimeout).toBeUndefined();
      expect((asked.client as Redis).options.commandTimeout).toBe(200);
      expect((shared as Redis).options.commandTimeout).toBe(50);
      await ready(store);
      await store.set('k', makeEntry('k'), 60_000);
      expectSameRecord(await store.get('k'), makeEntry('k'));
    } finally {
      await Promise.all([store.close(), asked.close(), shared.quit()]);
    }
  });

  it('pipelines concurrent commands when asked and still gives every read its own record', async () => {
    const store = open('gc1:pipelined:', { redisOptions: { enableAutoPipelining: true } });
    await ready(store);
    expect(store.client.options.enableAutoPipelining).toBe(true);
    const records = Array.from({ length: 200 }, (_, i) =>
      makeEntry(`k${i}`, { body: incompressibleBytes(300 + i, i + 1) }),
    );
    for (const [i, record] of records.entries()) await store.set(`k${i}`, record, 60_000);
    // Issued in one tick, in an order unlike the writes: each answer must match its own key.
    const order = records.map((_, i) => (i * 37) % records.length);
    const read = await Promise.all(order.map((i) => Promise.resolve(store.get(`k${i}`))));
    order.forEach((i, n) => expectSameRecord(read[n], records[i]!));
    await store.close();
  });

  it('stores with a PX TTL under the prefix, in the binary envelope', async () => {
    const store = open('gc1:px:');
    await ready(store);
    const record = makeEntry('k', { body: incompressibleBytes(2_000) });
    await store.set('k', record, 12_345.2);
    const ttl = await raw.pttl('gc1:px:k');
    expect(ttl).toBeGreaterThan(12_000);
    expect(ttl).toBeLessThanOrEqual(12_346);
    const bytes = await raw.getBuffer('gc1:px:k');
    expect(bytes?.subarray(0, 3)).toEqual(Buffer.from([0x47, 0x43, 1]));
    // The body is stored raw, not base64: the value is the body plus a small header.
    expect(bytes!.length).toBeLessThan(2_000 + 1_000);
    await store.close();
  });

  it('compresses bodies above the threshold', async () => {
    const store = open('gc1:gz:', { compressionThreshold: 100 });
    await ready(store);
    const body = new TextEncoder().encode('{"a":1},'.repeat(10_000));
    const record = makeEntry('k', { body });
    await store.set('k', record, 60_000);
    expect((await raw.strlen('gc1:gz:k')) * 10).toBeLessThan(body.byteLength);
    expectSameRecord(await store.get('k'), record);
    await store.close();
  });

  it('clear deletes only its own prefix and leaves other data in the database alone', async () => {
    const store = open('gc1:mine:', { scanCount: 7 });
    await ready(store);
    for (let i = 0; i < 40; i++) await store.set(`k${i}`, makeEntry(`k${i}`), 60_000);
    await raw.set('someone-else', 'keep');
    await raw.set('gc1:theirs:k1', 'keep');
    await store.clear();
    expect(await raw.keys('gc1:mine:*')).toEqual([]);
    expect(await raw.get('someone-else')).toBe('keep');
    expect(await raw.get('gc1:theirs:k1')).toBe('keep');
    await store.close();
  });

  it('a prefix with glob characters scans and clears only itself', async () => {
    const store = open('gc1:[a]*:');
    const neighbour = open('gc1:[a]x:');
    await Promise.all([ready(store), ready(neighbour)]);
    await store.set('k', makeEntry('k'), 60_000);
    await neighbour.set('k', makeEntry('k'), 60_000);
    const found: string[] = [];
    for await (const key of store.scan('*')) found.push(key);
    expect(found).toEqual(['k']);
    await store.clear();
    expect(await store.get('k')).toBeUndefined();
    expect(await neighbour.get('k')).toBeDefined();
    await Promise.all([store.close(), neighbour.close()]);
  });

  it('scan matches a multi-byte character with ?', async () => {
    const store = open(`gc1:${randomUUID()}:`);
    await ready(store);
    await store.set('caf\u00e9', makeEntry('caf\u00e9'), 60_000);
    await store.set('cafe', makeEntry('cafe'), 60_000);
    await store.set('caf\u00e9s', makeEntry('caf\u00e9s'), 60_000);
    const found: string[] = [];
    for await (const key of store.scan('caf?')) found.push(key);
    expect(found.sort()).toEqual(['cafe', 'caf\u00e9']);
    await store.close();
  });

  it('two stores with different prefixes never read each other', async () => {
    const a = open('gc1:a:');
    const b = open('gc2:a:');
    await Promise.all([ready(a), ready(b)]);
    await a.set('k', makeEntry('k'), 60_000);
    expect(await b.get('k')).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });

  it('a store given a client uses it and leaves it open on close', async () => {
    const client = new Redis(server.url);
    const store = createRedisStore({ client, keyPrefix: 'gc1:given:' });
    await ready(store);
    expect(store.client).toBe(client);
    await store.set('k', makeEntry('k'), 60_000);
    expect(await store.get('k')).toBeDefined();
    await store.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('serves as L2 under a memory L1: another instance fills its L1 from Redis', async () => {
    const clock = createManualClock(Date.now());
    const prefix = `gc1:${randomUUID()}:`;
    const l2a = open(prefix);
    const l2b = open(prefix);
    await Promise.all([ready(l2a), ready(l2b)]);
    const a = createTieredStore({ l1: createMemoryStore({ clock }), l2: l2a, clock });
    const l1b = createMemoryStore({ clock });
    const b = createTieredStore({ l1: l1b, l2: l2b, clock });
    const record = makeEntry('k', {}, clock.now());
    await a.set('k', record, record.deleteAt - clock.now());
    expectSameRecord(await b.get('k'), record);
    expect(l1b.remainingTtl('k')).toBeGreaterThan(100_000);
    await Promise.all([a.close(), b.close()]);
  });

  it('rejects bad options naming the option', () => {
    expect(() => createRedisStore({ keyPrefix: 'x' })).toThrow(
      /exactly one of "client", "url" or "cluster"/,
    );
    expect(() => createRedisStore({ url: 'http://localhost' })).toThrow(/"url"/);
    expect(() => createRedisStore({ url: server.url, commandTimeout: 0 })).toThrow(
      /"commandTimeout"/,
    );
    expect(() =>
      createRedisStore({ url: server.url, redisOptions: { commandTimeout: 0 } }),
    ).toThrow(/"redisOptions.commandTimeout"/);
    expect(() => createRedisStore({ url: server.url, compression: 'lz4' as never })).toThrow(
      /"compression"/,
    );
    expect(() => createRedisStore({ url: server.url, scanCount: 0 })).toThrow(/"scanCount"/);
    expect(() => createRedisStore({ cluster: { nodes: ['nope'] } })).toThrow(/"cluster.nodes"/);
    expect(() => createRedisStore({ client: {} as never })).toThrow(/"client"/);
  });
});
