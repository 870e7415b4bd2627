import { invalidOption } from '@gatecache/core';
import type { Redis, RedisOptions } from 'ioredis';
import { defaultLogger, handleMessage, type EventSource, type SourceOptions } from './source.ts';

export interface RedisEventSourceOptions extends SourceOptions {
  /** `redis://127.0.0.1:6379`, or ioredis options. A dedicated connection is made for SUBSCRIBE. */
  readonly connection: string | RedisOptions;
  /** Channels to subscribe to. */
  readonly channels: readonly string[];
}

/**
 * Subscribes to Redis pub/sub channels. Pub/sub delivers at most once and has no acknowledgement;
 * a message whose purge failed is logged and lost, so prefer a broker with acknowledgements (or
 * the epoch store's periodic reload) where every event matters.
 */
export function createRedisEventSource(options: RedisEventSourceOptions): EventSource {
  if (!Array.isArray(options?.channels) || options.channels.length === 0) {
    throw invalidOption('channels', options?.channels, 'a non-empty array of channel names');
  }
  const logger = options.logger ?? defaultLogger;
  let client: Redis | undefined;
  const inFlight = new Set<Promise<unknown>>();

  return {
    name: 'redis',
    async start() {
      const { Redis } = await import('ioredis');
      const redis =
        typeof options.connection === 'string'
          ? new Redis(options.connection, { lazyConnect: true, maxRetriesPerRequest: null })
          : new Redis({ ...options.connection, lazyConnect: true, maxRetriesPerRequest: null });
      redis.on('error', (error: Error) =>
        logger.warn('[gatecache] Redis event source error', { error: error.message }),
      );
      redis.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
        const task = handleMessage(options, message, logger).finally(() => inFlight.delete(task));
        inFlight.add(task);
      });
      client = redis;
      await redis.connect();
      await redis.subscribe(...options.channels);
    },
    async close() {
      const redis = client;
      client = undefined;
      if (redis === undefined) return;
      await redis.unsubscribe().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      redis.disconnect();
    },
  };
}
