import { randomUUID } from 'node:crypto';
import { GatecacheError, invalidOption, type LeaseManager } from '@gatecache/core';
import {
  closeOwned,
  firstConnection,
  resolveClient,
  type OwnedClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './client.ts';

export interface RedisLeasesOptions extends RedisConnectionOptions {
  /** Put before every lease key. Default `'gc1:lease:'`. */
  readonly keyPrefix?: string;
  /**
   * When Redis cannot be asked: `true` (default) answers as if the lease were taken, so the
   * instance goes to its origin (coalescing falls back to per-instance); `false` rejects with
   * `ERR_STORE`.
   */
  readonly failOpen?: boolean;
  /** Failures talking to Redis (never thrown when `failOpen`). */
  readonly onError?: (error: GatecacheError) => void;
}

export interface RedisLeases extends LeaseManager {
  readonly client: RedisClient;
  close(): Promise<void>;
}

/** Deletes the lease only if it still holds this holder's token: an expired lease taken by another is left alone. */
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Cross-instance leases: `SET key token NX PX ttl` takes one, a compare-and-delete script gives
 * it back. Each lease is a single key, so it works unchanged on a Cluster.
 */
export function createRedisLeases(options: RedisLeasesOptions): RedisLeases {
  const keyPrefix = options.keyPrefix ?? 'gc1:lease:';
  if (typeof keyPrefix !== 'string') throw invalidOption('keyPrefix', keyPrefix, 'a string');
  return new RedisLeaseManager(
    resolveClient(options, 'createRedisLeases'),
    keyPrefix,
    options.failOpen ?? true,
    options.onError,
  );
}

class RedisLeaseManager implements RedisLeases {
  readonly client: RedisClient;
  readonly #connection: OwnedClient;
  readonly #keyPrefix: string;
  readonly #failOpen: boolean;
  readonly #onError: ((error: GatecacheError) => void) | undefined;

  constructor(
    connection: OwnedClient,
    keyPrefix: string,
    failOpen: boolean,
    onError: ((error: GatecacheError) => void) | undefined,
  ) {
    this.#connection = connection;
    this.client = connection.client;
    this.#keyPrefix = keyPrefix;
    this.#failOpen = failOpen;
    this.#onError = onError;
  }

  async acquire(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    if (!(ttlMs > 0)) throw invalidOption('ttlMs', ttlMs, 'a positive number of milliseconds');
    const redisKey = this.#keyPrefix + key;
    const token = randomUUID();
    let taken: string | null;
    // A client still opening its first connection is not an unreachable Redis: wait for it
    // rather than fail open and send this instance to the origin beside the lease holder.
    await firstConnection(this.#connection.client);
    try {
      taken = await this.#connection.client.set(redisKey, token, 'PX', Math.ceil(ttlMs), 'NX');
    } catch (error) {
      const failure = new GatecacheError(
        'ERR_STORE',
        `[gatecache] could not take lease "${key}": ${describe(error)}`,
        {
          cause: error,
        },
      );
      this.#report(failure);
      if (!this.#failOpen) throw failure;
      return async () => {};
    }
    if (taken !== 'OK') return undefined;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      try {
        await this.#connection.client.eval(RELEASE_SCRIPT, 1, redisKey, token);
      } catch (error) {
        // The lease expires by its TTL anyway; releasing early only saves the others a wait.
        this.#report(
          new GatecacheError(
            'ERR_STORE',
            `[gatecache] could not release lease "${key}": ${describe(error)}`,
            {
              cause: error,
            },
          ),
        );
      }
    };
  }

  async close(): Promise<void> {
    await closeOwned(this.#connection);
  }

  #report(error: GatecacheError): void {
    try {
      this.#onError?.(error);
    } catch {
      // Reporting never fails the caller.
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
