import { createHttpCache, type LeaseManager, type Origin } from '@gatecache/core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import { createRedisLeases, createRedisStore } from '../src/index.ts';

/**
 * Two instances sharing Redis. The second looks the key up (a miss) just before the first stores
 * the entry and releases its lease; the lease is then free, and taking it must not mean fetching
 * the origin a second time.
 */

let server: RedisServer;
const cleanup: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  server = await startRedisServer();
});
afterEach(async () => {
  for (const close of cleanup.splice(0)) await close();
  await server.cli('FLUSHALL');
});
afterAll(async () => {
  await server?.dispose();
});

function instance(leasesOf?: (leases: LeaseManager) => LeaseManager) {
  const store = createRedisStore({ url: server.url, commandTimeout: 2_000 });
  const leases = createRedisLeases({ url: server.url });
  cleanup.push(
    () => store.close(),
    () => leases.close(),
  );
  return createHttpCache({
    store,
    leases: leasesOf === undefined ? leases : leasesOf(leases),
    leaseWaitMs: 3_000,
  });
}

function countingOrigin(): { origin: Origin; calls: () => number } {
  let calls = 0;
  const body = new TextEncoder().encode('{"products":[]}');
  const origin: Origin = (call) => {
    calls++;
    const headers: Array<[string, string]> = [
      ['content-type', 'application/json'],
      ['cache-control', 'public, max-age=60'],
    ];
    const action = call.head(200, headers, body);
    return Promise.resolve({
      status: 200,
      headers,
      body: action.capture ? body : undefined,
      complete: true,
    });
  };
  return { origin, calls: () => calls };
}

const request = { method: 'GET', url: '/api/products?w=1', host: 'api.example', headers: {} };

it('an instance that takes a lease just released re-reads the store before fetching', async () => {
  const { origin, calls } = countingOrigin();
  const first = instance();
  let filled = false;
  // The second instance's lease call happens after its lookup missed; the first instance's whole
  // fetch (lease, origin, store, release) runs in that window.
  const second = instance((leases) => ({
    acquire: async (key, ttlMs) => {
      if (!filled) {
        filled = true;
        await first.handle(request, origin);
      }
      return leases.acquire(key, ttlMs);
    },
  }));
  const result = await second.handle(request, origin);
  expect(filled).toBe(true);
  expect(calls()).toBe(1);
  expect(result.type).toBe('send');
});
