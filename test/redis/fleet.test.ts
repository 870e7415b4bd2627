import { createMemoryStore, createTieredStore, type HttpCacheOptions } from '@gatecache/core';
import { httpCache } from '@gatecache/express';
import { createRedisBus, createRedisLeases, createRedisStore } from '@gatecache/redis';
import express from 'express';
import { createServer, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../support/http.ts';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GET that resolves with status and body, or with status 0 when the request itself failed. */
function get(url: string): Promise<{ status: number; body: string; cacheStatus: string }> {
  return new Promise((resolve) => {
    // One Host for the whole fleet, as behind a load balancer: the key includes it.
    const req = request(url, { agent: false, headers: { host: 'api.example' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          cacheStatus: String(res.headers['cache-status'] ?? ''),
        }),
      );
      res.on('error', () => resolve({ status: 0, body: '', cacheStatus: '' }));
    });
    req.on('error', () => resolve({ status: 0, body: '', cacheStatus: '' }));
    req.end();
  });
}

interface Instance {
  readonly base: string;
  readonly close: () => Promise<void>;
  readonly middleware: ReturnType<typeof httpCache>;
}

/**
 * One gateway instance: an Express app with memory L1 + Redis L2, the Redis bus and Redis leases,
 * in front of an origin shared by the fleet (a counter stands for the backend).
 */
async function instance(
  redisUrl: string,
  origin: { calls: number; delayMs: number },
  extra: HttpCacheOptions = {},
): Promise<Instance> {
  const l2 = createRedisStore({ url: redisUrl, commandTimeout: 50, breaker: { cooldownMs: 300 } });
  const middleware = httpCache({
    store: createTieredStore({ l1: createMemoryStore(), l2 }),
    bus: createRedisBus({ url: redisUrl }),
    leases: createRedisLeases({ url: redisUrl }),
    leaseWaitMs: 3000,
    ...extra,
  });
  const app = express();
  app.use(middleware);
  app.get(/.*/, (req, res) => {
    origin.calls++;
    setTimeout(() => {
      res.set('Cache-Control', 'public, max-age=60').send(`body of ${req.path}`);
    }, origin.delayMs);
  });
  const { base, close } = await listen(createServer(app));
  return {
    base,
    middleware,
    close: async () => {
      await close();
      await middleware.cache.close();
    },
  };
}

describe('a fleet sharing Redis', () => {
  let redis: RedisServer;
  const instances: Instance[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    for (const i of instances) await i.close();
    await redis.dispose();
  });

  it('3 engines and 100 concurrent cold requests make exactly 1 origin call', async () => {
    const origin = { calls: 0, delayMs: 150 };
    const fleet = [
      await instance(redis.url, origin),
      await instance(redis.url, origin),
      await instance(redis.url, origin),
    ];
    instances.push(...fleet);
    // Let the Redis connections come up, so that the first measured request meets a warm fleet.
    await Promise.all(fleet.map((node) => get(`${node.base}/warm-up`)));
    await sleep(200);
    origin.calls = 0;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => get(`${fleet[i % 3]!.base}/cold/one`)),
    );
    expect(origin.calls).toBe(1);
    expect(results.every((r) => r.status === 200 && r.body === 'body of /cold/one')).toBe(true);
  });

  it('an entry stored by one instance is a hit on another (L2), and a purge on one reaches the other', async () => {
    const origin = { calls: 0, delayMs: 0 };
    const a = await instance(redis.url, origin);
    const b = await instance(redis.url, origin);
    instances.push(a, b);
    // Let the Redis connections come up: before that, each instance serves from memory alone.
    await Promise.all([a, b].map((node) => get(`${node.base}/warm-up`)));
    await sleep(300);
    origin.calls = 0;
    await get(`${a.base}/shared`);
    const fromB = await get(`${b.base}/shared`);
    expect(fromB.cacheStatus).toContain('hit');
    expect(origin.calls).toBe(1);
    await a.middleware.cache.invalidateUrl('/shared', 'api.example');
    await sleep(100);
    const after = await get(`${b.base}/shared`);
    expect(after.cacheStatus).toContain('miss');
    expect(origin.calls).toBe(2);
  });

  it('Redis stopped, then frozen, mid-traffic: zero failed requests, the breaker opens and closes', async () => {
    const origin = { calls: 0, delayMs: 0 };
    const states: string[] = [];
    const node = await instance(redis.url, origin);
    instances.push(node);
    const store = (node.middleware.cache.store as unknown as { l2: { state: string } }).l2;
    let failures = 0;
    let served = 0;
    let running = true;
    const traffic = (async () => {
      let n = 0;
      while (running) {
        // Every URL new: each request reads L2 (an L1 miss) and writes it.
        const r = await get(`${node.base}/busy/${n++}`);
        if (r.status !== 200) failures++;
        else served++;
      }
    })();
    await sleep(300);
    await redis.stop();
    await sleep(800);
    states.push(store.state);
    await redis.start();
    await sleep(1200);
    states.push(store.state);
    redis.pause();
    await sleep(800);
    states.push(store.state);
    redis.resume();
    await sleep(1200);
    states.push(store.state);
    running = false;
    await traffic;
    expect(failures).toBe(0);
    expect(served).toBeGreaterThan(50);
    expect(states[0]).not.toBe('closed');
    expect(states[1]).toBe('closed');
    expect(states[2]).not.toBe('closed');
    expect(states[3]).toBe('closed');
  }, 30_000);
});
