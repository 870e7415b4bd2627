import { randomUUID } from 'node:crypto';
import memjs from 'memjs';
import type { Client } from 'memjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createManualClock,
  expectSameRecord,
  incompressibleBytes,
  makeEntry,
  runStoreConformance,
} from '@gatecache/core/testing';
import { freePort } from '../../../test/support/redis-server.ts';
import {
  startMemcachedServer,
  type MemcachedServer,
} from '../../../test/support/memcached-server.ts';
import { createMemcachedStore, type MemcachedStore } from '../src/index.ts';

let server: MemcachedServer;
let raw: Client;

beforeAll(async () => {
  server = await startMemcachedServer();
  raw = memjs.Client.create(server.servers, { logger: { log: () => {} } });
});

afterAll(async () => {
  raw?.close();
  await server?.dispose();
});

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0)) await close();
});

function open(extra: Partial<Parameters<typeof createMemcachedStore>[0]> = {}): MemcachedStore {
  const store = createMemcachedStore({
    servers: server.servers,
    commandTimeout: 5_000,
    breaker: false,
    ...extra,
  });
  cleanup.push(() => store.close());
  return store;
}

runStoreConformance('memcached', () => {
  const clock = createManualClock(Date.now());
  const store = open({ keyPrefix: `gc1:${randomUUID().slice(0, 8)}:`, clock });
  const serverKey = (key: string) => store.inner.serverKey(key);
  return {
    store,
    clock,
    writeRaw: async (key, bytes) => {
      await raw.set(serverKey(key), Buffer.from(bytes), { expires: 60 });
    },
    readRaw: async (key) => (await raw.get(serverKey(key))).value ?? undefined,
  };
});

describe('memcached store', () => {
  it('stores short plain keys as they are and hashes the rest under the prefix', () => {
    const store = open({ keyPrefix: 'gc1:' });
    expect(store.inner.serverKey('GET:/a?b=1')).toBe('gc1:GET:/a?b=1');
    for (const key of ['with space', 'caf\u00e9', 'x'.repeat(300), 'tab\there']) {
      const stored = store.inner.serverKey(key);
      expect(stored).toMatch(/^gc1:#[A-Za-z0-9_-]{43}$/);
    }
    expect(store.inner.serverKey('a b')).not.toBe(store.inner.serverKey('a  b'));
  });

  it('lets memcached itself drop an expired item', async () => {
    const store = open({ keyPrefix: 'gc1:expiry:' });
    await store.set('k', makeEntry('k'), 1_000);
    expect((await raw.get('gc1:expiry:k')).value).not.toBeNull();
    const started = Date.now();
    let gone = false;
    while (!gone && Date.now() - started < 5_000) {
      gone = (await raw.get('gc1:expiry:k')).value === null;
      if (!gone) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(gone).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('reads a record as a miss once its exact expiry passes, before memcached drops it', async () => {
    const clock = createManualClock(Date.now());
    const store = open({ keyPrefix: 'gc1:exact:', clock });
    const record = makeEntry('k', {}, clock.now());
    await store.set('k', record, 1_500);
    clock.advance(1_499);
    expectSameRecord(await store.get('k'), record);
    clock.advance(1);
    expect(await store.get('k')).toBeUndefined();
    expect((await raw.get('gc1:exact:k')).value).not.toBeNull();
  });

  it('compresses a compressible body', async () => {
    const store = open({ keyPrefix: 'gc1:gz:' });
    const body = new TextEncoder().encode('{"a":1},'.repeat(10_000));
    const record = makeEntry('k', { body });
    await store.set('k', record, 60_000);
    const stored = (await raw.get('gc1:gz:k')).value;
    expect(stored!.length * 10).toBeLessThan(body.byteLength);
    expectSameRecord(await store.get('k'), record);
  });

  it('reads as a miss, without throwing, an item too large for memcached', async () => {
    const small = await startMemcachedServer({ maxItemSize: '1m' });
    cleanup.push(() => small.dispose());
    const errors: string[] = [];
    const store = open({ servers: small.servers, onError: (error) => errors.push(error.code) });
    const record = makeEntry('big', { body: incompressibleBytes(1_100_000) });
    await store.set('big', record, 60_000);
    expect(await store.get('big')).toBeUndefined();
    expect(errors).toEqual(['ERR_STORE']);
  });

  it('answers within about the timeout when memcached is down or frozen, and opens the breaker', async () => {
    const port = await freePort();
    const clock = createManualClock(Date.now());
    const store = createMemcachedStore({
      servers: `127.0.0.1:${port}`,
      commandTimeout: 50,
      breaker: { failureThreshold: 3, windowMs: 10_000, cooldownMs: 1_000 },
      clock,
      onConnectionError: () => {},
    });
    cleanup.push(() => store.close());
    const stateOf = (): string => store.state;
    for (let i = 0; i < 10 && stateOf() !== 'open'; i++) {
      const started = performance.now();
      expect(await store.get('k')).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(750);
    }
    expect(stateOf()).toBe('open');
    expect(store.stats.errors + store.stats.timeouts).toBeGreaterThanOrEqual(3);

    const frozen = await startMemcachedServer({ port });
    cleanup.push(() => frozen.dispose());
    clock.advance(1_000);
    // Give memjs time to reconnect; the probe then closes the breaker.
    const deadline = Date.now() + 10_000;
    while (stateOf() !== 'closed' && Date.now() < deadline) {
      await store.get('k');
      if (stateOf() !== 'closed') {
        clock.advance(1_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(stateOf()).toBe('closed');

    frozen.pause();
    try {
      for (let i = 0; i < 10 && stateOf() !== 'open'; i++) {
        const started = performance.now();
        expect(await store.get('k')).toBeUndefined();
        expect(performance.now() - started).toBeLessThan(750);
      }
      expect(stateOf()).toBe('open');
    } finally {
      frozen.resume();
    }
  });

  it('rejects bad options naming the option', () => {
    expect(() => createMemcachedStore({})).toThrow(/exactly one of "servers" or "client"/);
    expect(() => createMemcachedStore({ servers: server.servers, keyPrefix: 'has space' })).toThrow(
      /"keyPrefix"/,
    );
    expect(() => createMemcachedStore({ servers: server.servers, commandTimeout: -1 })).toThrow(
      /"commandTimeout"/,
    );
    expect(() => createMemcachedStore({ servers: '' })).toThrow(/"servers"/);
  });
});
