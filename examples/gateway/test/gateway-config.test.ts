import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../../../test/support/redis-server.ts';
import type { RedisServer } from '../../../test/support/redis-server.ts';
import { startDemoBackend } from '../src/demo-backend.ts';
import type { DemoBackend } from '../src/demo-backend.ts';
import { ADAPTERS } from '../src/gateway.ts';
import type { GatewayOptions } from '../src/gateway.ts';
import { request, startGateway, until } from './helpers.ts';

const SHIPPED_CONFIG = fileURLToPath(new URL('../gatecache.yaml', import.meta.url));

let redis: RedisServer;
let backend: DemoBackend;
let dir: string;
const opened: Array<() => Promise<void>> = [];
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});
beforeEach(async () => {
  await redis.cli('FLUSHALL');
  backend = await startDemoBackend();
  dir = mkdtempSync(join(tmpdir(), 'gatecache-gateway-config-'));
});
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const calls = (route: string): number => backend.calls.get(route) ?? 0;

function recordingLog() {
  const info: string[] = [];
  const warn: string[] = [];
  return {
    info,
    warn,
    log: { info: (m: string) => info.push(m), warn: (m: string) => warn.push(m) },
  };
}

async function gateway(options: Partial<GatewayOptions>) {
  const gw = await startGateway({ upstream: backend.url, ...options });
  opened.push(() => gw.close());
  return gw;
}

describe.each(ADAPTERS)('the shipped gatecache.yaml on %s', (adapter) => {
  it('governs the gateway: per-user profiles, search keys, no caching of /api/time', async () => {
    const { log } = recordingLog();
    const gw = await gateway({ adapter, configFile: SHIPPED_CONFIG, redisUrl: redis.url, log });
    const alice = { headers: { authorization: 'Bearer alice' } };
    const bob = { headers: { authorization: 'Bearer bob' } };

    // `private: true` + `vary_by: [Authorization]`: stored per user (the backend says private).
    await request(`${gw.url}/api/users/7/profile`, alice);
    const aliceAgain = await request(`${gw.url}/api/users/7/profile`, alice);
    expect(aliceAgain.headers['cache-status']).toMatch(/hit/);
    const bobFirst = await request(`${gw.url}/api/users/7/profile`, bob);
    expect(bobFirst.headers['cache-status']).not.toMatch(/hit/);
    await request(`${gw.url}/api/users/7/profile`);
    await request(`${gw.url}/api/users/7/profile`);
    expect(calls('GET /api/users/:id/profile')).toBe(4); // alice once, bob once, anonymous twice
    // The rule's tag template reached the entries: purging user:7 drops both users' copies.
    await gw.gateway.stack?.invalidation.invalidateTags(['user:7']);
    expect(
      (await request(`${gw.url}/api/users/7/profile`, alice)).headers['cache-status'],
    ).not.toMatch(/hit/);

    // `vary_by: [q, page, sort]`: other query parameters are not part of the key.
    await request(`${gw.url}/api/search?q=desk`);
    const tracked = await request(`${gw.url}/api/search?q=desk&utm_source=mail`);
    expect(tracked.headers['cache-status']).toMatch(/hit/);
    expect(calls('GET /api/search')).toBe(1);

    // `cache: false`: bypassed, and said so.
    const time = await request(`${gw.url}/api/time`);
    expect(time.headers['cache-status']).toMatch(/fwd=bypass/);

    // `layers: [l1]` keeps search out of Redis; products go to both tiers.
    await request(`${gw.url}/api/products`);
    expect(
      await until(
        async () => (await redis.cli('--scan', '--pattern', '*:gateway:/api/products')) !== '',
      ),
    ).toBe(true);
    expect(await redis.cli('--scan', '--pattern', '*/api/search*')).toBe('');
  });
});

describe('configuration file', () => {
  it('takes L1 sizes from cache.layers.l1 and the Redis URL from cache.layers.l2.connection', async () => {
    const file = join(dir, 'gatecache.yaml');
    writeFileSync(
      file,
      [
        'cache:',
        '  layers:',
        '    l1: { type: in_memory, max_size: 1MB, max_entries: 2 }',
        `    l2: { type: redis, connection: "${redis.url}" }`,
        '  policies:',
        '    - { pattern: /api/products/**, ttl: 60 }',
      ].join('\n'),
    );
    const gw = await gateway({ configFile: file, log: recordingLog().log });
    expect(gw.gateway.stack?.l2).toBeDefined();
    for (const id of [1, 2, 3, 4]) await request(`${gw.url}/api/products/${id}`);
    const l1 = gw.gateway.stack!.l1;
    expect(l1.size).toBe(2);
    expect(
      await until(async () => (await redis.cli('--scan', '--pattern', '*/api/products/*')) !== ''),
    ).toBe(true);
    // Pushed out of L1, still in L2: a hit without calling the backend.
    const first = await request(`${gw.url}/api/products/1`);
    expect(first.headers['cache-status']).toMatch(/hit/);
    expect(calls('GET /api/products/:id')).toBe(4);
  });

  it('reloads when the file changes, keeps the old rules when the new file is invalid, and reloads on SIGHUP', async () => {
    const file = join(dir, 'rules.yaml');
    const rules = (products: string) =>
      ['cache:', '  policies:', `    - { pattern: /api/products/**, ${products} }`].join('\n');
    writeFileSync(file, rules('cache: false'));
    const { info, warn, log } = recordingLog();
    const gw = await gateway({ configFile: file, log });
    await request(`${gw.url}/api/products`);
    expect((await request(`${gw.url}/api/products`)).headers['cache-status']).toMatch(/bypass/);

    writeFileSync(file, rules('ttl: 60'));
    expect(await until(() => info.some((m) => m.includes('reloaded')))).toBe(true);
    await request(`${gw.url}/api/products`);
    expect((await request(`${gw.url}/api/products`)).headers['cache-status']).toMatch(/hit/);

    writeFileSync(file, rules('ttl: "five minutes"'));
    expect(await until(() => warn.length > 0)).toBe(true);
    expect(warn[0]).toMatch(/rules\.yaml.*ttl.*previous rules stay in force/);
    expect((await request(`${gw.url}/api/products`)).headers['cache-status']).toMatch(/hit/);

    writeFileSync(file, rules('cache: false'));
    expect(
      await until(async () =>
        /bypass/.test(String((await request(`${gw.url}/api/products`)).headers['cache-status'])),
      ),
    ).toBe(true);
    // SIGHUP reads the file again even when it did not change.
    const reloads = info.length;
    process.emit('SIGHUP', 'SIGHUP');
    expect(await until(() => info.length > reloads)).toBe(true);
    expect(info.at(-1)).toMatch(/rules\.yaml: reloaded, 1 rules/);
  });
});
