import { systemClock } from '../clock.ts';
import { GatecacheError, invalidOption } from '../errors.ts';
import type {
  CacheEntry,
  CacheStore,
  Clock,
  EntryValidator,
  EntryValidity,
  InvalidationBus,
  InvalidationMessage,
} from '../types.ts';
import type { EpochStore } from './epoch-store.ts';
import { EpochTable, type EpochRecord } from './epochs.ts';
import { compileKeyPattern, compileUrlPattern, type CompiledKeyPattern } from './key-patterns.ts';

/**
 * What an invalidation needs of the engine (an `HttpCache` has all of it): the store to scan,
 * URL purges, and the namespace keys are made in.
 */
export interface InvalidationTarget {
  readonly store: CacheStore;
  readonly clock: Clock;
  invalidateUrl(url: string, host?: string, partition?: string): Promise<void>;
  /**
   * Deletes these keys here and on every instance, and keeps a fetch already running for one of
   * them from storing its pre-purge body. Used when the engine has it; otherwise keys are deleted
   * from the store and announced on the bus.
   */
  invalidateKeys?(keys: readonly string[]): Promise<void>;
  readonly namespace?: string;
}

/** A pattern in a purge: a URL glob, a glob over store keys, or a glob over tags. */
export type PurgePattern =
  string | { readonly url: string } | { readonly key: string } | { readonly tag: string };

/** One purge naming any of URLs, tags, patterns, or everything (the webhook's JSON body). */
export interface PurgeSpec {
  /** Paths (`/api/x?y=1`, on `host`) or absolute URLs. */
  readonly urls?: readonly string[];
  /** Literal tags: `*` is a tag named `*`, never "everything". */
  readonly tags?: readonly string[];
  /** A string starting with `/` is a URL glob; any other string is a tag glob (`products:*`). */
  readonly patterns?: readonly PurgePattern[];
  /** Bump the namespace version: every entry. */
  readonly all?: boolean;
  /** Mark stale instead of unreachable (tags, tag globs, key and URL globs, all). */
  readonly soft?: boolean;
  /** Host of path-only `urls` when keys include the host. */
  readonly host?: string;
}

/** What a purge did. `keys` counts store keys removed (or marked stale) by URL and key globs. */
export interface PurgeCounts {
  urls: number;
  tags: number;
  patterns: number;
  keys: number;
  all: boolean;
}

export type InvalidationEvent =
  | {
      readonly type: 'purged';
      readonly scope: 'tags' | 'tag-patterns' | 'all' | 'urls' | 'keys';
      readonly count: number;
      readonly soft: boolean;
      readonly ms: number;
    }
  | { readonly type: 'reloaded'; readonly epochs: number }
  | { readonly type: 'remote'; readonly message: InvalidationMessage['type'] }
  | {
      readonly type: 'error';
      readonly operation: 'load' | 'save' | 'publish' | 'scan' | 'delete';
      readonly error: unknown;
    };

export interface InvalidationOptions {
  /** The engine whose store URL and key globs scan. Also settable later with `attach`. */
  readonly cache?: InvalidationTarget;
  /** Carries purges to the other instances; the same bus the engine uses. */
  readonly bus?: InvalidationBus;
  /** Persists epochs for the fleet (a Redis hash), reloaded at start and after a bus reset. */
  readonly epochStore?: EpochStore;
  /** Must be the engine's clock: epochs are compared with the `fetchedAt` it records. */
  readonly clock?: Clock;
  /** Namespace of the engine's keys, when the engine does not expose one. Default `default`. */
  readonly namespace?: string;
  /** Keys per scan batch and per delete round (the seed's `tag_based.batch_size`). Default 100. */
  readonly batchSize?: number;
  /**
   * How long an epoch is remembered, in ms. Must exceed the longest time an entry is kept (TTL
   * plus stale windows), or an entry older than a forgotten purge comes back. Default 30 days.
   */
  readonly retentionMs?: number;
  /** Reload epochs from `epochStore` this often, covering messages a bus lost. Default 60 s; 0 never. */
  readonly reloadIntervalMs?: number;
  /** Host for path-only URLs. */
  readonly host?: string;
  readonly onEvent?: (event: InvalidationEvent) => void;
}

export interface PurgeOptions {
  readonly soft?: boolean;
}

const DAY = 86_400_000;

/**
 * Invalidation for one namespace: read-time tag epochs (the engine's `validator`), namespace and
 * entity versions, soft purges, and URL/key glob purges by scanning the store.
 *
 * ```ts
 * const invalidation = createInvalidation({ bus, epochStore });
 * const cache = createHttpCache({ store, bus, validator: invalidation });
 * invalidation.attach(cache);
 * await invalidation.start();
 * await invalidation.invalidateTags(['user:42']);
 * ```
 */
export class Invalidation implements EntryValidator {
  readonly epochs = new EpochTable();
  readonly #options: InvalidationOptions;
  readonly #batchSize: number;
  readonly #retentionMs: number;
  readonly #reloadIntervalMs: number;
  #clock: Clock;
  #cache: InvalidationTarget | undefined;
  #unsubscribe: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #started: Promise<void> | undefined;
  #closed = false;

  constructor(options: InvalidationOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw invalidOption('options', options, 'an object');
    }
    this.#options = options;
    this.#clock = options.clock ?? options.cache?.clock ?? systemClock;
    this.#cache = options.cache;
    this.#batchSize = integerOption('batchSize', options.batchSize, 100, 1);
    this.#retentionMs = integerOption('retentionMs', options.retentionMs, 30 * DAY, 1);
    this.#reloadIntervalMs = integerOption('reloadIntervalMs', options.reloadIntervalMs, 60_000, 0);
    if (options.namespace !== undefined && !/^[\w.-]{1,64}$/.test(options.namespace)) {
      throw invalidOption('namespace', options.namespace, "the engine's namespace");
    }
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
      throw invalidOption('onEvent', options.onEvent, 'a function');
    }
  }

  /** The engine's `validator`: compares an entry with the epochs of its tags. No I/O. */
  check(entry: CacheEntry, now: number): EntryValidity {
    return this.epochs.check(entry, now);
  }

  /** This object is the validator; the getter reads well in engine options. */
  get validator(): EntryValidator {
    return this;
  }

  /** Gives URL and glob purges an engine to work on (when not passed as `cache`). */
  attach(cache: InvalidationTarget): this {
    this.#cache = cache;
    if (this.#options.clock === undefined) this.#clock = cache.clock;
    return this;
  }

  /**
   * Loads the fleet's epochs and subscribes to the bus. Await it before serving: until it
   * resolves, an instance does not know the purges made while it was down. Never rejects: when
   * the epoch store is unreachable, loading is retried in the background.
   */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const bus = this.#options.bus;
    if (bus !== undefined) {
      this.#unsubscribe = bus.subscribe(
        (message) => this.onMessage(message),
        // Messages may have been lost: what the store holds is the truth.
        () => void this.reload().catch(() => undefined),
      );
    }
    try {
      await this.reload();
    } catch {
      // The shared store is down: serve anyway (its tier is down too, so nothing purged can be
      // read from it) and keep trying; the failure went to onEvent.
      this.#retryLoad(1000);
    }
    if (this.#options.epochStore !== undefined && this.#reloadIntervalMs > 0 && !this.#closed) {
      this.#timer = setInterval(
        () => void this.reload().catch(() => undefined),
        this.#reloadIntervalMs,
      );
      this.#timer.unref?.();
    }
  }

  #retryLoad(delay: number): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.reload().catch(() => this.#retryLoad(Math.min(delay * 2, 30_000)));
    }, delay);
    timer.unref?.();
  }

  /** Reads every epoch from the shared store (a no-op without one). Rejects when it fails. */
  async reload(): Promise<void> {
    const store = this.#options.epochStore;
    if (store === undefined) return;
    let records: readonly EpochRecord[];
    try {
      records = await store.load();
    } catch (error) {
      this.#emit({ type: 'error', operation: 'load', error });
      throw storeError('load the purge epochs', error);
    }
    for (const record of records) this.epochs.apply(record);
    const before = this.#clock.now() - this.#retentionMs;
    this.epochs.prune(before);
    this.#emit({ type: 'reloaded', epochs: records.length });
  }

  /**
   * Applies a message from another instance. Subscribed by `start`; exposed for an engine or bus
   * that forwards messages itself.
   */
  onMessage(message: InvalidationMessage): void {
    if (message.type !== 'tags') return;
    const at = typeof message.at === 'number' ? message.at : this.#clock.now();
    const soft = message.soft === true;
    if (message.everything === true) this.epochs.apply({ kind: 'all', name: '', soft, at });
    for (const name of message.tags) this.epochs.apply({ kind: 'tag', name, soft, at });
    for (const name of message.tagPatterns ?? []) {
      this.epochs.apply({ kind: 'pattern', name, soft, at });
    }
    this.#emit({ type: 'remote', message: message.type });
  }

  /**
   * Makes every entry carrying any of these tags unreachable (or stale, with `soft`) on every
   * instance, in L1 and L2, at a cost independent of how many entries carry them.
   */
  async invalidateTags(tags: readonly string[], options: PurgeOptions = {}): Promise<number> {
    const list = stringArray('tags', tags);
    if (list.length === 0) return 0;
    await this.#record(
      list.map((name) => ({ kind: 'tag', name, soft: options.soft === true, at: 0 })),
      { tags: list },
      'tags',
    );
    return list.length;
  }

  /** A tag glob (`products:*`): every entry with a matching tag, checked at read time. */
  async invalidateTagPatterns(
    globs: readonly string[],
    options: PurgeOptions = {},
  ): Promise<number> {
    const list = stringArray('patterns', globs);
    if (list.length === 0) return 0;
    await this.#record(
      list.map((name) => ({ kind: 'pattern', name, soft: options.soft === true, at: 0 })),
      { tagPatterns: list },
      'tag-patterns',
    );
    return list.length;
  }

  /** A namespace version bump: every entry stored so far, at once, on every instance. */
  async invalidateAll(options: PurgeOptions = {}): Promise<void> {
    await this.#record(
      [{ kind: 'all', name: '', soft: options.soft === true, at: 0 }],
      { everything: true },
      'all',
    );
  }

  /**
   * Per-entity versions: a new version of `entity` (a tag such as `user:42`) leaves every entry
   * tagged with it under an older version. Returns the new version.
   */
  async bumpVersion(entity: string, options: PurgeOptions = {}): Promise<number> {
    const list = stringArray('entity', [entity]);
    return this.#record(
      [{ kind: 'tag', name: list[0]!, soft: options.soft === true, at: 0 }],
      { tags: list },
      'tags',
    );
  }

  /** The version of an entity (its latest hard purge), 0 when never bumped. */
  versionOf(entity: string): number {
    return this.epochs.versionOf(entity);
  }

  /** Drops what is stored for these URLs, on every instance. */
  async invalidateUrls(
    urls: readonly string[],
    options: { host?: string; partition?: string } = {},
  ): Promise<number> {
    const list = stringArray('urls', urls);
    const cache = this.#requireCache('urls');
    const started = performance.now();
    for (const url of list) {
      let target = url;
      let host = options.host ?? this.#options.host;
      if (/^https?:\/\//i.test(url)) {
        const parsed = new URL(url);
        target = parsed.pathname + parsed.search;
        host = parsed.host;
      } else if (!url.startsWith('/')) {
        throw new GatecacheError(
          'ERR_BAD_REQUEST',
          `[gatecache] a URL to purge must start with "/" or "http(s)://"; got ${JSON.stringify(url.slice(0, 80))}`,
        );
      }
      await cache.invalidateUrl(target, host, options.partition);
    }
    this.#emit({
      type: 'purged',
      scope: 'urls',
      count: list.length,
      soft: false,
      ms: performance.now() - started,
    });
    return list.length;
  }

  /**
   * Deletes (or, with `soft`, marks stale) every stored key a URL glob or key glob matches, by
   * scanning the store in batches of `batchSize`. Returns the number of keys.
   */
  async invalidatePattern(
    pattern: { readonly url: string } | { readonly key: string },
    options: PurgeOptions = {},
  ): Promise<number> {
    const cache = this.#requireCache('patterns');
    const compiled = this.#compile(pattern);
    const store = cache.store;
    if (typeof store.scan !== 'function') {
      throw new GatecacheError(
        'ERR_INVALID_OPTION',
        `[gatecache] store "${store.name}" cannot scan keys, so URL and key patterns cannot be purged; use tags, or a store with scan()`,
      );
    }
    const started = performance.now();
    let count = 0;
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const keys = batch;
      batch = [];
      count += keys.length;
      if (options.soft === true) await this.#markStale(cache, keys);
      else await this.#deleteKeys(cache, keys);
    };
    try {
      for await (const key of store.scan(compiled.scan, this.#batchSize)) {
        if (!compiled.matches(key)) continue;
        batch.push(key);
        if (batch.length >= this.#batchSize) await flush();
      }
    } catch (error) {
      this.#emit({ type: 'error', operation: 'scan', error });
      throw storeError(
        `scan the store for ${compiled.kind} pattern ${JSON.stringify(compiled.source)}`,
        error,
      );
    }
    await flush();
    this.#emit({
      type: 'purged',
      scope: 'keys',
      count,
      soft: options.soft === true,
      ms: performance.now() - started,
    });
    return count;
  }

  /** Applies a whole purge (the webhook's body, an event's actions). */
  async invalidate(spec: PurgeSpec): Promise<PurgeCounts> {
    const soft = spec.soft === true;
    const counts: PurgeCounts = { urls: 0, tags: 0, patterns: 0, keys: 0, all: false };
    if (spec.all === true) {
      await this.invalidateAll({ soft });
      counts.all = true;
    }
    if (spec.tags !== undefined && spec.tags.length > 0) {
      counts.tags = await this.invalidateTags(spec.tags, { soft });
    }
    const tagGlobs: string[] = [];
    for (const pattern of spec.patterns ?? []) {
      const kind = classifyPattern(pattern);
      if (kind.tag !== undefined) {
        tagGlobs.push(kind.tag);
        continue;
      }
      counts.keys += await this.invalidatePattern(kind.scan, { soft });
      counts.patterns++;
    }
    if (tagGlobs.length > 0)
      counts.patterns += await this.invalidateTagPatterns(tagGlobs, { soft });
    if (spec.urls !== undefined && spec.urls.length > 0) {
      if (soft) {
        throw new GatecacheError(
          'ERR_BAD_REQUEST',
          '[gatecache] "soft" applies to tags, patterns and "all"; purge URLs without it, or name them as URL patterns',
        );
      }
      counts.urls = await this.invalidateUrls(
        spec.urls,
        spec.host === undefined ? {} : { host: spec.host },
      );
    }
    return counts;
  }

  /** Stops listening and reloading. Does not close the bus or the epoch store (their owners do). */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get #namespace(): string {
    const fromCache = this.#cache?.namespace;
    return typeof fromCache === 'string' ? fromCache : (this.#options.namespace ?? 'default');
  }

  #compile(pattern: { readonly url: string } | { readonly key: string }): CompiledKeyPattern {
    try {
      if ('url' in pattern) return compileUrlPattern(pattern.url, this.#namespace);
      if (typeof pattern.key !== 'string' || pattern.key === '')
        throw new Error('must be a non-empty glob');
      return compileKeyPattern(pattern.key, this.#namespace);
    } catch (error) {
      const text = 'url' in pattern ? pattern.url : pattern.key;
      throw new GatecacheError(
        'ERR_BAD_REQUEST',
        `[gatecache] pattern ${JSON.stringify(String(text).slice(0, 80))} ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Local first (effective at once, no I/O on reads), then the shared store, then the bus. */
  async #record(
    records: readonly EpochRecord[],
    message: { tags?: readonly string[]; tagPatterns?: readonly string[]; everything?: boolean },
    scope: 'tags' | 'tag-patterns' | 'all',
  ): Promise<number> {
    const started = performance.now();
    const at = this.#clock.now();
    const stamped = records.map((record) => ({ ...record, at }));
    for (const record of stamped) this.epochs.apply(record);
    const soft = stamped[0]?.soft === true;
    const failures: unknown[] = [];
    const store = this.#options.epochStore;
    if (store !== undefined) {
      try {
        await store.save(stamped);
      } catch (error) {
        this.#emit({ type: 'error', operation: 'save', error });
        failures.push(error);
      }
    }
    const bus = this.#options.bus;
    if (bus !== undefined) {
      const full: InvalidationMessage = {
        type: 'tags',
        tags: message.tags ?? [],
        at,
        ...(soft ? { soft: true } : {}),
        ...(message.tagPatterns !== undefined ? { tagPatterns: message.tagPatterns } : {}),
        ...(message.everything === true ? { everything: true } : {}),
      };
      try {
        await bus.publish(full);
      } catch (error) {
        this.#emit({ type: 'error', operation: 'publish', error });
        failures.push(error);
      }
    }
    this.#emit({
      type: 'purged',
      scope,
      count: stamped.length,
      soft,
      ms: performance.now() - started,
    });
    if (failures.length > 0) {
      throw storeError(
        'share the purge with the fleet (it applies here; other instances learn it at their next reload)',
        failures[0],
      );
    }
    return at;
  }

  async #deleteKeys(cache: InvalidationTarget, keys: readonly string[]): Promise<void> {
    if (typeof cache.invalidateKeys === 'function') {
      await cache.invalidateKeys(keys);
      return;
    }
    try {
      await Promise.all(keys.map(async (key) => cache.store.delete(key)));
    } catch (error) {
      this.#emit({ type: 'error', operation: 'delete', error });
      throw storeError('delete keys matched by a pattern', error);
    }
    const bus = this.#options.bus;
    if (bus === undefined) return;
    try {
      await bus.publish({ type: 'keys', keys });
    } catch (error) {
      this.#emit({ type: 'error', operation: 'publish', error });
      throw storeError('announce deleted keys on the bus', error);
    }
  }

  /** Rewrites entries with `staleAt` now, keeping their TTL: stale-if-error can still use them. */
  async #markStale(cache: InvalidationTarget, keys: readonly string[]): Promise<void> {
    const now = this.#clock.now();
    const store = cache.store;
    try {
      await Promise.all(
        keys.map(async (key) => {
          const record = await store.get(key);
          if (record === undefined || record.kind !== 'response' || record.staleAt <= now) return;
          const ttl = record.deleteAt - now;
          if (ttl > 0) await store.set(key, { ...record, staleAt: now }, ttl);
        }),
      );
    } catch (error) {
      this.#emit({ type: 'error', operation: 'delete', error });
      throw storeError('mark keys matched by a pattern stale', error);
    }
    // Other instances drop their local copies and read the stale one from the shared tier.
    const bus = this.#options.bus;
    if (bus !== undefined) {
      await bus.publish({ type: 'keys', keys }).catch((error: unknown) => {
        this.#emit({ type: 'error', operation: 'publish', error });
      });
    }
  }

  #requireCache(what: string): InvalidationTarget {
    if (this.#cache === undefined) {
      throw new GatecacheError(
        'ERR_INVALID_OPTION',
        `[gatecache] purging ${what} needs the engine: pass "cache" to createInvalidation or call attach(cache)`,
      );
    }
    return this.#cache;
  }

  #emit(event: InvalidationEvent): void {
    const listener = this.#options.onEvent;
    if (listener === undefined) return;
    try {
      listener(event);
    } catch {
      // A faulty listener must not fail a purge.
    }
  }
}

/** `/…` and `{url}` are URL globs, `{key}` store-key globs; any other string is a tag glob. */
export function classifyPattern(pattern: PurgePattern):
  | { readonly tag: string; readonly scan?: undefined }
  | {
      readonly tag?: undefined;
      readonly scan: { readonly url: string } | { readonly key: string };
    } {
  if (typeof pattern === 'string')
    return pattern.startsWith('/') ? { scan: { url: pattern } } : { tag: pattern };
  if ('tag' in pattern) return { tag: pattern.tag };
  return { scan: pattern };
}

/** Creates an invalidation; options are validated here. Call `start()` before serving. */
export function createInvalidation(options: InvalidationOptions = {}): Invalidation {
  return new Invalidation(options);
}

function integerOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalidOption(name, value, min === 0 ? 'an integer of 0 or more' : 'a positive integer');
  }
  return value;
}

function stringArray(name: string, value: readonly string[]): readonly string[] {
  const list: unknown = value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string' && item !== '')) {
    throw new GatecacheError(
      'ERR_BAD_REQUEST',
      `[gatecache] "${name}" must be an array of non-empty strings`,
    );
  }
  return value;
}

function storeError(what: string, cause: unknown): GatecacheError {
  return new GatecacheError(
    'ERR_STORE',
    `[gatecache] could not ${what}: ${(cause as Error)?.message ?? String(cause)}`,
    { cause },
  );
}
