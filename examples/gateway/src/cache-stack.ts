/**
 * Everything behind the gateway's cache middleware, whatever the framework: the engine, its tiers
 * (memory, or memory in front of Redis), the fleet's bus, leases and purge epochs, the rules of a
 * configuration file (reloaded when it changes), the purge endpoint and metrics. The adapters only
 * mount what this builds.
 */
import { createHttpCache, createMemoryStore, createTieredStore } from '@gatecache/core';
import type {
  CachePolicy,
  CacheRequest,
  CacheStore,
  HttpCache,
  HttpCacheOptions,
  MemoryStore,
} from '@gatecache/core';
import { compilePolicies, watchConfigFile } from '@gatecache/core/config';
import type { ConfigWatcher, LoadedConfig, PolicyFunction } from '@gatecache/core/config';
import { createInvalidation, createPurgeHandler } from '@gatecache/core/invalidation';
import type { Invalidation, PurgeHandler } from '@gatecache/core/invalidation';
import { createMetrics } from '@gatecache/core/metrics';
import type { CacheMetrics } from '@gatecache/core/metrics';
import {
  createRedisBus,
  createRedisClient,
  createRedisEpochStore,
  createRedisLeases,
  createRedisStore,
} from '@gatecache/redis';
import type { RedisClient, RedisEpochStore, RedisLeases } from '@gatecache/redis';

/** Engine options the gateway lets a caller set; tiers, bus, leases and rules are its own. */
export type GatewayEngineOptions = Omit<
  HttpCacheOptions,
  'store' | 'bus' | 'leases' | 'validator' | 'policy'
>;

export interface CacheStackOptions {
  readonly engine?: GatewayEngineOptions;
  /** Redis for the shared tier, bus, leases and purge epochs; memory only without it. */
  readonly redisUrl?: string | undefined;
  /** A gatecache YAML/JSON file: rules, L1 sizes, and the Redis URL when `redisUrl` is unset. */
  readonly configFile?: string | undefined;
  /** Mounts the purge endpoint at `/cache/invalidate` with this bearer token. */
  readonly purgeToken?: string | undefined;
  /** Turns on metrics (and the admin endpoint, mounted by the adapter) with this token. */
  readonly adminToken?: string | undefined;
  /** Where reloads, refused rules and Redis trouble are reported. Default `console`. */
  readonly log?: GatewayLog;
}

export interface GatewayLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface CacheStack {
  readonly cache: HttpCache;
  readonly invalidation: Invalidation;
  readonly purge: PurgeHandler | undefined;
  readonly metrics: CacheMetrics | undefined;
  readonly adminToken: string | undefined;
  /** The local tier, and the shared one when Redis is configured. */
  readonly l1: MemoryStore;
  readonly l2: CacheStore | undefined;
  /** The configuration in force (the last one that validated), when a file is used. */
  readonly config: LoadedConfig | undefined;
  /** Reads the configuration file again; rejects and keeps the old rules when it is invalid. */
  reloadConfig(): Promise<void>;
  close(): Promise<void>;
}

/** Every instance of one fleet must use the same namespace: it is in every key and epoch. */
export const GATEWAY_NAMESPACE = 'gateway';

export async function createCacheStack(options: CacheStackOptions = {}): Promise<CacheStack> {
  const log = options.log ?? console;
  const namespace = options.engine?.namespace ?? GATEWAY_NAMESPACE;

  let watcher: ConfigWatcher | undefined;
  let rules: PolicyFunction | undefined;
  if (options.configFile !== undefined) {
    watcher = await watchConfigFile(options.configFile, {
      sighup: true,
      onChange: (config) => {
        try {
          rules = compilePolicies(config);
          log.info(`[gatecache] ${config.source}: reloaded, ${config.rules.length} rules`);
        } catch (error) {
          log.warn(`${(error as Error).message} (the previous rules stay in force)`);
        }
      },
      onError: (error) => log.warn(`${error.message} (the previous rules stay in force)`),
    });
    rules = compilePolicies(watcher.current);
  }
  const layers = watcher?.current.cache.layers;

  const l1 = createMemoryStore({
    ...(layers?.l1?.maxSizeBytes !== undefined && { maxBytes: layers.l1.maxSizeBytes }),
    ...(layers?.l1?.maxEntries !== undefined && { maxEntries: layers.l1.maxEntries }),
  });
  const redisUrl = nonEmpty(options.redisUrl) ?? nonEmpty(layers?.l2?.connection);

  let client: RedisClient | undefined;
  let l2: CacheStore | undefined;
  let leases: RedisLeases | undefined;
  let epochStore: RedisEpochStore | undefined;
  let bus: HttpCacheOptions['bus'];
  if (redisUrl !== undefined) {
    let reported = false;
    // One connection for the tier, leases and epochs; the bus opens its subscriber from it.
    client = createRedisClient({
      url: redisUrl,
      onConnectionError: (error) => {
        // ioredis retries every 2 s at most: say it once, not on every attempt.
        if (reported) return;
        reported = true;
        log.warn(`[gatecache] Redis unreachable (${error.message}); serving from memory meanwhile`);
      },
    });
    client.on('ready', () => {
      if (reported) log.info('[gatecache] Redis connected');
      reported = false;
    });
    l2 = createRedisStore({
      client,
      ...(layers?.l2?.compression === false && { compression: 'none' as const }),
    });
    bus = createRedisBus({ client });
    leases = createRedisLeases({ client });
    epochStore = createRedisEpochStore({ client, namespace });
  }
  const store = l2 === undefined ? l1 : createTieredStore({ l1, l2 });

  const invalidation = createInvalidation({
    namespace,
    ...(bus !== undefined && { bus }),
    ...(epochStore !== undefined && { epochStore }),
  });
  const metrics = nonEmpty(options.adminToken) === undefined ? undefined : createMetrics();
  const cache = createHttpCache({
    // One upstream answers every Host alike (it gets its own Host): keying on the client's Host
    // would only split the cache, and a fleet behind different names would never share entries.
    keyHost: false,
    ...options.engine,
    namespace,
    store,
    ...(bus !== undefined && { bus }),
    ...(leases !== undefined && { leases }),
    validator: invalidation,
    ...(metrics !== undefined && { onEvent: chain(options.engine?.onEvent, metrics.onEvent) }),
    // The engine takes its policy once; this reads the latest compiled rules on every request.
    ...(rules !== undefined && {
      policy: (request: CacheRequest): CachePolicy | undefined => rules?.(request),
    }),
  });
  invalidation.attach(cache);
  // Loads the fleet's purge epochs; never rejects (retries in the background when Redis is down).
  await invalidation.start();
  const stopObserving = metrics?.observe(cache);

  const purgeToken = nonEmpty(options.purgeToken);
  const purge =
    purgeToken === undefined
      ? undefined
      : createPurgeHandler({
          invalidation,
          tokens: [purgeToken],
          onError: (error) => log.warn(error.message),
        });

  return {
    cache,
    invalidation,
    purge,
    metrics,
    adminToken: nonEmpty(options.adminToken),
    l1,
    l2,
    get config() {
      return watcher?.current;
    },
    async reloadConfig() {
      await watcher?.reload();
    },
    async close() {
      watcher?.close();
      stopObserving?.();
      metrics?.close();
      invalidation.close();
      // The engine closes its bus and its store (both tiers).
      await cache.close();
      await leases?.close();
      await epochStore?.close();
      if (client !== undefined) {
        if (client.status === 'ready') await client.quit().catch(() => client?.disconnect());
        else client.disconnect();
      }
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function chain<T>(
  first: ((value: T) => void) | undefined,
  second: (value: T) => void,
): (value: T) => void {
  if (first === undefined) return second;
  return (value) => {
    first(value);
    second(value);
  };
}
