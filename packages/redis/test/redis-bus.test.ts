import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { InvalidationMessage } from '@gatecache/core';
import {
  freePort,
  startRedisServer,
  type RedisServer,
} from '../../../test/support/redis-server.ts';
import { createRedisBus, type RedisBus } from '../src/index.ts';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.dispose();
});

const buses: RedisBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

function open(channel = 'gc1:test-bus', instanceId?: string): RedisBus {
  const bus = createRedisBus({
    url: server.url,
    channel,
    commandTimeout: 2_000,
    ...(instanceId ? { instanceId } : {}),
  });
  buses.push(bus);
  return bus;
}

/** Resolves when the bus's subscriber has subscribed (the server counts it). */
async function subscribed(channel: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = await server.cli('pubsub', 'numsub', channel);
    if (Number(reply.split('\n')[1]) >= count) return;
    if (Date.now() > deadline) throw new Error(`subscribers never reached ${count}: ${reply}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function nextMessage(received: InvalidationMessage[], withinMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (received.length > 0) {
        clearInterval(poll);
        resolve(performance.now() - started);
      } else if (performance.now() - started > withinMs) {
        clearInterval(poll);
        reject(new Error(`no message within ${withinMs} ms`));
      }
    }, 1);
  });
}

describe('redis invalidation bus', () => {
  it('delivers a message to another instance within 100 ms, and not back to the sender', async () => {
    const a = open('gc1:deliver');
    const b = open('gc1:deliver');
    const atA: InvalidationMessage[] = [];
    const atB: InvalidationMessage[] = [];
    a.subscribe(
      (message) => atA.push(message),
      () => {},
    );
    b.subscribe(
      (message) => atB.push(message),
      () => {},
    );
    await subscribed('gc1:deliver', 2);

    const message: InvalidationMessage = {
      type: 'keys',
      keys: ['gc1:default:/a', 'gc1:default:/b'],
    };
    const arrived = nextMessage(atB, 100);
    await a.publish(message);
    // The bound the issue asks for, on loopback.
    expect(await arrived).toBeLessThan(100);
    expect(atB).toEqual([message]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(atA).toEqual([]);
  });

  it('carries tag and all messages with their optional fields', async () => {
    const a = open('gc1:kinds');
    const b = open('gc1:kinds');
    const atB: InvalidationMessage[] = [];
    b.subscribe(
      (message) => atB.push(message),
      () => {},
    );
    await subscribed('gc1:kinds', 1);
    const tags: InvalidationMessage = { type: 'tags', tags: ['products'], at: 123, soft: true };
    await a.publish(tags);
    await a.publish({ type: 'all' });
    const deadline = Date.now() + 2_000;
    while (atB.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(atB).toEqual([tags, { type: 'all' }]);
  });

  it('ignores malformed payloads and messages on other channels', async () => {
    const errors: Error[] = [];
    const bus = createRedisBus({
      url: server.url,
      channel: 'gc1:strict',
      onError: (e) => errors.push(e),
    });
    buses.push(bus);
    const other = open('gc1:elsewhere');
    const received: InvalidationMessage[] = [];
    bus.subscribe(
      (message) => received.push(message),
      () => {},
    );
    await subscribed('gc1:strict', 1);
    const raw = new Redis(server.url);
    await raw.publish('gc1:strict', 'not json');
    await raw.publish('gc1:strict', JSON.stringify({ v: 1, src: 'x', msg: { type: 'drop-db' } }));
    await raw.publish('gc1:strict', JSON.stringify({ v: 2, src: 'x', msg: { type: 'all' } }));
    await other.publish({ type: 'all' });
    await raw.publish('gc1:strict', JSON.stringify({ v: 1, src: 'x', msg: { type: 'all' } }));
    const deadline = Date.now() + 2_000;
    while (received.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(received).toEqual([{ type: 'all' }]);
    expect(errors.length).toBe(3);
    await raw.quit();
  });

  it('stops delivering to an unsubscribed listener', async () => {
    const a = open('gc1:unsub');
    const b = open('gc1:unsub');
    const first: InvalidationMessage[] = [];
    const second: InvalidationMessage[] = [];
    const unsubscribe = b.subscribe(
      (message) => first.push(message),
      () => {},
    );
    b.subscribe(
      (message) => second.push(message),
      () => {},
    );
    await subscribed('gc1:unsub', 1);
    unsubscribe();
    await a.publish({ type: 'all' });
    const deadline = Date.now() + 2_000;
    while (second.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(second).toEqual([{ type: 'all' }]);
    expect(first).toEqual([]);
  });

  it('rejects publishing an invalid message, and rejects (never hangs) while Redis is unreachable', async () => {
    const bus = createRedisBus({ url: 'redis://127.0.0.1:1', commandTimeout: 50 });
    buses.push(bus);
    await expect(bus.publish({ type: 'nope' } as never)).rejects.toThrow(/"message"/);
    await expect(bus.publish({ type: 'all' })).rejects.toMatchObject({ code: 'ERR_STORE' });
  });
});

describe('redis invalidation bus reset', () => {
  it('fires onReset once the subscriber is back after the server restarts, and delivers again', async () => {
    const own = await startRedisServer();
    try {
      const busOptions = { url: own.url, channel: 'gc1:reset', commandTimeout: 2_000 };
      const a = createRedisBus(busOptions);
      const b = createRedisBus(busOptions);
      buses.push(a, b);
      let resets = 0;
      const atB: InvalidationMessage[] = [];
      b.subscribe(
        (message) => atB.push(message),
        () => resets++,
      );
      const count = async (n: number) => {
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const reply = await own.cli('pubsub', 'numsub', 'gc1:reset').catch(() => '');
          if (Number(reply.split('\n')[1]) >= n) return;
          await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error('subscriber did not come back');
      };
      await count(1);
      expect(resets).toBe(0);

      await own.stop();
      await own.start();
      await count(1);
      const deadline = Date.now() + 5_000;
      while (resets === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(resets).toBe(1);

      // The publisher reconnects on its own backoff; retry until it is back.
      const publishDeadline = Date.now() + 10_000;
      for (;;) {
        try {
          await a.publish({ type: 'keys', keys: ['after-reset'] });
          break;
        } catch (error) {
          if (Date.now() > publishDeadline) throw error;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const arrive = Date.now() + 2_000;
      while (atB.length === 0 && Date.now() < arrive) await new Promise((r) => setTimeout(r, 5));
      expect(atB).toEqual([{ type: 'keys', keys: ['after-reset'] }]);
    } finally {
      await Promise.all(buses.splice(0).map((bus) => bus.close()));
      await own.dispose();
    }
  });

  it('fires onReset when it first subscribes after starting while Redis was down', async () => {
    const port = await freePort();
    const bus = createRedisBus({ url: `redis://127.0.0.1:${port}`, channel: 'gc1:late' });
    buses.push(bus);
    let resets = 0;
    bus.subscribe(
      () => {},
      () => resets++,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const late = await startRedisServer({ port });
    try {
      const deadline = Date.now() + 10_000;
      while (resets === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(resets).toBe(1);
    } finally {
      await Promise.all(buses.splice(0).map((b) => b.close()));
      await late.dispose();
    }
  });
});
