/**
 * Other tenants: one tenant flooding the cache with distinct URLs fills only its own budget of
 * the memory tier; another tenant's entries stay in memory and keep hitting. Tenants never read
 * each other's entries, through any adapter, with Redis as the shared tier.
 */
import { createMemoryStore, createTieredStore, type CacheStore } from '@gatecache/core';
import {
  budgetPerTenant,
  createBudgetedMemoryStore,
  createSealer,
  type BudgetedMemoryStore,
} from '@gatecache/core/security';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { ADAPTERS, startApp, type RunningApp } from './harness.ts';
import { redisStack, type RedisStack } from './redis-stack.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

const keys = [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }];
const FLOOD = 300;
const KEPT = 10;

describe.each(ADAPTERS)('tenant floods on %s', (adapter) => {
  let app: RunningApp | undefined;
  let stack: RedisStack | undefined;
  afterEach(async () => {
    await app?.close();
    await stack?.close();
    app = stack = undefined;
  });

  async function start(l1: CacheStore): Promise<RunningApp> {
    stack = await redisStack(redis.url, { sealer: createSealer({ keys }), tiered: false });
    app = await startApp(adapter, {
      options: {
        store: createTieredStore({ l1, l2: stack.store }),
        tenant: (request) => request.headers['x-tenant-id'] as string | undefined,
      },
      origin: (request) => ({
        headers: { 'cache-control': 'public, max-age=600', 'content-type': 'text/plain' },
        body: `${request.headers['x-tenant-id']}:${request.url}:${'x'.repeat(400)}`,
      }),
    });
    return app;
  }

  async function l1Holds(l1: CacheStore, tenant: string): Promise<number> {
    let count = 0;
    for await (const key of l1.scan!('*')) {
      const record = await l1.get(key);
      if (record?.kind === 'response' && new TextDecoder().decode(record.body).startsWith(tenant))
        count++;
    }
    return count;
  }

  it('tenant A fills its budget; tenant B\u2019s entries stay in memory and keep hitting', async () => {
    const l1: BudgetedMemoryStore = createBudgetedMemoryStore({
      budgets: budgetPerTenant({ tenant: { maxBytes: 64 * 1024, maxEntries: 50 } }),
    });
    const a = await start(l1);
    for (let i = 0; i < KEPT; i++) await a.get(`/b/${i}`, { 'x-tenant-id': 'tenant-b' });
    for (let i = 0; i < FLOOD; i++) await a.get(`/a/${i}`, { 'x-tenant-id': 'tenant-a' });
    expect(await l1Holds(l1, 'tenant-b')).toBe(KEPT);
    expect(await l1Holds(l1, 'tenant-a')).toBeLessThanOrEqual(50);
    const usage = l1.usage();
    expect(usage.find((u) => u.entries <= 50 && u.evictions > 0)).toBeDefined();
    expect(usage.filter((u) => u.evictions === 0).map((u) => u.entries)).toContain(KEPT);
    for (let i = 0; i < KEPT; i++) {
      const response = await a.get(`/b/${i}`, { 'x-tenant-id': 'tenant-b' });
      expect(await response.text()).toContain(`tenant-b:/b/${i}`);
    }
    expect(a.calls('/b/0')).toBe(1);
    // Same URL, other tenant: its own entry, never B's.
    const other = await a.get('/b/0', { 'x-tenant-id': 'tenant-a' });
    expect(await other.text()).toContain('tenant-a:/b/0');
  });

  it('with one shared memory tier of the same size, the same flood pushes B out of memory', async () => {
    const l1 = createMemoryStore({ maxBytes: 128 * 1024, maxEntries: 100 });
    const a = await start(l1);
    for (let i = 0; i < KEPT; i++) await a.get(`/b/${i}`, { 'x-tenant-id': 'tenant-b' });
    for (let i = 0; i < FLOOD; i++) await a.get(`/a/${i}`, { 'x-tenant-id': 'tenant-a' });
    expect(await l1Holds(l1, 'tenant-b')).toBe(0);
  });
});
