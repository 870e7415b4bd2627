import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSameRecord, makeEntry, runStoreConformance } from '@gatecache/core/testing';
import { startRedisCluster, type RedisClusterHandle } from '../../../test/support/redis-cluster.ts';
import {
  createRedisLeases,
  createRedisStore,
  type RedisClient,
  type RedisStore,
} from '../src/index.ts';

let cluster: RedisClusterHandle;
let raw: Cluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  raw = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })));
  await whenReady(raw);
}, 60_000);

afterAll(async () => {
  await raw?.quit();
  await cluster?.dispose();
});

function whenReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

const nodes = () => cluster.nodes.map(({ host, port }) => `${host}:${port}`);

async function open(keyPrefix: string): Promise<RedisStore> {
  const store = createRedisStore({
    cluster: { nodes: nodes() },
    keyPrefix,
    commandTimeout: 5_000,
    breaker: false,
  });
  await whenReady(store.client);
  return store;
}

runStoreConformance('redis cluster', async () => {
  const prefix = `gc1:${randomUUID()}:`;
  const store = await open(prefix);
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

describe('redis store on a cluster', () => {
  it('spreads keys over the three masters, and clear and scan reach all of them', async () => {
    const store = await open('gc1:spread:');
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    for (const key of keys) await store.set(key, makeEntry(key), 60_000);
    const perNode = await Promise.all(raw.nodes('master').map((node) => node.dbsize()));
    expect(perNode.filter((count) => count > 0)).toHaveLength(3);

    const found = new Set<string>();
    for await (const key of store.scan('k*')) found.add(key);
    expect([...found].sort()).toEqual([...keys].sort());

    await raw.set('not-ours', 'keep');
    await store.clear();
    for (const key of keys) expect(await store.get(key)).toBeUndefined();
    expect(await raw.get('not-ours')).toBe('keep');
    await store.close();
  });

  it('reads a record written by one cluster client from another', async () => {
    const a = await open('gc1:shared:');
    const b = await open('gc1:shared:');
    const record = makeEntry('{user:1}:profile');
    await a.set('{user:1}:profile', record, 60_000);
    expectSameRecord(await b.get('{user:1}:profile'), record);
    await Promise.all([a.close(), b.close()]);
  });

  it('leases hold one holder across cluster clients', async () => {
    const managers = Array.from({ length: 3 }, () =>
      createRedisLeases({ cluster: { nodes: nodes() }, commandTimeout: 5_000, failOpen: false }),
    );
    await Promise.all(managers.map((m) => whenReady(m.client)));
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => managers[i % 3]!.acquire('cluster-cold', 10_000)),
    );
    const holders = results.filter((release) => release !== undefined);
    expect(holders).toHaveLength(1);
    await holders[0]!();
    expect(await raw.exists('gc1:lease:cluster-cold')).toBe(0);
    await Promise.all(managers.map((m) => m.close()));
  });
});
