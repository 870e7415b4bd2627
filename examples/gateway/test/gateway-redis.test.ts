import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from '../../../test/support/redis-server.ts';
import type { RedisServer } from '../../../test/support/redis-server.ts';
import { startDemoBackend } from '../src/demo-backend.ts';
import type { DemoBackend } from '../src/demo-backend.ts';
import { ADAPTERS } from '../src/gateway.ts';
import type { GatewayOptions } from '../src/gateway.ts';
import { request, startGateway, until } from './helpers.ts';

const quiet = { info: () => undefined, warn: () => undefined };

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

describe.each(ADAPTERS)('two gateways sharing Redis on %s', (adapter) => {
  let backend: DemoBackend;
  const opened: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    await redis.cli('FLUSHALL');
    backend = await startDemoBackend({ slowMs: 300 });
    opened.push(() => backend.close());
  });
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });
  const gateway = async (options: Partial<GatewayOptions> = {}) => {
    const gw = await startGateway({
      upstream: backend.url,
      adapter,
      redisUrl: redis.url,
      log: quiet,
      ...options,
    });
    opened.push(() => gw.close());
    return gw;
  };
  const calls = (route: string): number => backend.calls.get(route) ?? 0;

  it('stores in Redis: a second instance answers from L2 without calling the backend', async () => {
    const a = await gateway();
    const b = await gateway();
    const miss = await request(`${a.url}/api/products`);
    expect(miss.headers['cache-status']).toMatch(/fwd=uri-miss; stored/);
    const inRedis = async () =>
      (await redis.cli('--scan', '--pattern', '*:gateway:/api/products')) !== '';
    expect(await until(inRedis)).toBe(true);
    const fromL2 = await request(`${b.url}/api/products`);
    expect(fromL2.headers['cache-status']).toMatch(/hit/);
    expect(fromL2.body.equals(miss.body)).toBe(true);
    expect(calls('GET /api/products')).toBe(1);
    // B's L1 now holds it too.
    expect(b.gateway.stack!.l1.size).toBeGreaterThan(0);
  });

  it('carries invalidations over the bus: a POST through one instance drops the list on the other', async () => {
    const a = await gateway();
    const b = await gateway();
    await request(`${a.url}/api/products`);
    expect((await request(`${b.url}/api/products`)).headers['cache-status']).toMatch(/hit/);
    const created = await request(`${a.url}/api/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Standing desk' }),
    });
    expect(created.status).toBe(201);
    // Pub/sub delivery to B is asynchronous: wait until B's L1 no longer holds the list.
    const l1 = b.gateway.stack!.l1;
    expect(await until(() => l1.size === 0)).toBe(true);
    const after = await request(`${b.url}/api/products`);
    expect(after.headers['cache-status']).not.toMatch(/hit/);
    expect((JSON.parse(after.body.toString()) as { total: number }).total).toBe(9);
  });

  it('calls the backend once for a cold key requested on both instances at once (leases)', async () => {
    const a = await gateway();
    const b = await gateway();
    const results = await Promise.all(
      [a, b, a, b, a, b].map((gw) => request(`${gw.url}/api/slow`)),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(calls('GET /api/slow')).toBe(1);
  });
});

describe('Redis down', () => {
  it.each(ADAPTERS)('starts and serves from memory on %s', async (adapter) => {
    const backend = await startDemoBackend();
    const closedPort = await freePort();
    const warnings: string[] = [];
    const gw = await startGateway({
      upstream: backend.url,
      adapter,
      redisUrl: `redis://127.0.0.1:${closedPort}`,
      log: { info: () => undefined, warn: (message) => warnings.push(message) },
    });
    try {
      const first = await request(`${gw.url}/api/products`);
      const second = await request(`${gw.url}/api/products`);
      const time = await request(`${gw.url}/api/time`);
      expect([first.status, second.status, time.status]).toEqual([200, 200, 200]);
      expect(second.headers['cache-status']).toMatch(/hit/);
      expect(backend.calls.get('GET /api/products')).toBe(1);
      expect(warnings.some((w) => w.includes('Redis unreachable'))).toBe(true);
    } finally {
      await gw.close();
      await backend.close();
    }
  });
});
