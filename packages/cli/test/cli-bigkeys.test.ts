import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import { groupOf } from '../src/bigkeys.ts';
import { cli } from './support.ts';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
  const client = new Redis(redis.url);
  // Keys as the Redis store writes them: its `gc1:` prefix before the engine's key.
  const pipeline = client.pipeline();
  for (let i = 0; i < 1200; i++) {
    pipeline.set(`gc1:gc1:default:api.test/items/${i}`, 'x'.repeat(100), 'PX', 600_000);
  }
  pipeline.set('gc1:gc1:default:api.test/reports/big', 'r'.repeat(200_000), 'PX', 600_000);
  pipeline.set('gc1:gc1:default:api.test/reports/medium', 'r'.repeat(50_000));
  pipeline.set('gc1:gc1:default:api.test/me p=hashofalice', 'a'.repeat(120_000), 'PX', 600_000);
  pipeline.set('other:unrelated', 'z'.repeat(300_000));
  await pipeline.exec();
  await client.call('CONFIG', 'RESETSTAT');
  client.disconnect();
});
afterAll(async () => {
  await redis.dispose();
});

describe('gatecache bigkeys', () => {
  it('lists the largest cache keys with SCAN and MEMORY USAGE, private keys as digests', async () => {
    const result = await cli(['bigkeys', '--redis', redis.url, '--top', '3', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      scanned: number;
      totalBytes: number;
      top: Array<{ key: string; bytes: number; ttlMs: number }>;
      groups: Array<{ group: string; keys: number; bytes: number }>;
    };
    expect(report.scanned).toBe(1203);
    expect(report.top.map((k) => k.key)).toEqual([
      'gc1:gc1:default:api.test/reports/big',
      expect.stringMatching(/^private:[\w-]{16}$/) as unknown,
      'gc1:gc1:default:api.test/reports/medium',
    ]);
    expect(report.top[0]!.bytes).toBeGreaterThan(200_000);
    expect(report.top[0]!.ttlMs).toBeGreaterThan(500_000);
    expect(report.top[2]!.ttlMs).toBe(-1);
    expect(report.groups.find((g) => g.group === 'default api.test/items')?.keys).toBe(1200);
    expect(result.stdout).not.toContain('hashofalice');
    expect(result.stdout).not.toContain('other:unrelated');
    // SCAN in batches, never KEYS.
    const stats = await redis.cli('INFO', 'commandstats');
    expect(stats).toMatch(/cmdstat_scan:calls=\d+/);
    expect(Number(/cmdstat_scan:calls=(\d+)/.exec(stats)![1])).toBeGreaterThan(1);
    expect(stats).not.toContain('cmdstat_keys');
    expect(stats).toContain('cmdstat_memory');
  });

  it('prints a readable table', async () => {
    const result = await cli(['bigkeys', '--redis', redis.url, '--top', '2']);
    expect(result.stdout).toMatch(/^1203 keys, [\d.]+ KiB/);
    expect(result.stdout).toContain('api.test/reports/big  (ttl');
    expect(result.stdout).toMatch(/1200 keys {2}default api\.test\/items/);
  });

  it('groups keys by namespace and first path segment', () => {
    expect(groupOf('gc1:gc1:default:h/products/1?x=1')).toBe('default h/products');
    expect(groupOf('gc1:gc1:ns:h/ p=abc')).toBe('ns h/');
    expect(groupOf('nonsense')).toBe('other');
  });
});
