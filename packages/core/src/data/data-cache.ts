import { monotonicNow, systemClock } from '../clock.ts';
import { GatecacheError, invalidOption } from '../errors.ts';
import { digest } from '../hash.ts';
import { EpochTable } from '../invalidation/epochs.ts';
import { KEY_VERSION, MAX_KEY_LENGTH } from '../key.ts';
import type {
  CacheEntry,
  CacheStore,
  Clock,
  EntryValidator,
  InvalidationBus,
  InvalidationMessage,
  LayerName,
  LeaseManager,
  StoreHints,
} from '../types.ts';
import { createMemoryStore } from '../memory-store.ts';
import { argsKey } from './stable-json.ts';
import type { WriteBehind } from './write-behind.ts';

/** JSON data: what the data cache stores. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** How one value is kept. Durations are in seconds, as in cache policies. */
export interface DataEntryOptions {
  /** Freshness lifetime in seconds. Default: the cache's `ttl`. */
  readonly ttl?: number;
  /** Tags for purges (`user:42`); matched by tag epochs at read time. */
  readonly tags?: readonly string[];
  /** Seconds after `ttl` during which the stale value is served while one refresh runs. */
  readonly staleWhileRevalidate?: number;
  /** Seconds after `ttl` during which the stale value is served when the loader throws. */
  readonly staleIfError?: number;
  /** Tiers to read and write (a tiered store); all when absent. */
  readonly layers?: readonly LayerName[];
}

export type DataCacheEvent =
  | { readonly type: 'hit'; readonly stale: boolean }
  | { readonly type: 'miss' }
  | { readonly type: 'coalesced' }
  | { readonly type: 'stored'; readonly bytes: number }
  | {
      readonly type: 'not-stored';
      readonly reason: 'undefined' | 'not-json' | 'invalidated' | 'too-large';
    }
  | { readonly type: 'stale-if-error'; readonly error: unknown }
  | { readonly type: 'refresh-error'; readonly error: unknown }
  | { readonly type: 'lease-wait'; readonly served: boolean }
  | {
      readonly type: 'store-error';
      readonly operation: 'get' | 'set' | 'delete' | 'publish';
      readonly error: unknown;
    }
  | {
      readonly type: 'write-through-cache-failed';
      readonly error: unknown;
      readonly cleared: boolean;
    };

export interface DataCacheOptions {
  /** Where values live (memory, tiered, Redis: any `CacheStore`). Default: a 16 MiB memory store. */
  readonly store?: CacheStore;
  readonly clock?: Clock;
  /** Keys are `gc1:<namespace>:data:<key>`. Default `default`. */
  readonly namespace?: string;
  /** Tells the other instances to drop their local copy of a key that changed here. */
  readonly bus?: InvalidationBus;
  /** Cross-instance coalescing: one loader call per cold key across the fleet. */
  readonly leases?: LeaseManager;
  /** How long a caller waits for another instance's load before loading itself. Default 5000 ms. */
  readonly leaseWaitMs?: number;
  /**
   * Read-time purge checks. Pass an `Invalidation` (from `@gatecache/core/invalidation`) to share
   * tag epochs with the HTTP cache and the fleet; without one the cache keeps its own epochs.
   */
  readonly validator?: EntryValidator;
  /** Default freshness lifetime in seconds. Default 60. */
  readonly ttl?: number;
  /** Largest serialized value stored, in bytes. Default 1 MiB. */
  readonly maxValueBytes?: number;
  readonly onEvent?: (event: DataCacheEvent) => void;
}

/** What `cached` (the method decorator) takes. */
export interface CachedOptions extends Omit<DataEntryOptions, 'tags'> {
  /** The key: a fixed string or built from the arguments. Default: class, method and stable JSON of the arguments. */
  readonly key?: string | ((...args: never[]) => string);
  /** Tags, fixed or built from the arguments. */
  readonly tags?: readonly string[] | ((...args: never[]) => readonly string[]);
}

type Loader<T> = () => T | Promise<T>;

interface Settings {
  readonly ttlMs: number;
  readonly swrMs: number;
  readonly sieMs: number;
  readonly tags: readonly string[];
  readonly hints: StoreHints | undefined;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const JSON_HEADERS = [['content-type', 'application/json']] as const;

function seconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidOption(name, value, 'a number of seconds, 0 or more');
  }
  return value;
}

function tagList(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string' && tag.length > 0)) {
    throw invalidOption('tags', value, 'an array of non-empty strings');
  }
  return value as readonly string[];
}

/**
 * Cache-aside and read-through for data (service results, computed values) in the same stores as
 * HTTP responses: each value is a `CacheEntry` (status 200, `application/json` body), so memory,
 * tiered and Redis stores, tag purges and the codec all apply unchanged.
 */
export class DataCache {
  readonly store: CacheStore;
  readonly clock: Clock;
  readonly namespace: string;
  readonly #options: DataCacheOptions;
  readonly #defaultTtl: number;
  readonly #maxValueBytes: number;
  readonly #leaseWaitMs: number;
  readonly #validator: EntryValidator;
  /** Present when the cache keeps its own tag epochs (no validator given). */
  readonly #epochs: EpochTable | undefined;
  readonly #flights = new Map<string, Promise<unknown>>();
  /** Bumped by every set/delete of a key, so a load that began earlier never stores over it. */
  readonly #generations = new Map<string, number>();
  #generation = 0;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #unsubscribe: (() => void) | undefined;

  constructor(options: DataCacheOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw invalidOption('options', options, 'an object');
    }
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.store =
      options.store ?? createMemoryStore({ clock: this.clock, maxBytes: 16 * 1024 * 1024 });
    this.namespace = options.namespace ?? 'default';
    if (typeof this.namespace !== 'string' || !/^[\w.-]{1,64}$/.test(this.namespace)) {
      throw invalidOption('namespace', this.namespace, '1 to 64 letters, digits, ".", "_" or "-"');
    }
    this.#defaultTtl = seconds('ttl', options.ttl, 60);
    this.#maxValueBytes = seconds('maxValueBytes', options.maxValueBytes, 1024 * 1024);
    this.#leaseWaitMs = seconds('leaseWaitMs', options.leaseWaitMs, 5000);
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
      throw invalidOption('onEvent', options.onEvent, 'a function');
    }
    if (options.validator !== undefined && typeof options.validator.check !== 'function') {
      throw invalidOption('validator', options.validator, 'an object with check(entry, now)');
    }
    this.#epochs = options.validator === undefined ? new EpochTable() : undefined;
    this.#validator = options.validator ?? this.#epochs!;
    this.#unsubscribe = options.bus?.subscribe(
      (message) => void this.#applyRemote(message),
      () => void this.#dropAllLocal(),
    );
  }

  /** The store key of a data key. */
  storeKey(key: string): string {
    if (typeof key !== 'string' || key.length === 0) {
      throw invalidOption('key', key, 'a non-empty string');
    }
    const full = `${KEY_VERSION}:${this.namespace}:data:${key}`;
    return full.length <= MAX_KEY_LENGTH
      ? full
      : `${KEY_VERSION}:${this.namespace}:data:#${digest(key)}`;
  }

  /** The fresh value of `key`, or undefined (`allowStale`: a stale one still kept). */
  async get<T = JsonValue>(
    key: string,
    options: { allowStale?: boolean } = {},
  ): Promise<T | undefined> {
    const storeKey = this.storeKey(key);
    const entry = await this.#read(storeKey, undefined);
    if (entry === undefined) return undefined;
    const stale = entry.staleAt <= this.clock.now();
    if (stale && options.allowStale !== true) return undefined;
    return this.#decode<T>(entry)?.value;
  }

  /** Stores `value` under `key`, replacing what any load in progress would store. */
  async set(key: string, value: unknown, options: DataEntryOptions = {}): Promise<boolean> {
    const storeKey = this.storeKey(key);
    const settings = this.#settings(options);
    this.#bump(storeKey);
    const stored = await this.#write(storeKey, value, settings, this.clock.now());
    // A value that could not be stored must not leave the previous one in place.
    if (!stored) await this.#safe('delete', () => this.store.delete(storeKey));
    await this.#publish(storeKey);
    return stored;
  }

  /** Removes `key` here and, through the bus, from every instance's local tier. */
  async delete(key: string): Promise<void> {
    const storeKey = this.storeKey(key);
    this.#bump(storeKey);
    await this.#safe('delete', () => this.store.delete(storeKey));
    await this.#publish(storeKey);
  }

  /**
   * Purges every value carrying one of `tags` (a tag epoch: nothing is scanned). With an
   * `Invalidation` as validator, the purge goes through it (and its epoch store and bus).
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const list = tagList(tags);
    const validator = this.#options.validator as
      | (EntryValidator & { invalidateTags?: (tags: readonly string[]) => Promise<unknown> })
      | undefined;
    if (validator !== undefined) {
      if (typeof validator.invalidateTags !== 'function') {
        throw new GatecacheError(
          'ERR_INVALID_OPTION',
          '[gatecache] invalidateTags needs a validator with invalidateTags (an Invalidation); purge through your validator instead',
        );
      }
      await validator.invalidateTags(list);
      return;
    }
    // A purge at `now` must beat a value fetched in the same millisecond: epochs compare `>`.
    const at = this.clock.now() + 1;
    for (const tag of list) this.#epochs!.apply({ kind: 'tag', name: tag, soft: false, at });
    if (this.#options.bus !== undefined) {
      try {
        await this.#options.bus.publish({ type: 'tags', tags: list, at });
      } catch (error) {
        this.#emit({ type: 'store-error', operation: 'publish', error });
      }
    }
  }

  /**
   * Read-through: the cached value when fresh; otherwise `load` runs once for all concurrent
   * callers of the key (and, with leases, once across instances) and its result is stored.
   * Within `staleWhileRevalidate` the stale value is returned at once and refreshed in the
   * background; within `staleIfError` a throwing loader yields the stale value.
   */
  async wrap<T>(key: string, load: Loader<T>, options: DataEntryOptions = {}): Promise<T> {
    if (typeof load !== 'function') throw invalidOption('load', load, 'a function');
    const storeKey = this.storeKey(key);
    const settings = this.#settings(options);
    const entry = await this.#read(storeKey, settings.hints);
    let stale: { entry: CacheEntry; value: T } | undefined;
    if (entry !== undefined) {
      const decoded = this.#decode<T>(entry);
      if (decoded !== undefined) {
        const now = this.clock.now();
        if (now < entry.staleAt) {
          this.#emit({ type: 'hit', stale: false });
          return decoded.value;
        }
        // The windows were fixed when the value was stored (as HTTP entries' are).
        if (now < entry.staleAt + entry.flags.staleWhileRevalidate * 1000) {
          this.#emit({ type: 'hit', stale: true });
          this.#refreshInBackground(storeKey, load, settings);
          return decoded.value;
        }
        stale = { entry, value: decoded.value };
      }
    }
    try {
      return await this.#load(storeKey, load, settings);
    } catch (error) {
      if (
        stale !== undefined &&
        this.clock.now() < stale.entry.staleAt + stale.entry.flags.staleIfError * 1000
      ) {
        this.#emit({ type: 'stale-if-error', error });
        return stale.value;
      }
      throw error;
    }
  }

  /**
   * Write-through: `write` (the backend) first, then the cache. When the backend fails the cache
   * is left as it was and the error is thrown; when the cache write fails after the backend
   * succeeded, the key is deleted so no older value outlives the write.
   */
  async setThrough<R>(
    key: string,
    value: unknown,
    write: (value: unknown) => R | Promise<R>,
    options: DataEntryOptions = {},
  ): Promise<R> {
    if (typeof write !== 'function') throw invalidOption('write', write, 'a function');
    const storeKey = this.storeKey(key);
    const settings = this.#settings(options);
    // Loads already running read the backend before this write: they must not store.
    this.#bump(storeKey);
    const result = await write(value);
    this.#bump(storeKey);
    try {
      if (!(await this.#writeOrThrow(storeKey, value, settings, this.clock.now()))) {
        throw new GatecacheError('ERR_STORE', '[gatecache] the value could not be cached');
      }
    } catch (error) {
      let cleared = true;
      try {
        await this.store.delete(storeKey);
      } catch {
        cleared = false;
      }
      this.#emit({ type: 'write-through-cache-failed', error, cleared });
    }
    await this.#publish(storeKey);
    return result;
  }

  /**
   * Write-behind: the value is cached now and queued for the backend (`queue` batches, retries
   * and reports drops). A full queue with `overflow: 'reject'` throws and leaves the cache as it was.
   */
  async setBehind<V>(
    key: string,
    value: V,
    queue: WriteBehind<V>,
    options: DataEntryOptions = {},
  ): Promise<boolean> {
    this.storeKey(key);
    queue.enqueue(key, value);
    return this.set(key, value, options);
  }

  /**
   * A TC39 method decorator caching the method's result per arguments:
   * `@cache.cached({ ttl: 60 }) async getUser(id) {…}`.
   */
  readonly cached = (options: CachedOptions = {}) => cachedWith(() => this, options);

  /** Waits for background refreshes (graceful shutdown), at most `timeoutMs`. */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    if (this.#pending.size === 0) return true;
    return settlesWithin(Promise.allSettled([...this.#pending]), timeoutMs);
  }

  /** Stops listening to the bus. The store is closed by its owner (or `createShutdown`). */
  close(): void {
    this.#unsubscribe?.();
  }

  #settings(options: DataEntryOptions): Settings {
    if (options === null || typeof options !== 'object') {
      throw invalidOption('options', options, 'an object');
    }
    const ttl = seconds('ttl', options.ttl, this.#defaultTtl);
    return {
      ttlMs: ttl * 1000,
      swrMs: seconds('staleWhileRevalidate', options.staleWhileRevalidate, 0) * 1000,
      sieMs: seconds('staleIfError', options.staleIfError, 0) * 1000,
      tags: tagList(options.tags),
      hints: options.layers === undefined ? undefined : { layers: options.layers },
    };
  }

  #bump(storeKey: string): void {
    this.#generations.set(storeKey, ++this.#generation);
    // Loads last seconds: the latest 10,000 writes are plenty to compare against.
    if (this.#generations.size > 10_000) {
      for (const name of this.#generations.keys()) {
        this.#generations.delete(name);
        if (this.#generations.size <= 5_000) break;
      }
    }
  }

  #changedSince(storeKey: string, generation: number): boolean {
    const at = this.#generations.get(storeKey);
    return at !== undefined && at > generation;
  }

  async #read(storeKey: string, hints: StoreHints | undefined): Promise<CacheEntry | undefined> {
    let record;
    try {
      record = await this.store.get(storeKey, hints);
    } catch (error) {
      // A store failure is a miss: the loader still answers.
      this.#emit({ type: 'store-error', operation: 'get', error });
      return undefined;
    }
    const now = this.clock.now();
    if (
      record === undefined ||
      record.kind !== 'response' ||
      record.v !== 1 ||
      record.key !== storeKey ||
      record.deleteAt <= now
    ) {
      return undefined;
    }
    let validity;
    try {
      validity = this.#validator.check(record, now);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'get', error });
      return undefined;
    }
    if (validity === 'invalid') return undefined;
    if (validity === 'stale' && record.staleAt > now) return { ...record, staleAt: now };
    return record;
  }

  #decode<T>(entry: CacheEntry): { value: T } | undefined {
    if (entry.status !== 200 || entry.headers[0]?.[1] !== 'application/json') return undefined;
    try {
      return { value: JSON.parse(decoder.decode(entry.body)) as T };
    } catch {
      return undefined;
    }
  }

  #load<T>(storeKey: string, load: Loader<T>, settings: Settings): Promise<T> {
    const running = this.#flights.get(storeKey);
    if (running !== undefined) {
      this.#emit({ type: 'coalesced' });
      return running as Promise<T>;
    }
    this.#emit({ type: 'miss' });
    const flight = this.#lead(storeKey, load, settings);
    this.#flights.set(storeKey, flight);
    const clear = (): void => {
      if (this.#flights.get(storeKey) === flight) this.#flights.delete(storeKey);
    };
    flight.then(clear, clear);
    return flight;
  }

  async #lead<T>(storeKey: string, load: Loader<T>, settings: Settings): Promise<T> {
    const generation = this.#generation;
    let release: (() => Promise<void>) | undefined;
    const leases = this.#options.leases;
    if (leases !== undefined) {
      try {
        release = await leases.acquire(storeKey, this.#leaseWaitMs);
      } catch (error) {
        // Leases unavailable (Redis down): load here rather than fail.
        this.#emit({ type: 'store-error', operation: 'get', error });
      }
      if (release === undefined) {
        const found = await this.#awaitOtherInstance<T>(storeKey, settings);
        if (found !== undefined) return found.value;
      }
    }
    try {
      const fetchedAt = this.clock.now();
      const value = await load();
      if (!this.#changedSince(storeKey, generation)) {
        await this.#write(storeKey, value, settings, fetchedAt);
      } else {
        this.#emit({ type: 'not-stored', reason: 'invalidated' });
      }
      return value;
    } finally {
      if (release !== undefined) await release().catch(() => undefined);
    }
  }

  /** Another instance holds the lease: poll (bounded) for the value it stores. */
  async #awaitOtherInstance<T>(
    storeKey: string,
    settings: Settings,
  ): Promise<{ value: T } | undefined> {
    const deadline = monotonicNow() + this.#leaseWaitMs;
    let delay = 5;
    while (monotonicNow() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
      const entry = await this.#read(storeKey, settings.hints);
      if (entry !== undefined && entry.staleAt > this.clock.now()) {
        const decoded = this.#decode<T>(entry);
        if (decoded !== undefined) {
          this.#emit({ type: 'lease-wait', served: true });
          return decoded;
        }
      }
    }
    this.#emit({ type: 'lease-wait', served: false });
    return undefined;
  }

  #refreshInBackground<T>(storeKey: string, load: Loader<T>, settings: Settings): void {
    if (this.#flights.has(storeKey)) return;
    const task = this.#load(storeKey, load, settings).catch((error: unknown) => {
      this.#emit({ type: 'refresh-error', error });
    });
    this.#pending.add(task);
    void task.finally(() => this.#pending.delete(task));
  }

  /** Stores the value; a store failure is reported, never thrown. Returns whether it stored. */
  async #write(
    storeKey: string,
    value: unknown,
    settings: Settings,
    fetchedAt: number,
  ): Promise<boolean> {
    try {
      return await this.#writeOrThrow(storeKey, value, settings, fetchedAt);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'set', error });
      return false;
    }
  }

  async #writeOrThrow(
    storeKey: string,
    value: unknown,
    settings: Settings,
    fetchedAt: number,
  ): Promise<boolean> {
    if (value === undefined) {
      this.#emit({ type: 'not-stored', reason: 'undefined' });
      return false;
    }
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch {
      this.#emit({ type: 'not-stored', reason: 'not-json' });
      return false;
    }
    const body = encoder.encode(json);
    if (body.byteLength > this.#maxValueBytes) {
      this.#emit({ type: 'not-stored', reason: 'too-large' });
      return false;
    }
    const now = this.clock.now();
    const staleAt = now + settings.ttlMs;
    const deleteAt = staleAt + Math.max(settings.swrMs, settings.sieMs);
    if (deleteAt <= now) return false;
    const entry: CacheEntry = {
      kind: 'response',
      v: 1,
      key: storeKey,
      status: 200,
      headers: JSON_HEADERS.map(([name, val]) => [name, val]),
      body,
      storedAt: now,
      fetchedAt,
      initialAge: 0,
      staleAt,
      deleteAt,
      vary: {},
      tags: settings.tags,
      generatedETag: false,
      flags: {
        mustRevalidate: false,
        noCache: false,
        staleWhileRevalidate: settings.swrMs / 1000,
        staleIfError: settings.sieMs / 1000,
      },
    };
    await this.store.set(storeKey, entry, deleteAt - now, settings.hints);
    this.#emit({ type: 'stored', bytes: body.byteLength });
    return true;
  }

  async #safe(operation: 'delete', fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#emit({ type: 'store-error', operation, error });
    }
  }

  async #publish(storeKey: string): Promise<void> {
    const bus = this.#options.bus;
    if (bus === undefined) return;
    try {
      await bus.publish({ type: 'keys', keys: [storeKey] });
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'publish', error });
    }
  }

  /**
   * Another instance changed these keys and already wrote or deleted the shared tier: only local
   * copies are dropped here (L1 of a tiered store, or a memory store), never the shared value.
   */
  async #applyRemote(message: InvalidationMessage): Promise<void> {
    switch (message.type) {
      case 'keys': {
        const local = this.#localTier();
        for (const key of message.keys) {
          this.#bump(key);
          if (local !== undefined) await this.#safe('delete', () => local.delete(key));
        }
        return;
      }
      case 'tags':
        if (this.#epochs !== undefined) {
          const at = message.at ?? this.clock.now();
          for (const tag of message.tags) {
            this.#epochs.apply({ kind: 'tag', name: tag, soft: message.soft === true, at });
          }
          for (const glob of message.tagPatterns ?? []) {
            this.#epochs.apply({ kind: 'pattern', name: glob, soft: message.soft === true, at });
          }
          if (message.everything === true) {
            this.#epochs.apply({ kind: 'all', name: '', soft: message.soft === true, at });
          }
        }
        return;
      case 'all':
        await this.#dropAllLocal();
        return;
      default:
        return message satisfies never;
    }
  }

  #localTier(): CacheStore | undefined {
    const store = this.store as CacheStore & { l1?: CacheStore };
    if (store.l1 !== undefined && typeof store.l1.delete === 'function') return store.l1;
    return store.name === 'memory' ? store : undefined;
  }

  async #dropAllLocal(): Promise<void> {
    this.#generation++;
    for (const key of this.#flights.keys()) this.#generations.set(key, this.#generation);
    const local = this.#localTier();
    if (local !== undefined) {
      try {
        await local.clear();
      } catch (error) {
        this.#emit({ type: 'store-error', operation: 'delete', error });
      }
    }
  }

  #emit(event: DataCacheEvent): void {
    if (this.#options.onEvent === undefined) return;
    try {
      this.#options.onEvent(event);
    } catch {
      // A faulty listener must not break a read.
    }
  }
}

/** Creates a data cache; options are validated here, once. */
export function createDataCache(options: DataCacheOptions = {}): DataCache {
  return new DataCache(options);
}

/**
 * A TC39 method decorator (TypeScript 5 without `experimentalDecorators`) that caches a method's
 * result in `cache`, keyed by class, method and the stable JSON of the arguments.
 */
export function cached(
  options: CachedOptions & { readonly cache: DataCache | ((self: unknown) => DataCache) },
) {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', options, 'an object');
  }
  const { cache } = options;
  if (!(cache instanceof DataCache) && typeof cache !== 'function') {
    throw invalidOption('cache', cache, 'a DataCache or a function of the instance returning one');
  }
  return cachedWith(cache instanceof DataCache ? () => cache : cache, options);
}

function cachedWith(resolve: (self: unknown) => DataCache, options: CachedOptions) {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', options, 'an object');
  }
  const { key, tags, ...entryOptions } = options;
  if (key !== undefined && typeof key !== 'string' && typeof key !== 'function') {
    throw invalidOption('key', key, 'a string or a function of the arguments');
  }
  if (tags !== undefined && typeof tags !== 'function') tagList(tags);
  return function decorate<This, Args extends unknown[], Return>(
    method: (this: This, ...args: Args) => Return,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Promise<Awaited<Return>> {
    if (context.kind !== 'method') {
      throw new GatecacheError(
        'ERR_INVALID_OPTION',
        `[gatecache] @cached decorates methods; "${String(context.name)}" is a ${String(context.kind)}`,
      );
    }
    const methodName = String(context.name);
    return async function cachedMethod(this: This, ...args: Args): Promise<Awaited<Return>> {
      const cache = resolve(this);
      const owner =
        context.static === true
          ? (this as { name?: string }).name
          : (this as { constructor?: { name?: string } } | undefined)?.constructor?.name;
      const call = args as unknown as never[];
      const dataKey =
        typeof key === 'string'
          ? key
          : typeof key === 'function'
            ? key(...call)
            : `${owner ?? 'anonymous'}.${methodName}:${argsKey(args)}`;
      const entryTags = typeof tags === 'function' ? tags(...call) : tags;
      const load = async (): Promise<Awaited<Return>> => await method.apply(this, args);
      return cache.wrap(dataKey, load, {
        ...entryOptions,
        ...(entryTags === undefined ? {} : { tags: entryTags }),
      });
    };
  };
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
