import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { GatecacheError, invalidOption, positiveMilliseconds } from '@gatecache/core';

/** A standalone client or a Cluster: every gatecache Redis component accepts either. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /**
   * A client you created and own: gatecache never closes it. Give it `enableOfflineQueue: false`
   * (see the README) or commands issued while Redis is down will wait for it to come back.
   */
  readonly client?: RedisClient;
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`; gatecache creates and closes the client. */
  readonly url?: string;
  /** Seed nodes of a Redis Cluster (`"host:port"` or `{ host, port }`); gatecache creates an ioredis Cluster. */
  readonly cluster?: {
    readonly nodes: ReadonlyArray<string | { readonly host: string; readonly port: number }>;
    /** ioredis Cluster options merged over the cache defaults. */
    readonly options?: ClusterOptions;
  };
  /** ioredis options merged over the cache defaults (standalone, and each Cluster node). */
  readonly redisOptions?: RedisOptions;
  /** Milliseconds before a command is abandoned. Default 50: a cache that waits longer costs more than a miss. */
  readonly commandTimeout?: number;
  /** Milliseconds allowed to open a connection. Default 1000. */
  readonly connectTimeout?: number;
  /** Connection errors of a client gatecache created (they are never thrown). */
  readonly onConnectionError?: (error: Error) => void;
}

/** Reconnect quickly at first, then every two seconds at most, forever: Redis may come back. */
export function reconnectBackoff(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2_000);
}

export interface OwnedClient {
  readonly client: RedisClient;
  /** True when gatecache created the client and must close it. */
  readonly owned: boolean;
}

/**
 * Resolves the connection options to a client. A client created here has cache-sensible defaults:
 * no offline queue (a command while disconnected fails at once and reads as a miss), one retry,
 * a short command timeout (left out with `commandTimer: false`, for a caller that bounds its own
 * calls), an immediate connection attempt and a capped reconnect backoff. The app starts while
 * Redis is down: connection errors are reported, never thrown.
 */
export function resolveClient(
  options: RedisConnectionOptions,
  label: string,
  commandTimer = true,
): OwnedClient {
  const sources = [options.client, options.url, options.cluster].filter(
    (value) => value !== undefined,
  );
  if (sources.length !== 1) {
    throw new GatecacheError(
      'ERR_INVALID_OPTION',
      `[gatecache] ${label}: give exactly one of "client", "url" or "cluster"; got ${sources.length}`,
    );
  }
  if (options.client) {
    if (typeof (options.client as { getBuffer?: unknown }).getBuffer !== 'function') {
      throw invalidOption('client', options.client, 'an ioredis Redis or Cluster instance');
    }
    watchFirstConnection(options.client);
    return { client: options.client, owned: false };
  }
  const client = createRedisClient(options, commandTimer);
  watchFirstConnection(client);
  return { client, owned: true };
}

/** Clients opening their first connection: settles when that attempt has succeeded or failed. */
const firstAttempts = new WeakMap<RedisClient, Promise<void>>();

/** Events that end a connection attempt: connected, or failed (a retry is another attempt). */
const ATTEMPT_ENDS = ['ready', 'close', 'end'] as const;

/**
 * Remembers that the client is opening its first connection. Until it is ready Redis is not down,
 * only not there yet; without an offline queue a command then fails at once ("Stream isn't
 * writeable"), which a lease would take for an unreachable Redis and a store for a failure.
 */
function watchFirstConnection(client: RedisClient): void {
  if (firstAttempts.has(client)) return;
  if (client.status !== 'connecting' && client.status !== 'connect') return;
  const settled = new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const event of ATTEMPT_ENDS) client.off(event, done);
      firstAttempts.delete(client);
      resolve();
    };
    // The attempt ends by itself after connectTimeout; the timer only makes sure of it.
    const timer = setTimeout(done, connectTimeoutOf(client));
    timer.unref?.();
    for (const event of ATTEMPT_ENDS) client.on(event, done);
  });
  firstAttempts.set(client, settled);
}

function connectTimeoutOf(client: RedisClient): number {
  const timeout =
    client instanceof Cluster
      ? client.options.redisOptions?.connectTimeout
      : client.options.connectTimeout;
  return typeof timeout === 'number' && timeout > 0 ? timeout : 10_000;
}

/**
 * While the client opens its first connection, a promise that settles once it is ready or that
 * attempt failed; otherwise undefined (connected, or reconnecting: then a command fails at once,
 * as it should while Redis is down).
 */
export function firstConnection(client: RedisClient): Promise<void> | undefined {
  return client.status === 'ready' ? undefined : firstAttempts.get(client);
}

/**
 * A client with the cache defaults described above, for sharing between store, bus and leases.
 * `commandTimer: false` leaves out ioredis's timer per command (unless `redisOptions` sets one):
 * for a client only a caller that bounds every call itself uses, as a store does (a Node timer
 * armed and cleared per command costs more than the store's own bound on each read).
 */
export function createRedisClient(
  options: Omit<RedisConnectionOptions, 'client'>,
  commandTimer = true,
): RedisClient {
  const commandTimeout = positiveMilliseconds('commandTimeout', options.commandTimeout, 50);
  const connectTimeout = positiveMilliseconds('connectTimeout', options.connectTimeout, 1_000);
  const nodeDefaults: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    ...(commandTimer ? { commandTimeout } : {}),
    connectTimeout,
    lazyConnect: false,
    retryStrategy: reconnectBackoff,
    // Off: ioredis holds auto-pipelined commands until the event loop's check phase, which
    // added latency to every L2 read and made requests waiting on Redis outlive young-generation
    // collections. On the bench's L2 servers: 15-20% fewer hits/s at 10 connections, no gain at 100.
    enableAutoPipelining: false,
    ...options.redisOptions,
  };
  // ioredis takes 0 as a timeout that has already passed: every command would fail at once.
  if (options.redisOptions?.commandTimeout !== undefined) {
    positiveMilliseconds('redisOptions.commandTimeout', options.redisOptions.commandTimeout, 50);
  }
  let client: RedisClient;
  if (options.cluster) {
    const nodes = options.cluster.nodes.map((node) =>
      typeof node === 'string' ? parseNode(node) : node,
    );
    if (nodes.length === 0)
      throw invalidOption('cluster.nodes', options.cluster.nodes, 'at least one "host:port"');
    const {
      retryStrategy: _retry,
      enableOfflineQueue: _queue,
      enableAutoPipelining,
      ...perNode
    } = nodeDefaults;
    client = new Cluster(nodes, {
      enableOfflineQueue: false,
      enableAutoPipelining,
      clusterRetryStrategy: reconnectBackoff,
      slotsRefreshTimeout: Math.max(connectTimeout, 1_000),
      ...options.cluster.options,
      redisOptions: { ...perNode, ...options.cluster.options?.redisOptions },
    });
  } else {
    const url = options.url!;
    if (!/^rediss?:\/\//.test(url)) throw invalidOption('url', url, 'a redis:// or rediss:// URL');
    client = new Redis(url, nodeDefaults);
  }
  const onConnectionError = options.onConnectionError;
  // Without a listener ioredis logs every failed reconnect; the app decides what to do with them.
  client.on('error', (error: Error) => onConnectionError?.(error));
  return client;
}

function parseNode(node: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(node);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !(port > 0 && port < 65_536))
    throw invalidOption('cluster.nodes', node, '"host:port"');
  return { host: match[1]!, port };
}

/** Closes a client gatecache created; leaves one the app gave alone. */
export async function closeOwned({ client, owned }: OwnedClient): Promise<void> {
  if (!owned) return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** The masters to scan: every master of a Cluster, or the one server. */
export function scanTargets(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
