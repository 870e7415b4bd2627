import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../../test/support/redis-server.ts';
import type { RedisServer } from '../../../test/support/redis-server.ts';
import { runDemo } from '../src/demo-flow.ts';
import { readFleetEnv } from '../src/env.ts';
import { startFleet } from '../src/fleet.ts';
import type { Fleet } from '../src/fleet.ts';

const TOKEN = 'fleet-test-purge-token-0123';
const quiet = { info: () => undefined, warn: () => undefined };

let redis: RedisServer;
let fleet: Fleet | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
  await redis.cli('FLUSHALL');
});
afterAll(async () => {
  await redis.dispose();
});

describe('fleet: two gateways on one Redis', () => {
  it('runs the demo: miss on A, hit on B from Redis, purge on A, miss on B', async () => {
    fleet = await startFleet({ redisUrl: redis.url, ports: [0, 0], purgeToken: TOKEN, log: quiet });
    const printed: string[] = [];
    const steps = await runDemo({
      a: fleet.a.url,
      b: fleet.b.url,
      purgeToken: TOKEN,
      print: (line) => printed.push(line),
    });
    expect(steps.map((s) => [s.instance, s.status, s.ok])).toEqual([
      ['A', 202, true],
      ['A', 200, true],
      ['B', 200, true],
      ['B', 200, true],
      ['A', 202, true],
      ['B', 200, true],
    ]);
    expect(steps[1]?.cacheStatus).toMatch(/fwd=uri-miss; stored/);
    // B's first answer is a hit made by the backend's first run: it came from Redis.
    expect(steps[2]?.cacheStatus).toMatch(/; hit/);
    expect(steps[2]?.backendCalls).toBe('1');
    expect(steps[5]?.cacheStatus).toMatch(/fwd=/);
    expect(steps[5]?.backendCalls).toBe('2');
    expect(fleet.backend.calls.get('GET /api/products')).toBe(2);
    expect(printed.filter((line) => line.startsWith('ok  '))).toHaveLength(6);

    // The demo can run again on the same fleet: it starts from a clean slate.
    const again = await runDemo({ a: fleet.a.url, b: fleet.b.url, purgeToken: TOKEN });
    expect(again.every((step) => step.ok)).toBe(true);
    expect(fleet.backend.calls.get('GET /api/products')).toBe(4);
  });

  it.each(['express', 'koa', 'hono'] as const)(
    'drops B’s L1 copy within 100 ms of a purge on A (%s)',
    async (adapter) => {
      fleet = await startFleet({
        redisUrl: redis.url,
        ports: [0, 0],
        purgeToken: TOKEN,
        adapter,
        log: quiet,
      });
      const { a, b } = fleet;
      await (await fetch(`${a.url}/api/products/4`)).arrayBuffer();
      const onB = await fetch(`${b.url}/api/products/4`);
      await onB.arrayBuffer();
      expect(onB.headers.get('cache-status')).toMatch(/hit/);
      const l1 = b.gateway.stack!.l1;
      const keys = async (): Promise<string[]> => {
        const found: string[] = [];
        for await (const key of l1.scan('*/api/products/4*')) found.push(key);
        return found;
      };
      expect(await keys()).not.toEqual([]);

      const purgedAt = performance.now();
      const purge = await fetch(`${a.url}/cache/invalidate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ urls: ['/api/products/4'] }),
      });
      expect(purge.status).toBe(202);
      let droppedAfter = Number.POSITIVE_INFINITY;
      while (performance.now() - purgedAt < 1_000) {
        if ((await keys()).length === 0) {
          droppedAfter = performance.now() - purgedAt;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      expect(droppedAfter).toBeLessThan(100);
      const after = await fetch(`${b.url}/api/products/4`);
      await after.arrayBuffer();
      expect(after.headers.get('cache-status')).not.toMatch(/hit/);
    },
  );

  it('reads ports, Redis URL and token from the environment, with the documented defaults', () => {
    expect(readFleetEnv({})).toMatchObject({
      portA: 3001,
      portB: 3002,
      redisUrl: 'redis://127.0.0.1:6379',
      purgeToken: 'fleet-demo-purge-token',
    });
    expect(
      readFleetEnv({ PORT_A: '4001', PORT_B: '4002', REDIS_URL: 'redis://u:secret@h:6380' }),
    ).toMatchObject({ portA: 4001, portB: 4002, redisShown: 'redis://***@h:6380' });
    expect(() => readFleetEnv({ PORT_A: 'x' })).toThrow(/PORT_A must be a port/);
  });
});
