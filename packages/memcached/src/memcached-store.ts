import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import memjs from 'memjs';
import type { Client } from 'memjs';
import {
  GatecacheError,
  invalidOption,
  systemClock,
  withResilience,
  type BreakerOptions,
  type BreakerState,
  type CacheStore,
  type Clock,
  type ResilientStore,
  type StoreOperation,
  type StoredRecord,
  positiveMilliseconds,
} from '@gatecache/core';
import {
  createRecordCodec,
  type RecordCodec,
  type RecordCodecOptions,
  pickCodecOptions,
} from '@gatecache/core/codec';

export interface MemcachedStoreOptions extends Pick<
  RecordCodecOptions,
  | 'compression'
  | 'compressionThreshold'
  | 'compressionLevel'
  | 'sealer'
  | 'maxBodyBytes'
  | 'decodedCacheBytes'
> {
  /** `"host:port"` or a comma-separated list; memjs spreads keys over them by hash. */
  readonly servers?: string;
  /** A memjs client you created and own: gatecache never closes it. */
  readonly client?: Client;
  /** Put before every key; carries the storage format version. Default `'gc1:'`. */
  readonly keyPrefix?: string;
  /** Milliseconds per call. Default 50. */
  readonly commandTimeout?: number;
  /** Milliseconds to open a connection. Default 1000. */
  readonly connectTimeout?: number;
  /** Circuit breaker, or `false` for timeouts only. Defaults: 5 failures in 10 s, 5 s cooldown. */
  readonly breaker?: BreakerOptions | false;
  readonly onError?: (error: GatecacheError, operation: StoreOperation) => void;
  readonly onStateChange?: (state: BreakerState, previous: BreakerState) => void;
  /** What memjs logs (connection failures) when gatecache creates the client. */
  readonly onConnectionError?: (message: string) => void;
  /** Time source for expiry checks and the breaker. */
  readonly clock?: Clock;
}

export type MemcachedStore = ResilientStore<MemcachedBackend> & {
  readonly client: Client;
  close(): Promise<void>;
};

/** memcached's key limit (bytes) and the characters its text protocol would choke on. */
const MAX_KEY_BYTES = 250;
const PLAIN_KEY = /^[\x21-\x7e]+$/;
/** memcached reads an expiry beyond 30 days as a Unix time, not a duration. */
const RELATIVE_EXPIRY_LIMIT_S = 60 * 60 * 24 * 30;
const EXPIRY_BYTES = 8;

/**
 * An L2 store on memcached (memjs, binary protocol). Values are `u64 expiresAt (ms)` followed by
 * the `@gatecache/core/codec` envelope: memcached counts expiry in whole seconds and may drop an
 * item up to a second early or late, so the store checks the exact expiry itself and gives
 * memcached a second more to clean up. Keys longer than memcached allows, or with spaces,
 * control or non-ASCII characters, are stored under a SHA-256 digest; the envelope still names the
 * full key, so a collision reads as a miss.
 *
 * `clear()` runs `flush_all` on every server: give the cache a memcached of its own.
 */
export function createMemcachedStore(options: MemcachedStoreOptions = {}): MemcachedStore {
  const keyPrefix = options.keyPrefix ?? 'gc1:';
  if (typeof keyPrefix !== 'string' || !(keyPrefix === '' || PLAIN_KEY.test(keyPrefix))) {
    throw invalidOption(
      'keyPrefix',
      options.keyPrefix,
      'printable ASCII without spaces, such as "gc1:"',
    );
  }
  if (Buffer.byteLength(keyPrefix) > 100) {
    throw invalidOption('keyPrefix', options.keyPrefix, 'at most 100 bytes');
  }
  const commandTimeout = positiveMilliseconds('commandTimeout', options.commandTimeout, 50);
  const connectTimeout = positiveMilliseconds('connectTimeout', options.connectTimeout, 1_000);
  if ((options.client === undefined) === (options.servers === undefined)) {
    throw new GatecacheError(
      'ERR_INVALID_OPTION',
      '[gatecache] createMemcachedStore: give exactly one of "servers" or "client"',
    );
  }
  if (
    options.servers !== undefined &&
    (typeof options.servers !== 'string' || options.servers.trim() === '')
  ) {
    throw invalidOption('servers', options.servers, 'a "host:port" list');
  }
  const codec = createRecordCodec(pickCodecOptions(options));
  const clock = options.clock ?? systemClock;
  const owned = options.client === undefined;
  const onConnectionError = options.onConnectionError;
  const client =
    options.client ??
    memjs.Client.create(options.servers, {
      // memjs counts in seconds; one retry, as with Redis: the cache would rather miss than wait.
      timeout: commandTimeout / 1000,
      conntimeout: connectTimeout / 1000,
      retries: 1,
      retry_delay: 0,
      keepAlive: true,
      logger: { log: (...args: unknown[]) => onConnectionError?.(args.map(String).join(' ')) },
    });
  const backend = new MemcachedBackend(client, owned, codec, keyPrefix, clock);
  const store = withResilience(backend, {
    timeoutMs: commandTimeout,
    operationTimeoutMs: { clear: 30_000 },
    breaker: options.breaker ?? {},
    clock,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
  });
  Object.defineProperty(store, 'client', { value: client, enumerable: true });
  return store as MemcachedStore;
}

/** The memcached commands behind the store; errors propagate to the resilience wrapper. */
export class MemcachedBackend implements CacheStore {
  readonly name = 'memcached';
  readonly client: Client;
  readonly keyPrefix: string;
  readonly #owned: boolean;
  readonly #codec: RecordCodec;
  readonly #clock: Clock;

  constructor(client: Client, owned: boolean, codec: RecordCodec, keyPrefix: string, clock: Clock) {
    this.client = client;
    this.#owned = owned;
    this.#codec = codec;
    this.keyPrefix = keyPrefix;
    this.#clock = clock;
  }

  /** The memcached key for a store key: as it is when memcached can hold it, else a digest. */
  serverKey(key: string): string {
    const full = this.keyPrefix + key;
    if (PLAIN_KEY.test(full) && full.length <= MAX_KEY_BYTES) return full;
    return `${this.keyPrefix}#${createHash('sha256').update(key).digest('base64url')}`;
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    const { value } = await this.client.get(this.serverKey(key));
    if (!value || value.length < EXPIRY_BYTES) return undefined;
    const expiresAt = Number(value.readBigUInt64BE(0));
    if (!(this.#clock.now() < expiresAt)) return undefined;
    return this.#codec.decode(value.subarray(EXPIRY_BYTES), key);
  }

  async set(key: string, record: StoredRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return;
    const encoded = this.#codec.encode(record);
    const value = Buffer.allocUnsafe(EXPIRY_BYTES + encoded.byteLength);
    value.writeBigUInt64BE(BigInt(Math.ceil(this.#clock.now() + ttlMs)), 0);
    value.set(encoded, EXPIRY_BYTES);
    // One second more than asked, so memcached's whole-second clock never drops it early.
    const seconds = Math.ceil(ttlMs / 1000) + 1;
    const expires =
      seconds > RELATIVE_EXPIRY_LIMIT_S ? Math.floor(systemClock.now() / 1000) + seconds : seconds;
    await this.client.set(this.serverKey(key), value, { expires });
  }

  async delete(key: string): Promise<void> {
    await this.client.delete(this.serverKey(key));
  }

  async clear(): Promise<void> {
    await this.client.flush();
  }

  async close(): Promise<void> {
    if (this.#owned) this.client.close();
    await Promise.resolve();
  }
}
