import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import { createRedisLeases, type RedisLeases } from '../src/index.ts';

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

const open = (extra: Partial<Parameters<typeof createRedisLeases>[0]> = {}): RedisLeases =>
  createRedisLeases({ url: server.url, commandTimeout: 5_000, ...extra });

async function ready(leases: RedisLeases[]): Promise<void> {
  await Promise.all(
    leases.map((lease) =>
      lease.client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => lease.client.once('ready', () => resolve())),
    ),
  );
}

describe('redis leases', () => {
  it('100 concurrent acquires across 3 clients: exactly one holder', async () => {
    const managers = [
      open({ failOpen: false }),
      open({ failOpen: false }),
      open({ failOpen: false }),
    ];
    await ready(managers);
    const attempts = Array.from({ length: 100 }, (_, i) =>
      managers[i % 3]!.acquire('cold-key', 10_000),
    );
    const results = await Promise.all(attempts);
    const holders = results.filter((release) => release !== undefined);
    expect(holders).toHaveLength(1);
    // Once released, the next caller can take it.
    await holders[0]!();
    const again = await managers[1]!.acquire('cold-key', 10_000);
    expect(again).toBeDefined();
    await again!();
    await Promise.all(managers.map((m) => m.close()));
  });

  it('sets the lease with a PX TTL so a crashed holder never blocks for long', async () => {
    const leases = open();
    await ready([leases]);
    const release = await leases.acquire('ttl-key', 1_500);
    expect(release).toBeDefined();
    const ttl = await raw.pttl('gc1:lease:ttl-key');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_500);
    await release!();
    expect(await raw.exists('gc1:lease:ttl-key')).toBe(0);
    await leases.close();
  });

  it('a release after expiry does not delete the lease another holder took since', async () => {
    const a = open();
    const b = open();
    await ready([a, b]);
    const releaseA = await a.acquire('expiring', 50);
    expect(releaseA).toBeDefined();
    let releaseB: (() => Promise<void>) | undefined;
    const deadline = Date.now() + 5_000;
    while (!releaseB && Date.now() < deadline) {
      releaseB = await b.acquire('expiring', 10_000);
      if (!releaseB) await new Promise((r) => setTimeout(r, 20));
    }
    expect(releaseB).toBeDefined();
    await releaseA!();
    expect(await raw.exists('gc1:lease:expiring')).toBe(1);
    // Releasing twice is harmless.
    await releaseA!();
    expect(await raw.exists('gc1:lease:expiring')).toBe(1);
    await releaseB!();
    expect(await raw.exists('gc1:lease:expiring')).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });

  it('with Redis unreachable, fails open by default and rejects when failOpen is false', async () => {
    const errors: string[] = [];
    const open1 = createRedisLeases({
      url: 'redis://127.0.0.1:1',
      commandTimeout: 50,
      onError: (e) => errors.push(e.code),
    });
    const closed = createRedisLeases({
      url: 'redis://127.0.0.1:1',
      commandTimeout: 50,
      failOpen: false,
    });
    const release = await open1.acquire('k', 1_000);
    expect(typeof release).toBe('function');
    await release!();
    expect(errors).toEqual(['ERR_STORE']);
    await expect(closed.acquire('k', 1_000)).rejects.toMatchObject({ code: 'ERR_STORE' });
    await Promise.all([open1.close(), closed.close()]);
  });

  it('rejects a non-positive TTL naming it', async () => {
    const leases = open();
    await expect(leases.acquire('k', 0)).rejects.toThrow(/"ttlMs"/);
    await leases.close();
  });
});
