import { withResilience, type StoredRecord } from '@gatecache/core';
import { expectSameRecord, makeEntry } from '@gatecache/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import { createRedisStore, type RedisStore } from '../src/index.ts';

/**
 * A process busy past a call's deadline (a long synchronous task) while Redis already answered:
 * the answer is waiting unread in the socket when the timer fires. That is not a slow store.
 */

let server: RedisServer;
let store: RedisStore;
beforeAll(async () => {
  server = await startRedisServer();
  // The client's own command timeout is generous: what is tested is the resilience layer's. No
  // auto-pipelining, so that a command is on the socket when `get` returns (not one turn later).
  store = createRedisStore({
    url: server.url,
    commandTimeout: 5_000,
    redisOptions: { enableAutoPipelining: false },
  });
  // Connected and answering before the test blocks the event loop.
  await store.set('warm', makeEntry('warm'), 60_000);
});
afterAll(async () => {
  await store?.close();
  await server?.dispose();
});

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // A synchronous task holding the event loop.
  }
}

it('reads an answer that arrived while the process was busy past the timeout, rather than timing out', async () => {
  const resilient = withResilience(store, { timeoutMs: 30, breaker: false });
  const record: StoredRecord = makeEntry('k');
  await resilient.set('k', record, 60_000);
  for (let round = 0; round < 3; round += 1) {
    const pending = resilient.get('k');
    // Ten times the timeout: long enough for Redis to answer even on a loaded machine.
    busyFor(300);
    expectSameRecord(await pending, record);
  }
  expect(resilient.stats.timeouts).toBe(0);
  expect(resilient.stats.errors).toBe(0);
});

it('still times out a call that stays unanswered', async () => {
  const resilient = withResilience(store, { timeoutMs: 30, breaker: false });
  await server.cli('CLIENT', 'PAUSE', '400', 'ALL');
  const started = performance.now();
  expect(await resilient.get('k')).toBeUndefined();
  expect(performance.now() - started).toBeLessThan(300);
  expect(resilient.stats.timeouts).toBe(1);
});
