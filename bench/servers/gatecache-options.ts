/**
 * The gatecache options of each bench variant, shared by the three adapter servers so that the
 * frameworks are measured with the same cache configuration.
 *
 * - `l1`: defaults (the memory tier); the origin's `Cache-Control: public, max-age=…` makes it storable.
 * - `l2`: a Redis store alone (no L1), so every hit is a Redis round trip.
 * - `l2-front`: `l2` with the adapter's front mount and `remote: true`: Redis hits are answered
 *   before the framework runs.
 * - `fill`: a memory store large enough for the memory mode's 100,000 entries.
 * - `fill-bounded`: a 64 MiB memory store, which the memory mode overfills to check that the
 *   process's memory stays within the configured L1 size.
 * - `tags`: the `fill` store behind an engine with read-time tag invalidation, for the tag purge mode.
 * - `shared`: a Redis store and Redis leases, for several engines in separate processes sharing one
 *   Redis (a fleet): one origin call per cold key across all of them.
 */
import { importOptional } from '../lib/optional-import.ts';
import { MAX_AGE_SECONDS, onPurge, redisUrl, unavailable } from './common.ts';

export const GATECACHE_VARIANTS = [
  'l1',
  'l1-front',
  'l2',
  'l2-front',
  'fill',
  'fill-bounded',
  'shared',
  'tags',
] as const;
export type GatecacheVariant = (typeof GATECACHE_VARIANTS)[number];

/** How a variant mounts the cache in front of the framework, or undefined for middleware only. */
export function frontMount(variant: GatecacheVariant): { remote: boolean } | undefined {
  if (variant === 'l1-front') return { remote: false };
  if (variant === 'l2-front') return { remote: true };
  return undefined;
}

type Factory = (options: Record<string, unknown>) => unknown;

export async function gatecacheOptions(
  variant: GatecacheVariant,
): Promise<Record<string, unknown>> {
  const ttl = MAX_AGE_SECONDS;
  switch (variant) {
    case 'l1':
    case 'l1-front':
      return { ttl };
    case 'tags':
      return tagOptions(ttl);
    case 'fill': {
      const core = await importOptional('@gatecache/core', ['createMemoryStore']);
      if (!core.ok) unavailable(core.reason);
      const createMemoryStore = core.module.createMemoryStore as Factory;
      const store = createMemoryStore({
        maxEntries: 200_000,
        maxBytes: 2 ** 30,
        maxEntryBytes: 1024 * 1024,
      });
      return { ttl, store };
    }
    case 'fill-bounded': {
      const core = await importOptional('@gatecache/core', ['createMemoryStore']);
      if (!core.ok) unavailable(core.reason);
      const createMemoryStore = core.module.createMemoryStore as Factory;
      // The byte bound is the one that binds: 64 MiB holds far fewer than 100,000 1 KB entries.
      const store = createMemoryStore({ maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 });
      return { ttl, store };
    }
    case 'l2':
    case 'l2-front': {
      const redis = await importOptional('@gatecache/redis', ['createRedisStore']);
      if (!redis.ok) unavailable(redis.reason);
      const createRedisStore = redis.module.createRedisStore as Factory;
      return { ttl, store: createRedisStore({ url: redisUrl() }) };
    }
    case 'shared': {
      const redis = await importOptional('@gatecache/redis', [
        'createRedisStore',
        'createRedisLeases',
      ]);
      if (!redis.ok) unavailable(redis.reason);
      const createRedisStore = redis.module.createRedisStore as Factory;
      const createRedisLeases = redis.module.createRedisLeases as Factory;
      return {
        ttl,
        store: createRedisStore({ url: redisUrl() }),
        leases: createRedisLeases({ url: redisUrl() }),
      };
    }
  }
}

async function tagOptions(ttl: number): Promise<Record<string, unknown>> {
  const core = await importOptional('@gatecache/core', ['createMemoryStore', 'createHttpCache']);
  if (!core.ok) unavailable(core.reason);
  const invalidation = await importOptional('@gatecache/core/invalidation', ['createInvalidation']);
  if (!invalidation.ok) unavailable(invalidation.reason);
  const createMemoryStore = core.module.createMemoryStore as Factory;
  const createHttpCache = core.module.createHttpCache as Factory;
  const createInvalidation = invalidation.module.createInvalidation as (options: object) => {
    attach(cache: unknown): unknown;
    start(): Promise<void>;
    invalidateTags(tags: readonly string[]): Promise<number>;
  };
  const tags = createInvalidation({});
  const store = createMemoryStore({
    maxEntries: 200_000,
    maxBytes: 2 ** 30,
    maxEntryBytes: 1024 * 1024,
  });
  const cache = createHttpCache({ ttl, store, validator: tags });
  tags.attach(cache);
  await tags.start();
  onPurge((list) => tags.invalidateTags(list));
  return { cache };
}

/** The adapter's `httpCache` factory, or the reason this server cannot run. */
export async function loadHttpCache<M>(
  specifier: string,
): Promise<(options: Record<string, unknown>) => M> {
  const adapter = await importOptional(specifier, ['httpCache']);
  if (!adapter.ok) unavailable(adapter.reason);
  return adapter.module.httpCache as (options: Record<string, unknown>) => M;
}
