import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvalidationRule } from '@gatecache/core/config';
import { createInvalidation, type PurgeSpec } from '@gatecache/core/invalidation';
import { startRedisServer, type RedisServer } from '../../../test/support/redis-server.ts';
import {
  createEventDispatcher,
  createNatsSource,
  createRabbitMqSource,
  createRedisEventSource,
  type DispatchResult,
  type EventLogger,
} from '../src/index.ts';

const RABBIT = 'amqp://guest:guest@127.0.0.1:5672';
const NATS = 'nats://127.0.0.1:4222';
const quiet: EventLogger = { warn: () => undefined, error: () => undefined };

const rules: InvalidationRule[] = [
  { event: 'user.profile.updated', action: 'invalidate_tags', tags: ['user:${user_id}'] },
  { event: 'product.updated', action: 'invalidate_pattern', pattern: 'products:*' },
  {
    event: 'system.config.changed',
    action: 'invalidate_all',
    condition: 'config.cache_version != current_version',
  },
];

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A real invalidation whose purges can be made to fail a number of times (a store outage). */
function setup(failures = 0) {
  const invalidation = createInvalidation();
  let failing = failures;
  const results: DispatchResult[] = [];
  const dispatcher = createEventDispatcher({
    rules,
    logger: quiet,
    variables: { current_version: 1 },
    invalidation: {
      invalidate(spec: PurgeSpec) {
        if (failing > 0) {
          failing--;
          return Promise.reject(new Error('epoch store unavailable'));
        }
        return invalidation.invalidate(spec);
      },
    },
  });
  return { invalidation, dispatcher, results, onResult: (r: DispatchResult) => results.push(r) };
}

describe('RabbitMQ', () => {
  let connection: amqp.ChannelModel;
  let channel: amqp.Channel;
  const queues: string[] = [];

  beforeAll(async () => {
    connection = await amqp.connect(RABBIT);
    channel = await connection.createChannel();
  });

  afterAll(async () => {
    for (const queue of queues) await channel.deleteQueue(queue).catch(() => undefined);
    await connection.close();
  });

  const queueName = () => {
    const name = `gatecache-test-${randomUUID()}`;
    queues.push(name);
    return name;
  };

  it('applies the seed rules from the queue and acknowledges each message after its purge', async () => {
    const queue = queueName();
    const { invalidation, dispatcher, results, onResult } = setup();
    const source = createRabbitMqSource({
      url: RABBIT,
      queue,
      dispatcher,
      onResult,
      logger: quiet,
    });
    await source.start();
    try {
      const send = (event: object) =>
        channel.sendToQueue(queue, Buffer.from(JSON.stringify(event)));
      send({ type: 'user.profile.updated', user_id: 42 });
      send({ type: 'product.updated', product_id: 7 });
      send({ type: 'system.config.changed', config: { cache_version: 2 } });
      send({ type: 'system.config.changed', config: { cache_version: 1 } });
      await until(() => results.length === 4);
      // Messages are handled concurrently (prefetch): compare what happened, not the order.
      expect(results.map((r) => r.outcome).sort()).toEqual([
        'applied',
        'applied',
        'applied',
        'ignored',
      ]);
      expect(invalidation.versionOf('user:42')).toBeGreaterThan(0);
      expect(invalidation.epochs.namespaceVersion).toBeGreaterThan(0);
      expect(
        invalidation.epochs.records().some((r) => r.kind === 'pattern' && r.name === 'products:*'),
      ).toBe(true);
      // Nothing left unacknowledged or waiting.
      await until(async () => (await channel.checkQueue(queue)).messageCount === 0);
    } finally {
      await source.close();
    }
    const check = await channel.checkQueue(queue);
    expect(check.messageCount).toBe(0);
  });

  it('acknowledges malformed and unknown events (logged), or dead-letters them when asked', async () => {
    const queue = queueName();
    const dead = queueName();
    await channel.assertQueue(dead, { durable: false });
    await channel.assertQueue(queue, {
      durable: false,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead },
    });
    const { dispatcher, results, onResult } = setup();
    const source = createRabbitMqSource({
      url: RABBIT,
      queue,
      dispatcher,
      onResult,
      logger: quiet,
      assertQueue: false,
      invalidMessages: 'dead-letter',
    });
    await source.start();
    try {
      channel.sendToQueue(queue, Buffer.from('{not json'));
      channel.sendToQueue(queue, Buffer.from(JSON.stringify({ type: 'order.shipped' })));
      await until(() => results.length === 2);
      await until(async () => (await channel.checkQueue(dead)).messageCount === 1);
      const letter = await channel.get(dead, { noAck: true });
      expect(letter !== false && letter.content.toString()).toBe('{not json');
      expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    } finally {
      await source.close();
    }
  });

  it('requeues a message whose purge failed, and acknowledges it once applied', async () => {
    const queue = queueName();
    const { invalidation, dispatcher, results, onResult } = setup(2);
    const source = createRabbitMqSource({
      url: RABBIT,
      queue,
      dispatcher,
      onResult,
      logger: quiet,
      retryDelayMs: 20,
    });
    await source.start();
    try {
      channel.sendToQueue(
        queue,
        Buffer.from(JSON.stringify({ type: 'user.profile.updated', user_id: 9 })),
      );
      await until(() => results.length === 1);
      expect(invalidation.versionOf('user:9')).toBeGreaterThan(0);
      await until(async () => (await channel.checkQueue(queue)).messageCount === 0);
    } finally {
      await source.close();
    }
  });
});

describe('NATS', () => {
  it('applies events from a subject and replies once applied', async () => {
    const subject = `gatecache.test.${randomUUID()}`;
    const { invalidation, dispatcher, results, onResult } = setup();
    const source = createNatsSource({
      servers: NATS,
      subject,
      dispatcher,
      onResult,
      logger: quiet,
    });
    await source.start();
    const client = await natsConnect({ servers: NATS });
    try {
      const reply = await client.request(
        subject,
        new TextEncoder().encode(JSON.stringify({ type: 'user.profile.updated', user_id: 5 })),
        { timeout: 5_000 },
      );
      // The reply comes after the purge: the tag is already purged when it arrives.
      expect(JSON.parse(new TextDecoder().decode(reply.data))).toEqual({
        ok: true,
        outcome: 'applied',
      });
      expect(invalidation.versionOf('user:5')).toBeGreaterThan(0);
      client.publish(subject, new TextEncoder().encode('garbage'));
      client.publish(
        subject,
        new TextEncoder().encode(JSON.stringify({ type: 'product.updated' })),
      );
      await until(() => results.length === 3);
      expect(results.map((r) => r.outcome).sort()).toEqual(['applied', 'applied', 'rejected']);
    } finally {
      await client.close();
      await source.close();
    }
  });
});

describe('Redis pub/sub', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('applies events published on a channel', async () => {
    const channel = `gatecache:events:${randomUUID()}`;
    const { invalidation, dispatcher, results, onResult } = setup();
    const source = createRedisEventSource({
      connection: server.url,
      channels: [channel],
      dispatcher,
      onResult,
      logger: quiet,
    });
    await source.start();
    const publisher = new Redis(server.url);
    try {
      await publisher.publish(
        channel,
        JSON.stringify({ type: 'user.profile.updated', user_id: 1 }),
      );
      await publisher.publish(channel, '{"type": 3}');
      await until(() => results.length === 2);
      expect(results.map((r) => r.outcome).sort()).toEqual(['applied', 'rejected']);
      expect(invalidation.versionOf('user:1')).toBeGreaterThan(0);
    } finally {
      await publisher.quit();
      await source.close();
    }
  });
});
