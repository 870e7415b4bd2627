import type { RedisConfig } from '@gatecache/core/config';
import type { RedisConnectionOptions } from './client.ts';

/**
 * Connection options from the seed's `redis:` block (`LoadedConfig.redis`): cluster nodes, the
 * connection timeout and the read timeout (seconds in the file) become ioredis settings.
 * `connection_pool.max_connections` and `max_idle_connections` have no ioredis counterpart:
 * ioredis multiplexes every command over one connection per node. `persistence` and `memory`
 * configure the Redis server itself and are left to it.
 */
export function redisConnectionFromConfig(
  config: RedisConfig,
  fallbackUrl?: string,
): Omit<RedisConnectionOptions, 'client'> {
  const pool = config.connectionPool;
  const timeouts = {
    ...(pool?.connectionTimeout === undefined
      ? {}
      : { connectTimeout: pool.connectionTimeout * 1000 }),
    ...(pool?.readTimeout === undefined ? {} : { commandTimeout: pool.readTimeout * 1000 }),
  };
  if (config.cluster?.enabled === true && config.cluster.nodes.length > 0) {
    return { cluster: { nodes: config.cluster.nodes }, ...timeouts };
  }
  const url = config.url ?? fallbackUrl;
  return url === undefined ? timeouts : { url, ...timeouts };
}
