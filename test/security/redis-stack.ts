import { createMemoryStore, createTieredStore, type CacheStore } from '@gatecache/core';
import { revokeOnDelete, type Sealer } from '@gatecache/core/security';
import { createRedisStore, type RedisStore } from '@gatecache/redis';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export interface RedisStack {
  /** What the engine is given. */
  readonly store: CacheStore;
  readonly l2: RedisStore;
  /** A separate, plain client: what someone with write access to Redis has. */
  readonly raw: Redis;
  readonly prefix: string;
  /** The Redis keys (prefix included) whose engine key ends with `suffix`. */
  keysEnding(suffix: string): Promise<string[]>;
  /** Every value under the prefix, as bytes. */
  values(): Promise<Buffer[]>;
  close(): Promise<void>;
}

export interface StackOptions {
  readonly sealer?: Sealer;
  /** Memory L1 in front of Redis (default) or Redis alone. */
  readonly tiered?: boolean;
}

function ready(client: { status: string; once(event: 'ready', fn: () => void): unknown }) {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise<void>((resolve) => client.once('ready', () => resolve()));
}

/** A Redis L2 (sealed or not) under a prefix of its own, so tests sharing a server never meet. */
export async function redisStack(url: string, options: StackOptions = {}): Promise<RedisStack> {
  const prefix = `sec-${randomBytes(4).toString('hex')}:`;
  const l2 = createRedisStore({
    url,
    keyPrefix: prefix,
    commandTimeout: 2000,
    breaker: false,
    ...(options.sealer === undefined ? {} : { sealer: options.sealer }),
  });
  const guarded = options.sealer === undefined ? l2 : revokeOnDelete(l2, options.sealer);
  const store =
    options.tiered === false
      ? guarded
      : createTieredStore({ l1: createMemoryStore(), l2: guarded });
  const raw = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const all = () => raw.keys(`${prefix}*`);
  // The store runs without an offline queue: a command before the connection is a dropped write.
  await Promise.all([ready(l2.client as Redis), ready(raw)]);
  return {
    store,
    l2,
    raw,
    prefix,
    async keysEnding(suffix) {
      return (await all()).filter((key) => key.endsWith(suffix));
    },
    async values() {
      const keys = await all();
      const values = await Promise.all(keys.map((key) => raw.getBuffer(key)));
      return values.filter((value): value is Buffer => value !== null);
    },
    async close() {
      await l2.close();
      raw.disconnect();
    },
  };
}
