import {
  createHttpCache,
  type HandleResult,
  type HttpCache,
  type LeaseManager,
  type Origin,
} from '@gatecache/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import {
  createRedisLeases,
  createRedisStore,
  type RedisLeases,
  type RedisStore,
} from '../src/index.ts';

/**
 * Instances that have just started: their Redis clients are still opening their first
 * connection when the first requests arrive. That is not a Redis failure, and must not be
 * treated as one (leases failing open, reads counting towards the breaker).
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

function leases(): RedisLeases {
  const created = createRedisLeases({ url: server.url });
  cleanup.push(() => created.close());
  return created;
}

/** A generous command timeout: what is tested is the first connection, not a slow machine. */
function store(): RedisStore {
  const created = createRedisStore({ url: server.url, commandTimeout: 2_000 });
  cleanup.push(() => created.close());
  return created;
}

function connected(created: RedisStore): Promise<void> {
  if (created.client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => created.client.once('ready', () => resolve()));
}

/** An origin shared by the fleet: counts its calls and answers a cacheable body after `delayMs`. */
function countingOrigin(delayMs: number): { origin: Origin; calls: () => number } {
  let calls = 0;
  const body = new TextEncoder().encode('{"products":[]}');
  const origin: Origin = async (call) => {
    calls++;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const headers: Array<[string, string]> = [
      ['content-type', 'application/json'],
      ['cache-control', 'public, max-age=60'],
    ];
    const action = call.head(200, headers, body);
    return { status: 200, headers, body: action.capture ? body : undefined, complete: true };
  };
  return { origin, calls: () => calls };
}

/** What the client got: the streamed origin response ('done') or a plan with this body. */
function answered(result: HandleResult): string {
  if (result.type === 'done') return 'streamed from origin';
  if (result.type === 'send') return new TextDecoder().decode(result.response.body);
  return `error: ${String(result.error)}`;
}

describe('instances whose Redis clients are still connecting', () => {
  it('three engines started at once: 60 concurrent cold requests make one origin call', async () => {
    const { origin, calls } = countingOrigin(100);
    // Created and asked in the same turn of the event loop: no client has connected yet.
    const fleet: HttpCache[] = [1, 2, 3].map(() =>
      createHttpCache({ store: store(), leases: leases(), leaseWaitMs: 3_000 }),
    );
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        fleet[i % 3]!.handle(
          { method: 'GET', url: '/api/products?cold=1', host: 'api.example', headers: {} },
          origin,
        ),
      ),
    );
    expect(calls()).toBe(1);
    const bodies = results.map(answered);
    expect(bodies.filter((body) => body === 'streamed from origin')).toHaveLength(1);
    expect(bodies.filter((body) => body === '{"products":[]}')).toHaveLength(59);
  });

  it('a lease asked for before the connection is ready waits for it rather than failing open', async () => {
    const [a, b] = [leases(), leases()];
    expect(a.client.status).not.toBe('ready');
    const [fromA, fromB] = await Promise.all([
      a.acquire('just-started', 5_000),
      b.acquire('just-started', 5_000),
    ]);
    // Failing open would hand both a release; one holder only, and the lease is in Redis.
    expect([fromA, fromB].filter((release) => release !== undefined)).toHaveLength(1);
    expect(await server.cli('EXISTS', 'gc1:lease:just-started')).toBe('1');
    await (fromA ?? fromB)!();
    expect(await server.cli('EXISTS', 'gc1:lease:just-started')).toBe('0');
  });

  it('reads before the connection is ready are misses that leave the breaker closed', async () => {
    const early = store();
    expect(early.client.status).not.toBe('ready');
    const reads = await Promise.all(
      Array.from({ length: 20 }, (_, i) => Promise.resolve(early.get(`early-${i}`))),
    );
    expect(reads.every((record) => record === undefined)).toBe(true);
    expect(early.state).toBe('closed');
    expect(early.stats.errors + early.stats.timeouts).toBe(0);
  });

  it('a write before the connection is ready waits for it and reaches Redis', async () => {
    const other = store();
    await connected(other);
    const { origin } = countingOrigin(0);
    // Fill an entry through an engine on a store that has connected, to get a real record.
    const filler = createHttpCache({ store: other });
    await filler.handle({ method: 'GET', url: '/x', host: 'h', headers: {} }, origin);
    const keys = (await server.cli('KEYS', 'gc1:*')).split('\n').filter((key) => key !== '');
    expect(keys).toHaveLength(1);
    const key = keys[0]!.slice('gc1:'.length);
    const record = await other.get(key);
    expect(record).toBeDefined();
    await server.cli('FLUSHALL');

    const early = store();
    expect(early.client.status).not.toBe('ready');
    await early.set(key, record!, 60_000);
    expect(await server.cli('EXISTS', `gc1:${key}`)).toBe('1');
    expect(early.stats.errors + early.stats.timeouts).toBe(0);
  });
});

describe('instances sharing leases', () => {
  it('an instance that takes a lease just released re-reads the store before fetching', async () => {
    const { origin, calls } = countingOrigin(0);
    const request = { method: 'GET', url: '/api/products?w=1', host: 'api.example', headers: {} };
    const first = createHttpCache({ store: store(), leases: leases(), leaseWaitMs: 3_000 });
    const own = leases();
    let filled = false;
    // The second instance asks for the lease after its lookup missed; the first instance's
    // whole fetch (lease, origin, store, release) runs in that window.
    const window: LeaseManager = {
      acquire: async (key, ttlMs) => {
        if (!filled) {
          filled = true;
          await first.handle(request, origin);
        }
        return own.acquire(key, ttlMs);
      },
    };
    const second = createHttpCache({ store: store(), leases: window, leaseWaitMs: 3_000 });
    const result = await second.handle(request, origin);
    expect(filled).toBe(true);
    expect(calls()).toBe(1);
    expect(result.type).toBe('send');
  });
});
