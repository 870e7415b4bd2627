import { afterEach, describe, expect, it } from 'vitest';
import type { GatecacheError } from '@gatecache/core';
import { createManualClock, expectSameRecord, makeEntry } from '@gatecache/core/testing';
import {
  freePort,
  startRedisServer,
  type RedisServer,
} from '../../../test/support/redis-server.ts';
import { createRedisStore, type RedisStore } from '../src/index.ts';

/** What the issue asks of a store facing a dead or frozen Redis: an answer within about the timeout. */
const COMMAND_TIMEOUT = 50;
const GENEROUS_BOUND = 750;

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

function openStore(port: number) {
  const clock = createManualClock(Date.now());
  const errors: string[] = [];
  const connectionErrors: Error[] = [];
  const store = createRedisStore({
    url: `redis://127.0.0.1:${port}`,
    keyPrefix: 'gc1:faults:',
    commandTimeout: COMMAND_TIMEOUT,
    breaker: { failureThreshold: 3, windowMs: 10_000, cooldownMs: 1_000 },
    clock,
    onError: (error: GatecacheError) => errors.push(error.code),
    onConnectionError: (error) => connectionErrors.push(error),
  });
  cleanup.push(() => store.close());
  return { store, clock, errors, connectionErrors };
}

async function timed<T>(run: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

function whenReady(store: RedisStore, withinMs = 10_000): Promise<void> {
  if (store.client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('client never became ready')), withinMs);
    store.client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function server(): Promise<RedisServer> {
  const started = await startRedisServer();
  cleanup.push(() => started.dispose());
  return started;
}

describe('redis store when Redis fails', () => {
  it('starts while Redis is down, answers misses at once, and works once Redis is up', async () => {
    const port = await freePort();
    const { store, connectionErrors } = openStore(port);
    const record = makeEntry('k', {}, Date.now());
    for (let i = 0; i < 3; i++) {
      const { value, ms } = await timed(() => store.get('k'));
      expect(value).toBeUndefined();
      expect(ms).toBeLessThan(GENEROUS_BOUND);
    }
    await expect(Promise.resolve(store.set('k', record, 60_000))).resolves.toBeUndefined();
    // The refused connection is reported (asynchronously) while the server is down.
    for (let waited = 0; connectionErrors.length === 0 && waited < 3000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(connectionErrors.length).toBeGreaterThan(0);

    const redis = await startRedisServer({ port });
    cleanup.push(() => redis.dispose());
    await whenReady(store);
  });

  it('stopped: every call returns within about the timeout, the breaker opens, and closes after restart', async () => {
    const redis = await server();
    const { store, clock, errors } = openStore(redis.port);
    await whenReady(store);
    const record = makeEntry('k', {}, Date.now());
    await store.set('k', record, 60_000);
    expectSameRecord(await store.get('k'), record);

    await redis.stop();
    for (let i = 0; i < 6; i++) {
      const { value, ms } = await timed(() => store.get('k'));
      expect(value).toBeUndefined();
      expect(ms).toBeLessThan(GENEROUS_BOUND);
      const write = await timed(() => store.set('k', record, 60_000));
      expect(write.ms).toBeLessThan(GENEROUS_BOUND);
    }
    expect(store.state).toBe('open');
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(store.stats.shortCircuits).toBeGreaterThan(0);

    await redis.start();
    await whenReady(store);
    clock.advance(1_000);
    // The probe after the cooldown reaches the restarted (empty) server and closes the breaker.
    expect(await store.get('k')).toBeUndefined();
    expect(store.state).toBe('closed');
    await store.set('k', record, 60_000);
    expectSameRecord(await store.get('k'), record);
  });

  it('frozen (SIGSTOP): every call returns within about the timeout, the breaker opens, and closes after SIGCONT', async () => {
    const redis = await server();
    const { store, clock, errors } = openStore(redis.port);
    await whenReady(store);
    const record = makeEntry('k', {}, Date.now());
    await store.set('k', record, 60_000);

    redis.pause();
    try {
      for (let i = 0; i < 6; i++) {
        const { value, ms } = await timed(() => store.get('k'));
        expect(value).toBeUndefined();
        expect(ms).toBeLessThan(GENEROUS_BOUND);
      }
      const write = await timed(() => store.set('k', record, 60_000));
      expect(write.ms).toBeLessThan(GENEROUS_BOUND);
      const del = await timed(() => store.delete('other'));
      expect(del.ms).toBeLessThan(GENEROUS_BOUND);
      expect(store.state).toBe('open');
      // The store's client arms no ioredis timer per command: the wrapper's bound is the one
      // that ends each call, and says so.
      expect(errors.length).toBeGreaterThanOrEqual(3);
      expect(errors.every((code) => code === 'ERR_STORE_TIMEOUT')).toBe(true);
      // While open, calls do not even reach the frozen server.
      const calls = store.stats.calls;
      await store.get('k');
      expect(store.stats.calls).toBe(calls);
    } finally {
      redis.resume();
    }

    clock.advance(1_000);
    // Answers queued while frozen drain first; the probe then succeeds.
    let state = store.state;
    for (let attempt = 0; attempt < 20 && state !== 'closed'; attempt++) {
      const got = await store.get('k');
      state = store.state;
      if (state === 'closed') expectSameRecord(got, record);
      else {
        clock.advance(1_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(state).toBe('closed');
  });
});
