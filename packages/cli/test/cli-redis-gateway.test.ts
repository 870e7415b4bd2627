/**
 * The CLI against a gateway whose cache has two tiers, memory in front of a real redis-server:
 * stats and inspect see both tiers, /metrics tells which tier answered, bigkeys finds the
 * gateway's entries in Redis, and purges reach both tiers.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createMemoryStore, createTieredStore } from '@gatecache/core';
import { createMetrics, type CacheMetrics } from '@gatecache/core/metrics';
import { httpCache, mountAdmin } from '@gatecache/express';
import { createRedisStore, type RedisStore } from '@gatecache/redis';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import { cli } from './support.ts';

const TOKEN = 'redis-gateway-admin-token-0123';
let redis: RedisServer;
let l2: RedisStore;
let metrics: CacheMetrics;
let base: string;
let close: () => Promise<void>;
const l1 = createMemoryStore();
const calls = new Map<string, number>();
let env: Record<string, string>;

function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

beforeAll(async () => {
  redis = await startRedisServer();
  l2 = createRedisStore({ url: redis.url, commandTimeout: 1000 });
  // Commands before the connection is up fail fast (no offline queue): wait for it.
  if (l2.client.status !== 'ready') await once(l2.client, 'ready');
  metrics = createMetrics();
  const middleware = httpCache({
    ttl: 120,
    store: createTieredStore({ l1, l2 }),
    onEvent: metrics.onEvent,
  });
  metrics.observe(middleware.cache);
  const app = express();
  mountAdmin(app, { cache: middleware.cache, metrics, token: TOKEN });
  app.use(middleware);
  app.get('/reports/:id', (req, res) => {
    calls.set(req.path, (calls.get(req.path) ?? 0) + 1);
    res.set('cache-tag', 'reports');
    // Random rows: the Redis codec compresses, and sizes must survive it.
    res.json({
      id: req.params.id,
      rows: randomBytes(Number(req.params.id) * 1000).toString('base64'),
    });
  });
  ({ base, close } = await listen(createServer(app)));
  env = { GATECACHE_ADMIN_TOKEN: TOKEN, GATECACHE_URL: base };
});

afterAll(async () => {
  await close();
  await l2.close();
  metrics.close();
  await redis.dispose();
});

describe('gatecache CLI with a Redis tier', () => {
  it('inspect and stats see both tiers; /metrics tells which tier answered', async () => {
    for (const id of [1, 5, 20]) await fetch(`${base}/reports/${id}`);
    const inspect = JSON.parse((await cli(['inspect', '/reports/20', '--json'], env)).stdout) as {
      entries: Array<{ layers: string[]; tags: string[] }>;
    };
    expect(inspect.entries).toHaveLength(1);
    expect(inspect.entries[0]!.layers).toEqual(['l1', 'l2']);
    expect(inspect.entries[0]!.tags).toEqual(['reports']);

    l1.clear();
    await fetch(`${base}/reports/20`); // from Redis, back-filled into memory
    await fetch(`${base}/reports/20`); // from memory
    expect(calls.get('/reports/20')).toBe(1);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, 'gatecache_hits_total{route="default",layer="l2"}')).toBe(1);
    expect(sample(text, 'gatecache_hits_total{route="default",layer="l1"}')).toBe(1);
    expect(sample(text, 'gatecache_breaker_state{layer="l2",state="closed"}')).toBe(1);

    const stats = await cli(['stats'], env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^l1 \(memory\)/m);
    expect(stats.stdout).toMatch(/^l2 \(redis\S*\)\s+breaker closed/m);
  });

  it('bigkeys finds the gateway entries in Redis, largest first', async () => {
    const result = await cli(['bigkeys', '--redis', redis.url, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      top: Array<{ key: string; bytes: number }>;
      groups: Array<{ group: string; keys: number }>;
    };
    expect(report.top[0]!.key).toMatch(/\/reports\/20$/);
    expect(report.top[1]!.key).toMatch(/\/reports\/5$/);
    expect(report.groups[0]!.group).toMatch(/^default 127\.0\.0\.1:\d+\/reports$/);
    expect(report.groups[0]!.keys).toBe(3);
  });

  it('purge by pattern removes the entries from both tiers', async () => {
    const purge = await cli(['purge', '--pattern', '/reports/*', '--json'], env);
    expect(JSON.parse(purge.stdout)).toMatchObject({ purged: { patterns: 1, keys: 3 } });
    expect(await redis.cli('--scan', '--pattern', 'gc1:*')).toBe('');
    await fetch(`${base}/reports/20`);
    expect(calls.get('/reports/20')).toBe(2);
  });
});
