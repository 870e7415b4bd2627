import { Buffer } from 'node:buffer';
import {
  globToRegExp,
  invalidOption,
  withResilience,
  type BreakerOptions,
  type BreakerState,
  type CacheStore,
  type Clock,
  type GatecacheError,
  type MaybePromise,
  type ResilientStore,
  type StoreOperation,
  type StoredRecord,
} from '@gatecache/core';
import {
  createRecordCodec,
  type RecordCodec,
  type RecordCodecOptions,
  pickCodecOptions,
} from '@gatecache/core/codec';
import {
  closeOwned,
  firstConnection,
  resolveClient,
  scanTargets,
  type OwnedClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './client.ts';

export interface RedisStoreOptions
  extends
    RedisConnectionOptions,
    Pick<
      RecordCodecOptions,
      | 'compression'
      | 'compressionThreshold'
      | 'compressionLevel'
      | 'sealer'
      | 'maxBodyBytes'
      | 'decodedCacheBytes'
    > {
  /**
   * Put before every key. It carries the storage format's version: a store with another prefix
   * never reads these records. Default `'gc1:'`.
   */
  readonly keyPrefix?: string;
  /** Circuit breaker around Redis, or `false` for timeouts only. Defaults: 5 failures in 10 s, 5 s cooldown. */
  readonly breaker?: BreakerOptions | false;
  /** Every swallowed failure (timeouts, errors), with the operation. */
  readonly onError?: (error: GatecacheError, operation: StoreOperation) => void;
  readonly onStateChange?: (state: BreakerState, previous: BreakerState) => void;
  /** Time source for the breaker. */
  readonly clock?: Clock;
  /** Keys per SCAN step in `clear()` and `scan()`. Default 500. */
  readonly scanCount?: number;
}

/** The Redis tier: every call bounded by `commandTimeout` and guarded by a circuit breaker. */
export type RedisStore = ResilientStore<RedisBackend> & {
  readonly client: RedisClient;
  scan(match: string, batchSize?: number): AsyncIterable<string>;
  close(): Promise<void>;
};

/**
 * An L2 store on Redis (standalone or Cluster). Records are kept in the versioned binary envelope
 * of `@gatecache/core/codec` with a `PX` TTL, so Redis itself drops them at their `deleteAt`.
 * A corrupt, foreign or unknown-version value reads as a miss; a slow, frozen or absent Redis
 * costs at most `commandTimeout` per call and never an error.
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const keyPrefix = options.keyPrefix ?? 'gc1:';
  if (typeof keyPrefix !== 'string')
    throw invalidOption('keyPrefix', keyPrefix, 'a string such as "gc1:"');
  const scanCount = options.scanCount ?? 500;
  if (!Number.isSafeInteger(scanCount) || scanCount < 1)
    throw invalidOption('scanCount', scanCount, 'a positive integer');
  const codec = createRecordCodec(pickCodecOptions(options));
  // A client created here serves this store alone, whose every call the wrapper below bounds:
  // ioredis need not arm a timer of its own per command as well.
  const connection = resolveClient(options, 'createRedisStore', false);
  const backend = new RedisBackend(connection, codec, keyPrefix, scanCount);
  let store: ResilientStore<RedisBackend>;
  try {
    store = withResilience(backend, {
      timeoutMs: options.commandTimeout ?? 50,
      // clear walks the whole keyspace; a scan step may meet a large one. Neither is on a request path.
      operationTimeoutMs: { clear: 30_000, scan: 5_000 },
      breaker: options.breaker ?? {},
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
    });
  } catch (error) {
    void closeOwned(connection);
    throw error;
  }
  Object.defineProperty(store, 'client', { value: connection.client, enumerable: true });
  return store as RedisStore;
}

/** The Redis commands behind the store; errors propagate to the resilience wrapper. */
export class RedisBackend implements CacheStore {
  readonly name = 'redis';
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly #connection: OwnedClient;
  readonly #codec: RecordCodec;
  readonly #scanCount: number;

  constructor(connection: OwnedClient, codec: RecordCodec, keyPrefix: string, scanCount: number) {
    this.#connection = connection;
    this.client = connection.client;
    this.#codec = codec;
    this.keyPrefix = keyPrefix;
    this.#scanCount = scanCount;
  }

  get(key: string): MaybePromise<StoredRecord | undefined> {
    // Before the first connection is ready a read is a miss, at once: Redis is not failing, only
    // not there yet, so this must not count towards opening the breaker.
    if (firstConnection(this.client) !== undefined) return undefined;
    // `then` rather than an async function: one promise less on every L2 read.
    return this.client
      .getBuffer(this.keyPrefix + key)
      .then((bytes) => (bytes ? this.#codec.decode(bytes, key) : undefined));
  }

  async set(key: string, record: StoredRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return;
    await firstConnection(this.client);
    const encoded = this.#codec.encode(record);
    const value = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    // PX takes whole milliseconds; rounding up never expires a record early.
    await this.client.set(this.keyPrefix + key, value, 'PX', Math.ceil(ttlMs));
  }

  async delete(key: string): Promise<void> {
    await firstConnection(this.client);
    await this.client.unlink(this.keyPrefix + key);
  }

  /** Deletes the keys under this store's prefix only (never FLUSHDB: the database may be shared). */
  async clear(): Promise<void> {
    for (const node of scanTargets(this.client)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(
          cursor,
          'MATCH',
          `${escapeGlob(this.keyPrefix)}*`,
          'COUNT',
          this.#scanCount,
        );
        cursor = next;
        if (keys.length > 0) {
          // One UNLINK per key: in a Cluster keys of one node still live in different slots.
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.unlink(key);
          await pipeline.exec();
        }
      } while (cursor !== '0');
    }
  }

  /** Keys (without the prefix) matching a glob: `*` any run, `?` one character, `\` escapes. */
  async *scan(match: string, batchSize?: number): AsyncIterable<string> {
    const exact = globToRegExp(match);
    // Redis matches bytes, so `?` would miss a multi-byte character: MATCH narrows, the RegExp decides.
    const narrow = `${escapeGlob(this.keyPrefix)}${toRedisGlob(match)}`;
    for (const node of scanTargets(this.client)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(
          cursor,
          'MATCH',
          narrow,
          'COUNT',
          batchSize ?? this.#scanCount,
        );
        cursor = next;
        for (const full of keys) {
          if (!full.startsWith(this.keyPrefix)) continue;
          const key = full.slice(this.keyPrefix.length);
          if (exact.test(key)) yield key;
        }
      } while (cursor !== '0');
    }
  }

  async close(): Promise<void> {
    await closeOwned(this.#connection);
  }
}

/** Escapes every character Redis' glob treats specially, so the text matches itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The engine's glob (`*`, `?`, `\` escapes; brackets literal) as a Redis MATCH pattern. */
function toRedisGlob(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\' && i + 1 < glob.length) out += escapeGlob(glob[++i]!);
    else if (ch === '*' || ch === '?') out += '*';
    else out += escapeGlob(ch);
  }
  return out;
}
