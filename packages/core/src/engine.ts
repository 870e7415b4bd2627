import fresh from 'fresh';
import { formatCacheStatus, type CacheStatusParts, type ForwardReason } from './cache-status.ts';
import {
  CircuitBreaker,
  type BreakerState,
  type CircuitBreakerOptions,
} from './circuit-breaker.ts';
import { monotonicNow, systemClock } from './clock.ts';
import { DEFAULTS } from './defaults.ts';
import { EMPTY_TAGS, EMPTY_VARY, Interner } from './intern.ts';
import {
  contentTypeContradictsPath,
  FIELDS_TOO_LARGE,
  FIELDS_UNKEYED,
  FIELDS_WITH_BODY,
  hasUnsafeHeader,
  scanRequestFields,
} from './defences.ts';
import { invalidOption } from './errors.ts';
import { digest, generateETag } from './hash.ts';
import { firstHeader, requestHeader, withoutHopByHop } from './headers.ts';
import {
  buildPrimaryKey,
  selectingValues,
  stripIgnoredQuery,
  variantKey,
  type KeyParts,
  type KeySettings,
} from './key.ts';
import { createMemoryStore } from './memory-store.ts';
import type { HandleResult, HeadAction, Origin, OriginOutcome, SendPlan } from './origin.ts';
import {
  assessStorability,
  canServeStaleOnError,
  computeInitialAge,
  decideReuse,
  NO_REQUEST_DIRECTIVES,
  parseRequestDirectives,
  staleKeepSeconds,
  type NotStoredReason,
  type PolicySettings,
  type RequestDirectives,
} from './policy.ts';
import type {
  CacheEntry,
  CachePolicy,
  CacheRequest,
  CacheStore,
  Clock,
  HeaderList,
  InvalidationBus,
  InvalidationMessage,
  EntryValidator,
  LeaseManager,
  MaybePromise,
  StoreHints,
  StoredRecord,
  VaryRecord,
} from './types.ts';

/**
 * Runs a request through the app with no client attached (stale-while-revalidate, refresh-ahead,
 * warming): Hono through `app.fetch`, Node apps through an injected request.
 */
export interface BackgroundRunner {
  run: Origin;
  /** Keeps the runtime alive until the task ends (Workers' `executionCtx.waitUntil`). */
  waitUntil?: ((task: Promise<unknown>) => void) | undefined;
}

/** Something the engine did, for metrics and logs. Never carries user data or raw keys. */
export type CacheEvent =
  | {
      readonly type: 'hit';
      readonly policy: string | undefined;
      readonly stale: boolean;
      readonly collapsed: boolean;
    }
  | { readonly type: 'miss'; readonly policy: string | undefined; readonly reason: ForwardReason }
  | { readonly type: 'bypass'; readonly policy: string | undefined; readonly reason: string }
  | { readonly type: 'revalidated'; readonly policy: string | undefined; readonly status: number }
  | { readonly type: 'stale-if-error'; readonly policy: string | undefined }
  | { readonly type: 'stored'; readonly policy: string | undefined; readonly bytes: number }
  | {
      readonly type: 'not-stored';
      readonly policy: string | undefined;
      readonly reason: NotStoredReason | 'invalidated';
    }
  | { readonly type: 'coalesced'; readonly policy: string | undefined }
  | { readonly type: 'invalidated'; readonly keys: number }
  | { readonly type: 'breaker'; readonly key: string; readonly state: BreakerState }
  | {
      readonly type: 'store-error';
      readonly operation: 'get' | 'set' | 'delete' | 'clear';
      readonly error: unknown;
    };

export interface HttpCacheOptions {
  /** Where entries live. Default: a memory store of 64 MiB / 10,000 entries. */
  readonly store?: CacheStore;
  readonly clock?: Clock;
  /** Keys are prefixed with it: two caches sharing a store with different namespaces never meet. */
  readonly namespace?: string;
  /** Freshness lifetime in seconds for responses without explicit freshness (origin headers win). */
  readonly ttl?: number;
  /** Per-request rules (see `@gatecache/core/config`); merged over the options above. */
  readonly policy?: (request: CacheRequest) => CachePolicy | undefined;
  /** Resolves the user of a request, for private (per-user) storage. The value is hashed. */
  readonly partition?: (request: CacheRequest) => string | undefined;
  /** Largest body stored, in bytes. Default 5 MiB. */
  readonly maxBodyBytes?: number;
  /** Generate a strong ETag for stored responses that have none. Default true. */
  readonly etag?: boolean;
  /** Ignore the client's Cache-Control/Pragma (a gateway protecting its origin). Default false. */
  readonly ignoreRequestCacheControl?: boolean;
  /**
   * Response fields obeyed ahead of Cache-Control (RFC 9213), first present wins.
   * Default `['gatecache-cache-control', 'cdn-cache-control']`.
   */
  readonly targetedFields?: readonly string[];
  /** Query parameters left out of keys (`utm_*` prefix patterns allowed). Default none. */
  readonly queryIgnore?: readonly string[];
  /** Query parameters whose values are hashed in keys. Default: common credential names. */
  readonly sensitiveQuery?: readonly string[];
  /** Key on the Host header. Default true. */
  readonly keyHost?: boolean;
  /** Name in Cache-Status. Default `gatecache`. */
  readonly cacheStatusName?: string;
  /** Seconds a stale entry with validators is kept for revalidation. Default 300. */
  readonly revalidationWindow?: number;
  readonly heuristicFraction?: number;
  readonly heuristicMaxSeconds?: number;
  /** Collapse concurrent misses for one key into one origin call. Default true. */
  readonly coalesce?: boolean;
  /** Cross-instance invalidation (Redis pub/sub, for example). */
  readonly bus?: InvalidationBus;
  /**
   * Refresh hot entries before they expire: when a hit finds less than this fraction of the
   * entry's lifetime left, it refreshes it in the background with a probability that grows as
   * expiry nears, so entries stored together do not all refresh together. 0 turns it off.
   * Needs an adapter that can run background requests. Default 0.
   */
  readonly refreshAhead?: number;
  /** Source of randomness for refresh-ahead (tests inject it). Default Math.random. */
  readonly random?: () => number;
  /**
   * Seconds of patience with the origin when a stale entry could be served instead (within its
   * stale-if-error window): past it the client gets the stale entry, and the origin's late answer
   * refreshes the cache where the adapter can finish it apart from the client. 0 waits for the
   * origin. Default 0.
   */
  readonly originTimeoutMs?: number;
  /** A circuit breaker per upstream or route (see `breakerKey`); off when absent. */
  readonly breaker?: CircuitBreakerOptions;
  /** The circuit a request belongs to. Default: its policy name, else one circuit for all. */
  readonly breakerKey?: (request: CacheRequest, policy: CachePolicy) => string;
  /**
   * Called after a non-error response to an unsafe method (after the URL was invalidated), so
   * rules can purge more: `PUT /api/users/:id` → tag `user:{id}`.
   */
  readonly onUnsafeSuccess?: (
    request: CacheRequest,
    status: number,
    headers: HeaderList,
  ) => MaybePromise<void>;
  /**
   * The tenant of a request (`X-Tenant-ID`, a host, a function of the request): its entries live
   * in a namespace of their own, keyed by a one-way hash, so tenants never share or purge each
   * other's entries.
   */
  readonly tenant?: (request: CacheRequest) => string | undefined;
  /**
   * Request fields that bypass the cache unless a rule keys on them (poisoning defence).
   * Default `UNKEYED_HEADERS`; an empty list turns the defence off.
   */
  readonly unkeyedHeaders?: readonly string[];
  /** Store only responses whose Content-Type agrees with the path's extension. Default true. */
  readonly deceptionDefence?: boolean;
  /** Longer request targets bypass the cache. Default 8192. */
  readonly maxUrlLength?: number;
  /** Requests with larger header sections bypass the cache. Default 32 KiB. */
  readonly maxRequestHeaderBytes?: number;
  /** Read-time purge checks (tags, versions, soft purges). */
  readonly validator?: EntryValidator;
  /** Cross-instance coalescing: one origin call per cold key across a fleet. */
  readonly leases?: LeaseManager;
  /** How long a request waits for another instance's fetch before fetching itself. Default 5000 ms. */
  readonly leaseWaitMs?: number;
  readonly onEvent?: (event: CacheEvent) => void;
  /**
   * Response fields whose values tag the stored entry (surrogate keys, comma- or space-separated).
   * Default `['cache-tag', 'surrogate-key']`.
   */
  readonly tagHeaders?: readonly string[];
  /** Remove the tag fields from what clients see. Default true. */
  readonly stripTagHeaders?: boolean;
}

const CLIENT_VALIDATORS = [
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
];

/** Fields a 304 must not change in the stored response (RFC 9111 §3.2). */
const NOT_UPDATED_BY_304 = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'age',
]);

/** Fields a 304 from the cache carries (RFC 9110 §15.4.5). */
const NOT_MODIFIED_FIELDS = new Set([
  'cache-control',
  'content-location',
  'date',
  'etag',
  'expires',
  'vary',
  'last-modified',
]);

interface Settings extends PolicySettings, KeySettings {
  readonly generateEtag: boolean;
  readonly ignoreRequestCacheControl: boolean;
  readonly cacheStatusName: string;
  readonly coalesce: boolean;
  readonly leaseWaitMs: number;
  readonly tagHeaders: readonly string[];
  readonly stripTagHeaders: boolean;
  readonly refreshAhead: number;
  readonly originTimeoutMs: number;
  readonly unkeyedHeaders: readonly string[];
  readonly deceptionDefence: boolean;
  readonly maxUrlLength: number;
  readonly maxRequestHeaderBytes: number;
}

/** Everything about one request the engine works out once. */
interface RequestContext {
  readonly request: CacheRequest;
  readonly policy: CachePolicy;
  readonly directives: RequestDirectives;
  readonly sharedKey: string;
  readonly privateKey: string | undefined;
  readonly hints: StoreHints | undefined;
  readonly isHead: boolean;
  /**
   * The client's conditional fields, read before the origin call (which may remove them from the
   * request the origin sees), in the shape the `fresh` package takes.
   */
  readonly conditional: Readonly<Record<string, string>> | undefined;
}

/** The Vary records of a lookup that met none. */
const NO_VARY_RECORDS: ReadonlyMap<string, VaryRecord> = new Map();

type Lookup = (
  | { readonly found: true; readonly entry: CacheEntry; readonly key: string }
  | { readonly found: false; readonly reason: 'uri-miss' | 'vary-miss' }
) & {
  /** Vary records seen at the shared and private keys, reused when storing a variant. */
  readonly varyRecords: ReadonlyMap<string, VaryRecord>;
};

/** What `lookahead` found: a fresh hit's plan, or the lookup for `serve` to continue from. */
export type Lookahead =
  | { readonly plan: SendPlan; readonly prior: undefined }
  | { readonly plan: undefined; readonly prior: PriorLookup | undefined };

/** A lookahead whose store read failed: the app runs, and `serve` reads again. */
const NOTHING_AHEAD: Lookahead = Object.freeze({ plan: undefined, prior: undefined });

/** How long a lookahead's lookup stays good for `serve`: past it, the store is read again. */
const PRIOR_LOOKUP_MS = 50;

/**
 * A lookup `lookahead` made, for `serve` to take once instead of reading the store again. Only
 * the engine that made it, for the same keys, within `PRIOR_LOOKUP_MS`, may take it: anything
 * else reads the store as usual, so a stale or foreign lookup never decides an answer.
 */
export class PriorLookup {
  #engine: HttpCache | undefined;
  readonly #sharedKey: string;
  readonly #privateKey: string | undefined;
  readonly #layers: string | undefined;
  readonly #lookup: Lookup;
  readonly #at: number;

  /** @internal Made by `HttpCache.lookahead` only. */
  constructor(
    engine: HttpCache,
    sharedKey: string,
    privateKey: string | undefined,
    layers: string | undefined,
    lookup: Lookup,
    at: number,
  ) {
    this.#engine = engine;
    this.#sharedKey = sharedKey;
    this.#privateKey = privateKey;
    this.#layers = layers;
    this.#lookup = lookup;
    this.#at = at;
  }

  /** @internal The lookup, once, when it matches; undefined otherwise. */
  take(
    engine: HttpCache,
    sharedKey: string,
    privateKey: string | undefined,
    layers: string | undefined,
  ): Lookup | undefined {
    const owner = this.#engine;
    this.#engine = undefined;
    if (
      owner !== engine ||
      sharedKey !== this.#sharedKey ||
      privateKey !== this.#privateKey ||
      layers !== this.#layers
    ) {
      return undefined;
    }
    return monotonicNow() - this.#at <= PRIOR_LOOKUP_MS ? this.#lookup : undefined;
  }
}

interface Flight {
  readonly done: Promise<void>;
  /** A background refresh: nobody waits for its answer. */
  readonly background: boolean;
  /** False when the leader's response could not be stored: waiters then fetch on their own. */
  storable: boolean;
  /**
   * The entry the leader stored, handed to waiters directly (after the same key and Vary checks a
   * lookup makes), so coalescing holds even when a slow or failing store loses the write.
   */
  entry?: CacheEntry;
}

let dateSecond = Number.NaN;
let dateText = '';
/** IMF-fixdate of `ms`, formatted once per second (every miss stores a Date). */
function HTTP_DATE(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateText = new Date(second * 1000).toUTCString();
    dateSecond = second;
  }
  return dateText;
}

function positiveNumber(
  name: string,
  value: number | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw invalidOption(name, value, allowZero ? 'a number of 0 or more' : 'a positive number');
  }
  return value;
}

function stringList(
  name: string,
  value: readonly string[] | undefined,
  fallback: readonly string[],
): readonly string[] {
  if (value === undefined) return fallback;
  if (
    !Array.isArray(value) ||
    !value.every((item) => typeof item === 'string' && item.length > 0)
  ) {
    throw invalidOption(name, value, 'an array of non-empty strings');
  }
  // Frozen: the key builder keeps a matcher per list, which must not change under it.
  return Object.freeze(value.map((item: string) => item.toLowerCase()));
}

/**
 * The engine: looks requests up, decides with the RFC 9111 policy, runs the origin once per key,
 * stores what may be stored, and tells the adapter what to send.
 */
export class HttpCache {
  readonly store: CacheStore;
  readonly clock: Clock;
  /** The key namespace (pattern purges match keys under it). */
  readonly namespace: string;
  readonly #settings: Settings;
  /** `unkeyedHeaders` as a set; undefined when there are none. */
  readonly #unkeyed: ReadonlySet<string> | undefined;
  readonly #options: HttpCacheOptions;
  readonly #flights = new Map<string, Flight>();
  /** Invalidation sequence per primary key, so a fetch that began before a purge never stores. */
  readonly #invalidations = new Map<string, number>();
  #sequence = 0;
  #clearedAt = 0;
  readonly #unsubscribe: (() => void) | undefined;
  readonly #random: () => number;
  readonly #basePolicy: CachePolicy;
  /** Host, then target → shared key, for requests without query rules or tenant (see #sharedKey). */
  readonly #recentKeys = new Map<string, Map<string, string>>();
  #recentKeyCount = 0;
  /** The last key built outside the memo, kept there once a lookup finds an entry under it. */
  #builtHost: string | undefined;
  #builtUrl: string | undefined;
  #builtKey: string | undefined;
  /** Per-entry header lists as sent on a hit (without Age and Cache-Status). */
  readonly #interner = new Interner();
  readonly #breaker: CircuitBreaker | undefined;
  #stats = { hits: 0, misses: 0, stores: 0, bypasses: 0 };

  constructor(options: HttpCacheOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw invalidOption('options', options, 'an object');
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#basePolicy = Object.freeze({ ttl: options.ttl });
    this.#breaker =
      options.breaker === undefined
        ? undefined
        : new CircuitBreaker(options.breaker, (key, state) =>
            this.#emit({ type: 'breaker', key, state }),
          );
    this.store = options.store ?? createMemoryStore({ clock: this.clock });
    const namespace = options.namespace ?? DEFAULTS.namespace;
    this.namespace = namespace;
    if (typeof namespace !== 'string' || !/^[\w.-]{1,64}$/.test(namespace)) {
      throw invalidOption('namespace', namespace, '1 to 64 letters, digits, ".", "_" or "-"');
    }
    if (options.ttl !== undefined) positiveNumber('ttl', options.ttl, 0, true);
    const cacheStatusName = options.cacheStatusName ?? DEFAULTS.cacheStatusName;
    if (typeof cacheStatusName !== 'string' || !/^[a-zA-Z][\w.-]*$/.test(cacheStatusName)) {
      throw invalidOption('cacheStatusName', cacheStatusName, 'a token such as "gatecache"');
    }
    for (const fn of ['policy', 'partition', 'onEvent', 'tenant', 'onUnsafeSuccess'] as const) {
      if (options[fn] !== undefined && typeof options[fn] !== 'function') {
        throw invalidOption(fn, options[fn], 'a function');
      }
    }
    this.#settings = {
      namespace,
      includeHost: options.keyHost ?? DEFAULTS.keyHost,
      queryIgnore: stringList('queryIgnore', options.queryIgnore, DEFAULTS.queryIgnore),
      sensitiveQuery: stringList('sensitiveQuery', options.sensitiveQuery, DEFAULTS.sensitiveQuery),
      targetedFields: stringList('targetedFields', options.targetedFields, DEFAULTS.targetedFields),
      heuristicFraction: positiveNumber(
        'heuristicFraction',
        options.heuristicFraction,
        DEFAULTS.heuristicFraction,
        true,
      ),
      heuristicMaxSeconds: positiveNumber(
        'heuristicMaxSeconds',
        options.heuristicMaxSeconds,
        DEFAULTS.heuristicMaxSeconds,
        true,
      ),
      revalidationWindow: positiveNumber(
        'revalidationWindow',
        options.revalidationWindow,
        DEFAULTS.revalidationWindow,
        true,
      ),
      maxBodyBytes: positiveNumber('maxBodyBytes', options.maxBodyBytes, DEFAULTS.maxBodyBytes),
      generateEtag: options.etag ?? DEFAULTS.etag,
      ignoreRequestCacheControl:
        options.ignoreRequestCacheControl ?? DEFAULTS.ignoreRequestCacheControl,
      cacheStatusName,
      coalesce: options.coalesce ?? DEFAULTS.coalesce,
      leaseWaitMs: positiveNumber('leaseWaitMs', options.leaseWaitMs, DEFAULTS.leaseWaitMs),
      tagHeaders: stringList('tagHeaders', options.tagHeaders, DEFAULTS.tagHeaders),
      stripTagHeaders: options.stripTagHeaders ?? DEFAULTS.stripTagHeaders,
      refreshAhead: fraction('refreshAhead', options.refreshAhead, DEFAULTS.refreshAhead),
      unkeyedHeaders: stringList('unkeyedHeaders', options.unkeyedHeaders, DEFAULTS.unkeyedHeaders),
      deceptionDefence: options.deceptionDefence ?? DEFAULTS.deceptionDefence,
      maxUrlLength: positiveNumber('maxUrlLength', options.maxUrlLength, DEFAULTS.maxUrlLength),
      maxRequestHeaderBytes: positiveNumber(
        'maxRequestHeaderBytes',
        options.maxRequestHeaderBytes,
        DEFAULTS.maxRequestHeaderBytes,
      ),
      originTimeoutMs: positiveNumber(
        'originTimeoutMs',
        options.originTimeoutMs,
        DEFAULTS.originTimeoutMs,
        true,
      ),
    };
    if (typeof this.#settings.generateEtag !== 'boolean')
      throw invalidOption('etag', options.etag, 'true or false');
    const unkeyed = this.#settings.unkeyedHeaders;
    this.#unkeyed = unkeyed.length === 0 ? undefined : new Set(unkeyed);
    this.#unsubscribe = options.bus?.subscribe(
      (message) => void this.#applyRemote(message),
      () => void this.#dropLocal(),
    );
  }

  /** Counters since start (see `onEvent` for a full event stream). */
  get stats(): Readonly<{ hits: number; misses: number; stores: number; bypasses: number }> {
    return { ...this.#stats };
  }

  /** Handles one request end to end. Never rejects: a cache failure degrades to the origin. */
  async handle(
    request: CacheRequest,
    origin: Origin,
    overrides?: CachePolicy,
    background?: BackgroundRunner,
  ): Promise<HandleResult> {
    return this.serve(request, origin, overrides, background);
  }

  /**
   * `handle`, answering synchronously when it can: a fresh hit from a synchronous store (the
   * memory tier) returns the plan at once, with no promise on the way, so adapters can write it
   * in the same tick. Anything else returns a promise. Never throws or rejects.
   */
  serve(
    request: CacheRequest,
    origin: Origin,
    overrides?: CachePolicy,
    background?: BackgroundRunner,
    prior?: PriorLookup,
  ): HandleResult | Promise<HandleResult> {
    const method = request.method;
    if (method !== 'GET' && method !== 'HEAD') {
      // RFC 9111 §4.4: unsafe methods invalidate; other methods just pass through.
      const unsafe =
        method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
      return this.#passThrough(request, origin, 'method', undefined, unsafe);
    }
    let policy: CachePolicy;
    let ctx: RequestContext;
    try {
      policy = this.#resolvePolicy(request, overrides);
      if (policy.cache === false || policy.classification === 'sensitive') {
        return this.#passThrough(request, origin, 'bypass', 'policy', false, policy);
      }
      const bypass = this.#requestBypass(request, policy);
      if (bypass !== undefined) {
        return this.#passThrough(request, origin, 'bypass', bypass, false, policy);
      }
      // No range support: a range request goes to the origin as it is (RFC 9111 §3.3).
      if (request.headers['range'] !== undefined) {
        return this.#passThrough(request, origin, 'bypass', 'range', false, policy);
      }
      const directives = this.#settings.ignoreRequestCacheControl
        ? NO_REQUEST_DIRECTIVES
        : parseRequestDirectives(request.headers);
      // RFC 9111 §5.2.1.5: no-store in the request: nothing of this exchange is stored.
      if (directives.noStore) {
        return this.#passThrough(request, origin, 'request', 'no-store', false, policy);
      }
      ctx = this.#context(request, policy, directives);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'get', error });
      return this.#passThrough(request, origin, 'bypass', 'policy-error', false);
    }
    const lookup = this.#priorFor(prior, ctx) ?? this.#lookup(ctx);
    if (isThenable(lookup))
      return lookup.then((found) => this.#decide(ctx, found, origin, background));
    return this.#decide(ctx, lookup, origin, background);
  }

  /**
   * A fresh hit answered at once from the local (L1, memory) tier, or undefined: no origin call,
   * no network, no waiting. Adapters use it in front of a framework, so a hit never pays for the
   * framework's routing; anything else (a miss, a stale entry, an entry only in L2) goes through
   * the app and `serve` as usual. Never throws.
   */
  peek(request: CacheRequest, overrides?: CachePolicy): SendPlan | undefined {
    if (this.store.local !== true) return undefined;
    const ctx = this.#peekContext(request, overrides, true);
    if (ctx === undefined) return undefined;
    try {
      const lookup = this.#lookup(ctx);
      // Not in the local tier, or the store is remote: let the request take the normal path.
      if (isThenable(lookup)) {
        lookup.catch(() => undefined);
        return undefined;
      }
      return this.#peekHit(ctx, lookup);
    } catch {
      return undefined;
    }
  }

  /**
   * `peek` over every tier, Redis included: a fresh hit becomes `{ plan }`, synchronously when the
   * store answers so; anything else `{ prior }`, the lookup made, which `serve` takes in place of
   * reading the store again (pass it as `serve`'s `prior`). Undefined where `serve` would not read
   * the store at all (a bypass, `no-cache`, a method other than GET and HEAD). Never throws or
   * rejects.
   */
  lookahead(
    request: CacheRequest,
    overrides?: CachePolicy,
  ): Lookahead | Promise<Lookahead> | undefined {
    const ctx = this.#peekContext(request, overrides, false);
    if (ctx === undefined) return undefined;
    try {
      const lookup = this.#lookup(ctx);
      if (!isThenable(lookup)) return this.#lookahead(ctx, lookup);
      return lookup.then(
        (found) => this.#lookahead(ctx, found),
        () => NOTHING_AHEAD,
      );
    } catch {
      return undefined;
    }
  }

  #lookahead(ctx: RequestContext, lookup: Lookup): Lookahead {
    const plan = this.#peekHit(ctx, lookup);
    if (plan !== undefined) return { plan, prior: undefined };
    return {
      plan: undefined,
      prior: new PriorLookup(
        this,
        ctx.sharedKey,
        ctx.privateKey,
        layersOf(ctx),
        lookup,
        monotonicNow(),
      ),
    };
  }

  /** The request's context when a look at the store could answer it; undefined otherwise. */
  #peekContext(
    request: CacheRequest,
    overrides: CachePolicy | undefined,
    localOnly: boolean,
  ): RequestContext | undefined {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    try {
      const policy = this.#resolvePolicy(request, overrides);
      if (policy.cache === false || policy.classification === 'sensitive') return undefined;
      if (this.#requestBypass(request, policy) !== undefined) return undefined;
      if (request.headers['range'] !== undefined) return undefined;
      const directives = this.#settings.ignoreRequestCacheControl
        ? NO_REQUEST_DIRECTIVES
        : parseRequestDirectives(request.headers);
      if (directives.noStore || directives.noCache) return undefined;
      if (!localOnly) return this.#context(request, policy, directives);
      if (policy.layers !== undefined && !policy.layers.includes('l1')) return undefined;
      return this.#context(request, policy, directives, L1_ONLY);
    } catch {
      return undefined;
    }
  }

  /** The plan for a fresh hit that needs nothing of the app; undefined for anything else. */
  #peekHit(ctx: RequestContext, lookup: Lookup): SendPlan | undefined {
    if (!lookup.found) return undefined;
    this.#rememberKey(ctx.sharedKey);
    const now = this.clock.now();
    if (decideReuse(lookup.entry, ctx.directives, now).type !== 'fresh') return undefined;
    // Refresh-ahead needs the app: leave entries in their refresh window to `serve`.
    if (this.#settings.refreshAhead > 0 && this.#shouldRefreshAhead(lookup.entry, now))
      return undefined;
    const result = this.#serve(ctx, lookup.entry, HIT, false, now);
    return result.type === 'send' ? result.response : undefined;
  }

  /**
   * The lookup `lookahead` made for this request, when it is this engine's, of the same keys, not
   * used yet and recent; otherwise undefined, and the store is read again.
   */
  #priorFor(prior: PriorLookup | undefined, ctx: RequestContext): Lookup | undefined {
    if (prior === undefined || !(prior instanceof PriorLookup)) return undefined;
    return prior.take(this, ctx.sharedKey, ctx.privateKey, layersOf(ctx));
  }

  #decide(
    ctx: RequestContext,
    lookup: Lookup,
    origin: Origin,
    background: BackgroundRunner | undefined,
  ): HandleResult | Promise<HandleResult> {
    const directives = ctx.directives;
    if (lookup.found) {
      this.#rememberKey(ctx.sharedKey);
      const { entry } = lookup;
      const now = this.clock.now();
      const reuse = decideReuse(entry, directives, now);
      switch (reuse.type) {
        case 'fresh':
          if (background !== undefined && this.#shouldRefreshAhead(entry, now)) {
            this.#refreshInBackground(ctx, background, lookup);
          }
          return this.#serve(ctx, entry, HIT, false, now);
        case 'stale-accepted':
          return this.#serve(ctx, entry, { hit: true, detail: 'max-stale' }, false, now);
        case 'stale-while-revalidate':
          // RFC 5861 §3: serve the stale entry now and refresh it in the background. Without a
          // way to run the origin in the background, revalidate in line.
          if (background === undefined) {
            if (directives.onlyIfCached) return this.#gatewayTimeout();
            return this.#fetch(ctx, origin, 'stale', lookup);
          }
          this.#refreshInBackground(ctx, background, lookup);
          return this.#serve(ctx, entry, { hit: true, detail: 'stale-while-revalidate' }, false);
        case 'revalidate':
          if (directives.onlyIfCached) return this.#gatewayTimeout();
          return this.#fetch(ctx, origin, reuse.reason === 'request' ? 'request' : 'stale', lookup);
        default:
          return reuse satisfies never;
      }
    }
    // RFC 9111 §5.2.1.7: only-if-cached with nothing usable stored is a 504.
    if (directives.onlyIfCached) return this.#gatewayTimeout();
    return this.#fetch(ctx, origin, lookup.reason, lookup);
  }

  /**
   * Drops everything stored for a URL (every variant, the shared entry and, when `partition` is
   * given, that user's entry), here and on every instance sharing the bus.
   */
  async invalidateUrl(url: string, host?: string, partition?: string): Promise<void> {
    const keys = this.#keysForUrl(url, host, partition);
    await this.#invalidateKeys(keys, true);
  }

  /**
   * Drops these store keys here and on every instance sharing the bus; a fetch already in flight
   * for one of them will not store its (older) body.
   */
  async invalidateKeys(keys: readonly string[]): Promise<void> {
    await this.#invalidateKeys(keys, true);
  }

  /** Drops every entry of this cache, here and on every instance sharing the bus. */
  async clear(): Promise<void> {
    this.#clearedAt = ++this.#sequence;
    await this.#safe('clear', () => this.store.clear());
    this.#emit({ type: 'invalidated', keys: -1 });
    await this.#publish({ type: 'all' });
  }

  /** Stops listening to the bus and closes the store. */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#options.bus?.close?.();
    await this.store.close?.();
  }

  /** The policy the engine would apply to this request (options, matching rule, overrides). */
  policyFor(request: CacheRequest, overrides?: CachePolicy): CachePolicy {
    return this.#resolvePolicy(request, overrides);
  }

  /** Why a request must not use the cache at all (size limits, poisoning), or undefined. */
  #requestBypass(request: CacheRequest, policy: CachePolicy): string | undefined {
    const settings = this.#settings;
    if (request.url.length > settings.maxUrlLength) return 'url-too-long';
    const fields = scanRequestFields(
      request.headers,
      settings.maxRequestHeaderBytes,
      policy.poisoningDefence === false ? undefined : this.#unkeyed,
      policy.varyHeaders,
    );
    if ((fields & FIELDS_TOO_LARGE) !== 0) return 'headers-too-large';
    if ((fields & FIELDS_WITH_BODY) !== 0) return 'request-body';
    // RFC 3986 §3.2.2: reg-name or IP literal, optional port; anything else is not a host.
    if (request.host !== undefined && !VALID_HOST.test(request.host)) return 'invalid-host';
    if ((fields & FIELDS_UNKEYED) !== 0) return 'unkeyed-header';
    return undefined;
  }

  /**
   * The shared-space key. Without query rules or a tenant it depends only on host and target, so
   * recent ones are remembered: a hot URL skips normalizing, and the store sees the same key string
   * each time (its hash already computed).
   */
  #sharedKey(parts: KeyParts): string {
    if (
      parts.tenantHash !== undefined ||
      parts.queryIgnore !== undefined ||
      parts.queryAllow !== undefined
    ) {
      return buildPrimaryKey(parts, this.#settings);
    }
    // By host, then target: two lookups of strings the request already holds, rather than one of
    // a string joined from both for every request.
    const host = parts.host ?? '';
    let key = this.#recentKeys.get(host)?.get(parts.url);
    if (key === undefined) {
      key = buildPrimaryKey(parts, this.#settings);
      this.#builtHost = host;
      this.#builtUrl = parts.url;
      this.#builtKey = key;
    }
    return key;
  }

  /**
   * Keeps the key just built for a URL the store holds, so that its next hits skip building it.
   * Keys of misses (often one-off URLs) stay out: they would only fill the memo with strings
   * that outlive a few garbage collections and die in the old generation.
   */
  #rememberKey(key: string): void {
    const host = this.#builtHost;
    const url = this.#builtUrl;
    if (this.#builtKey !== key || host === undefined || url === undefined) return;
    if (this.#recentKeyCount >= RECENT_KEYS) {
      this.#recentKeys.clear();
      this.#recentKeyCount = 0;
    }
    let forHost = this.#recentKeys.get(host);
    if (forHost === undefined) {
      forHost = new Map();
      this.#recentKeys.set(host, forHost);
    }
    if (!forHost.has(url)) this.#recentKeyCount++;
    forHost.set(url, key);
    this.#builtHost = undefined;
    this.#builtUrl = undefined;
    this.#builtKey = undefined;
  }

  #tenantHash(request: CacheRequest): string | undefined {
    const tenant = this.#options.tenant?.(request);
    if (tenant === undefined || tenant === '') return undefined;
    return digest(`${this.#settings.namespace}\ntenant\n${tenant}`).slice(0, 16);
  }

  /** Engine options, then the matching rule, then per-route overrides: the most specific wins. */
  #resolvePolicy(request: CacheRequest, overrides: CachePolicy | undefined): CachePolicy {
    const rule = this.#options.policy?.(request);
    if (rule === undefined && overrides === undefined) return this.#basePolicy;
    let policy: CachePolicy = this.#basePolicy;
    if (rule !== undefined) policy = mergePolicy(policy, rule);
    if (overrides !== undefined) policy = mergePolicy(policy, overrides);
    return policy;
  }

  #context(
    request: CacheRequest,
    policy: CachePolicy,
    directives: RequestDirectives,
    hints?: StoreHints,
  ): RequestContext {
    const partition = request.partition ?? policy.partition ?? this.#options.partition?.(request);
    // Spelled out, never spread: copying an object by spread costs microseconds per request.
    const url = request.url;
    const host = request.host;
    const queryIgnore = policy.queryIgnore;
    const queryAllow = policy.queryAllow;
    const tenantHash = this.#tenantHash(request);
    const sharedKey = this.#sharedKey({
      url,
      host,
      partitionHash: undefined,
      tenantHash,
      queryIgnore,
      queryAllow,
    });
    const privateKey =
      partition === undefined || partition === ''
        ? undefined
        : buildPrimaryKey(
            {
              url,
              host,
              partitionHash: digest(`${this.#settings.namespace}\n${partition}`),
              tenantHash,
              queryIgnore,
              queryAllow,
            },
            this.#settings,
          );
    return {
      request,
      policy,
      directives,
      sharedKey,
      privateKey,
      hints: hints ?? (policy.layers === undefined ? undefined : { layers: policy.layers }),
      isHead: request.method === 'HEAD',
      conditional: this.#clientConditional(request),
    };
  }

  #keysForUrl(
    url: string,
    host: string | undefined,
    partition: string | undefined,
    tenantHash?: string,
  ): string[] {
    const keys = [
      buildPrimaryKey({ url, host, partitionHash: undefined, tenantHash }, this.#settings),
    ];
    if (partition !== undefined && partition !== '') {
      keys.push(
        buildPrimaryKey(
          {
            url,
            host,
            partitionHash: digest(`${this.#settings.namespace}\n${partition}`),
            tenantHash,
          },
          this.#settings,
        ),
      );
    }
    return keys;
  }

  /**
   * Reads `key` and hands the record (foreign, expired or unreadable ones as undefined) to `next`:
   * at once from a synchronous store, else in the one continuation of the store's promise (a
   * continuation of its own for the read, then another for `next`, cost an extra promise and
   * microtask on every read from Redis).
   */
  #readThen<T>(
    key: string,
    hints: StoreHints | undefined,
    next: (record: StoredRecord | undefined) => T | Promise<T>,
  ): T | Promise<T> {
    let result: MaybePromise<StoredRecord | undefined>;
    try {
      result = this.store.get(key, hints);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'get', error });
      return next(undefined);
    }
    if (isThenable(result)) {
      return result.then(
        (record) => next(this.#accept(key, record)),
        (error: unknown) => {
          this.#emit({ type: 'store-error', operation: 'get', error });
          return next(undefined);
        },
      );
    }
    return next(this.#accept(key, result));
  }

  #accept(key: string, record: StoredRecord | undefined): StoredRecord | undefined {
    // A record read under another key, or of another version, is foreign: a miss.
    if (record === undefined || record.v !== 1 || record.key !== key) return undefined;
    if (record.deleteAt <= this.clock.now()) return undefined;
    return record;
  }

  /**
   * Finds the stored entry for a request: the shared space first, then the user's partition, each
   * through its Vary record when the response varies. Synchronous while the store is.
   */
  #lookup(ctx: RequestContext): Lookup | Promise<Lookup> {
    return this.#lookupAt(ctx, 0, 'uri-miss', undefined);
  }

  #lookupAt(
    ctx: RequestContext,
    index: number,
    reason: 'uri-miss' | 'vary-miss',
    varyRecords: Map<string, VaryRecord> | undefined,
  ): Lookup | Promise<Lookup> {
    const primary = index === 0 ? ctx.sharedKey : index === 1 ? ctx.privateKey : undefined;
    if (primary === undefined) {
      return { found: false, reason, varyRecords: varyRecords ?? NO_VARY_RECORDS };
    }
    return this.#readThen(primary, ctx.hints, (record) =>
      this.#afterPrimary(ctx, index, primary, record, reason, varyRecords),
    );
  }

  #afterPrimary(
    ctx: RequestContext,
    index: number,
    primary: string,
    record: StoredRecord | undefined,
    reason: 'uri-miss' | 'vary-miss',
    varyRecords: Map<string, VaryRecord> | undefined,
  ): Lookup | Promise<Lookup> {
    if (record === undefined) return this.#lookupAt(ctx, index + 1, reason, varyRecords);
    if (record.kind === 'response') {
      const entry = hasKeys(record.vary) ? undefined : this.#validate(record);
      if (entry === undefined) return this.#lookupAt(ctx, index + 1, reason, varyRecords);
      return { found: true, entry, key: primary, varyRecords: varyRecords ?? NO_VARY_RECORDS };
    }
    // Made only when a Vary record is met: most lookups meet none.
    const seen = varyRecords ?? new Map<string, VaryRecord>();
    seen.set(primary, record);
    const values = selectingValues(ctx.request.headers, record.fields);
    const key = variantKey(primary, record.epoch, record.fields, values);
    return this.#readThen(key, ctx.hints, (found): Lookup | Promise<Lookup> => {
      // RFC 9111 §4.1: the stored selecting values must match the request's, absent only absent.
      if (found?.kind === 'response' && record.fields.every((f) => found.vary[f] === values[f])) {
        const entry = this.#validate(found);
        if (entry !== undefined) return { found: true, entry, key, varyRecords: seen };
      }
      return this.#lookupAt(ctx, index + 1, 'vary-miss', seen);
    });
  }

  /** Applies read-time purges: an invalid entry is a miss, a soft-purged one is stale now. */
  #validate(entry: CacheEntry): CacheEntry | undefined {
    const validator = this.#options.validator;
    if (validator === undefined) return entry;
    const now = this.clock.now();
    let validity;
    try {
      validity = validator.check(entry, now);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'get', error });
      return undefined;
    }
    switch (validity) {
      case 'valid':
        return entry;
      case 'stale':
        return entry.staleAt <= now ? entry : { ...entry, staleAt: now };
      case 'invalid':
        return undefined;
      default:
        return validity satisfies never;
    }
  }

  #emit(event: CacheEvent): void {
    if (this.#options.onEvent === undefined) return;
    try {
      this.#options.onEvent(event);
    } catch {
      // A faulty listener must not break a request.
    }
  }

  async #safe(operation: 'set' | 'delete' | 'clear', fn: () => unknown): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.#emit({ type: 'store-error', operation, error });
    }
  }

  #gatewayTimeout(): HandleResult {
    return {
      type: 'send',
      response: {
        status: 504,
        headers: [
          ['content-type', 'text/plain; charset=utf-8'],
          [
            'cache-status',
            formatCacheStatus(this.#settings.cacheStatusName, {
              fwd: 'miss',
              detail: 'only-if-cached',
            }),
          ],
        ],
        body: new TextEncoder().encode('Not in cache (only-if-cached)\n'),
      },
    };
  }

  /**
   * A response built from a stored entry: 200 (or its status), HEAD without body, or 304. `now`:
   * the time the caller just judged the entry's freshness at, so both agree.
   */
  #serve(
    ctx: RequestContext,
    entry: CacheEntry,
    status: CacheStatusParts,
    collapsed: boolean,
    now: number = this.clock.now(),
  ): HandleResult {
    const age = Math.floor(entry.initialAge + Math.max(0, now - entry.storedAt) / 1000);
    const ttl = (entry.staleAt - now) / 1000;
    // The common case, a plain hit, skips the general formatter.
    const cacheStatus =
      status === HIT && !collapsed
        ? `${this.#settings.cacheStatusName}; hit; ttl=${Math.floor(ttl)}`
        : formatCacheStatus(this.#settings.cacheStatusName, {
            ...status,
            collapsed,
            ttl: Math.floor(ttl),
          });
    this.#stats.hits++;
    if (this.#options.onEvent !== undefined) {
      this.#emit({ type: 'hit', policy: ctx.policy.name, stale: ttl <= 0, collapsed });
    }
    return { type: 'send', response: this.#planFromEntry(ctx, entry, age, cacheStatus) };
  }

  #planFromEntry(
    ctx: RequestContext,
    entry: CacheEntry,
    age: number,
    cacheStatus: string,
  ): SendPlan {
    const conditional =
      entry.status >= 200 && entry.status < 300 && this.#matchesConditional(ctx, entry.headers);
    if (!conditional && ctx.policy.downstream === undefined) {
      // The hot path: the entry's fields, then Content-Length, Age and Cache-Status. (Nothing is
      // kept per entry for it: an entry that was read must not cost more memory than one that was not.)
      const headers = entry.headers.slice();
      headers.push(
        ['content-length', String(entry.body.byteLength)],
        ['age', String(age)],
        ['cache-status', cacheStatus],
      );
      return { status: entry.status, headers, body: ctx.isHead ? undefined : entry.body };
    }
    const headers: HeaderList = [];
    for (const field of entry.headers) {
      if (conditional && !NOT_MODIFIED_FIELDS.has(field[0])) continue;
      headers.push(field);
    }
    this.#applyDownstream(ctx.policy, headers);
    headers.push(['age', String(age)], ['cache-status', cacheStatus]);
    if (conditional) return { status: 304, headers, body: undefined };
    headers.push(['content-length', String(entry.body.byteLength)]);
    return { status: entry.status, headers, body: ctx.isHead ? undefined : entry.body };
  }

  #clientConditional(request: CacheRequest): Record<string, string> | undefined {
    const inm = requestHeader(request.headers, 'if-none-match');
    const ims = requestHeader(request.headers, 'if-modified-since');
    if (inm === undefined && ims === undefined) return undefined;
    const conditional: Record<string, string> = {};
    if (inm !== undefined) conditional['if-none-match'] = inm;
    if (ims !== undefined) conditional['if-modified-since'] = ims;
    const cc = requestHeader(request.headers, 'cache-control');
    if (cc !== undefined && !this.#settings.ignoreRequestCacheControl)
      conditional['cache-control'] = cc;
    return conditional;
  }

  /** Conditional GET evaluated as the `fresh` package does (weak If-None-Match, then If-Modified-Since). */
  #matchesConditional(ctx: RequestContext, headers: HeaderList): boolean {
    if (ctx.conditional === undefined) return false;
    const resHeaders: Record<string, string> = {};
    const etag = firstHeader(headers, 'etag');
    const lastModified = firstHeader(headers, 'last-modified');
    if (etag !== undefined) resHeaders['etag'] = etag;
    if (lastModified !== undefined) resHeaders['last-modified'] = lastModified;
    return fresh(ctx.conditional, resHeaders);
  }

  /** The origin's fields as clients may see them: surrogate-key fields removed when configured. */
  #clientHeaders(headers: HeaderList): HeaderList {
    if (!this.#settings.stripTagHeaders) return headers.slice();
    const tagHeaders = this.#settings.tagHeaders;
    return headers.filter(([name]) => !tagHeaders.includes(name));
  }

  /** Tags of a new entry: the policy's, then those the origin named in its tag fields. */
  #tagsOf(policy: CachePolicy, headers: HeaderList): readonly string[] {
    if (
      policy.tags === undefined &&
      !headers.some(([name]) => this.#settings.tagHeaders.includes(name))
    ) {
      return EMPTY_TAGS;
    }
    const tags = new Set(policy.tags ?? []);
    for (const [name, value] of headers) {
      if (!this.#settings.tagHeaders.includes(name)) continue;
      for (const tag of value.split(/[\s,]+/)) if (tag) tags.add(tag);
    }
    return [...tags];
  }

  /** Replaces caching fields sent downstream when a policy says what browsers and CDNs get. */
  #applyDownstream(policy: CachePolicy, headers: HeaderList): void {
    const downstream = policy.downstream;
    if (downstream === undefined) return;
    const replace = (name: string, value: string | undefined): void => {
      if (value === undefined) return;
      for (let i = headers.length - 1; i >= 0; i--)
        if (headers[i]![0] === name) headers.splice(i, 1);
      headers.push([name, value]);
    };
    if (downstream.cacheControl !== undefined) {
      replace('cache-control', downstream.cacheControl);
      for (let i = headers.length - 1; i >= 0; i--) {
        if (headers[i]![0] === 'expires' || headers[i]![0] === 'pragma') headers.splice(i, 1);
      }
    }
    replace('cdn-cache-control', downstream.cdnCacheControl);
    replace('surrogate-control', downstream.surrogateControl);
  }

  /** Sends the request to the origin without storing anything (bypass, unsafe methods). */
  async #passThrough(
    request: CacheRequest,
    origin: Origin,
    fwd: ForwardReason,
    detail: string | undefined,
    invalidates: boolean,
    policy?: CachePolicy,
  ): Promise<HandleResult> {
    this.#stats.bypasses++;
    this.#emit({ type: 'bypass', policy: policy?.name, reason: detail ?? fwd });
    const cacheStatus = formatCacheStatus(this.#settings.cacheStatusName, { fwd, detail });
    const outcome = await origin({
      requestHeaders: { remove: [], set: [] },
      head: (_status, headers) => {
        const final = this.#clientHeaders(headers);
        if (policy !== undefined) this.#applyDownstream(policy, final);
        final.push(['cache-status', cacheStatus]);
        return { type: 'stream', headers: final, capture: false, maxBytes: 0 };
      },
    });
    if (
      invalidates &&
      outcome.error === undefined &&
      outcome.status >= 200 &&
      outcome.status < 400
    ) {
      await this.#invalidateAfterUnsafe(request, outcome.headers);
      if (this.#options.onUnsafeSuccess !== undefined) {
        try {
          await this.#options.onUnsafeSuccess(request, outcome.status, outcome.headers);
        } catch (error) {
          this.#emit({ type: 'store-error', operation: 'delete', error });
        }
      }
    }
    if (outcome.error !== undefined && outcome.headers.length === 0)
      return { type: 'rethrow', error: outcome.error };
    return { type: 'done' };
  }

  /** RFC 9111 §4.4: a non-error response to an unsafe method invalidates the target and its Location. */
  async #invalidateAfterUnsafe(request: CacheRequest, headers: HeaderList): Promise<void> {
    const partition = request.partition ?? this.#options.partition?.(request);
    const tenantHash = this.#tenantHash(request);
    const keys = this.#keysForUrl(request.url, request.host, partition, tenantHash);
    for (const field of ['location', 'content-location']) {
      const value = firstHeader(headers, field);
      if (value === undefined) continue;
      const target = this.#sameOriginTarget(value, request);
      if (target !== undefined) {
        keys.push(...this.#keysForUrl(target, request.host, partition, tenantHash));
      }
    }
    await this.#invalidateKeys(keys, true);
  }

  /** The path+query of a Location that points at the same origin as the request, else undefined. */
  #sameOriginTarget(value: string, request: CacheRequest): string | undefined {
    try {
      const base = `http://${request.host ?? 'gatecache.invalid'}`;
      const url = new URL(value, base + request.url);
      if (url.origin !== new URL(base).origin) return undefined;
      return url.pathname + url.search;
    } catch {
      return undefined;
    }
  }

  async #invalidateKeys(keys: readonly string[], publish: boolean): Promise<void> {
    const sequence = ++this.#sequence;
    for (const key of keys) {
      this.#invalidations.set(key, sequence);
      await this.#safe('delete', () => this.store.delete(key));
    }
    this.#trimInvalidations();
    this.#emit({ type: 'invalidated', keys: keys.length });
    if (publish) await this.#publish({ type: 'keys', keys });
  }

  #trimInvalidations(): void {
    // In-flight fetches last seconds; remembering the latest 10,000 purges is plenty.
    if (this.#invalidations.size <= 10_000) return;
    for (const key of this.#invalidations.keys()) {
      this.#invalidations.delete(key);
      if (this.#invalidations.size <= 5_000) break;
    }
  }

  #invalidatedSince(key: string, sequence: number): boolean {
    if (this.#clearedAt > sequence) return true;
    const at = this.#invalidations.get(key);
    return at !== undefined && at > sequence;
  }

  async #publish(message: InvalidationMessage): Promise<void> {
    if (this.#options.bus === undefined) return;
    try {
      await this.#options.bus.publish(message);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'delete', error });
    }
  }

  async #applyRemote(message: InvalidationMessage): Promise<void> {
    switch (message.type) {
      case 'keys':
        await this.#invalidateKeys(message.keys, false);
        return;
      case 'all':
        await this.#dropLocal();
        return;
      case 'tags':
        // Tags are compared at read time (tag epochs); nothing is held locally to drop.
        return;
      default:
        return message satisfies never;
    }
  }

  async #dropLocal(): Promise<void> {
    this.#clearedAt = ++this.#sequence;
    const store = this.store as CacheStore & { dropLocal?: () => unknown };
    if (typeof store.dropLocal === 'function') await this.#safe('clear', () => store.dropLocal?.());
    else await this.#safe('clear', () => store.clear());
  }

  /**
   * The leader's entry when it answers this waiter exactly as a lookup would: the same primary key
   * (shared, or this user's partition) and, for a variant, the same selecting values; still valid
   * and fresh. Otherwise undefined, and the waiter looks up the store.
   */
  #handedEntry(entry: CacheEntry, ctx: RequestContext): CacheEntry | undefined {
    const fields = Object.keys(entry.vary);
    let matches = entry.key === ctx.sharedKey || entry.key === ctx.privateKey;
    if (!matches && fields.length > 0) {
      const underPrimary =
        entry.key.startsWith(`${ctx.sharedKey} v=`) ||
        (ctx.privateKey !== undefined && entry.key.startsWith(`${ctx.privateKey} v=`));
      if (underPrimary) {
        const values = selectingValues(ctx.request.headers, fields);
        matches = fields.every((field) => entry.vary[field] === values[field]);
      }
    } else if (matches && fields.length > 0) {
      matches = false;
    }
    if (!matches) return undefined;
    const valid = this.#validate(entry);
    if (valid === undefined) return undefined;
    return decideReuse(valid, ctx.directives, this.clock.now()).type === 'fresh'
      ? valid
      : undefined;
  }

  #shouldRefreshAhead(entry: CacheEntry, now: number): boolean {
    const fraction = this.#settings.refreshAhead;
    if (fraction <= 0) return false;
    const lifetime = entry.staleAt - entry.storedAt;
    const window = lifetime * fraction;
    const remaining = entry.staleAt - now;
    if (window <= 0 || remaining > window) return false;
    // Probabilistic early refresh: certain at expiry, unlikely at the start of the window.
    return this.#random() < 1 - remaining / window;
  }

  /** Revalidates an entry without a client, once per key at a time; errors are only reported. */
  #refreshInBackground(ctx: RequestContext, background: BackgroundRunner, lookup: Lookup): void {
    const flightKey = ctx.sharedKey;
    if (this.#flights.has(flightKey)) return;
    let resolve!: () => void;
    const flight: Flight = {
      done: new Promise<void>((r) => (resolve = r)),
      storable: true,
      background: true,
    };
    this.#flights.set(flightKey, flight);
    const origin: Origin = (call) => background.run(call);
    const task = this.#leaderFetch(ctx, origin, 'stale', lookup, flight)
      .catch((error: unknown) => {
        this.#emit({ type: 'store-error', operation: 'set', error });
      })
      .finally(() => {
        this.#flights.delete(flightKey);
        resolve();
      });
    this.#track(task);
    background.waitUntil?.(task);
  }

  readonly #pending = new Set<Promise<unknown>>();

  #track(task: Promise<unknown>): void {
    this.#pending.add(task);
    void task.finally(() => this.#pending.delete(task));
  }

  /** Waits for background refreshes to finish (graceful shutdown), at most `timeoutMs`. */
  async drain(timeoutMs = 10_000): Promise<boolean> {
    return settlesWithin(Promise.allSettled([...this.#pending]), timeoutMs);
  }

  /**
   * Goes to the origin for a miss or a revalidation, once per key: concurrent requests for the
   * same key wait for the leader, then look up again.
   */
  async #fetch(
    ctx: RequestContext,
    origin: Origin,
    reason: ForwardReason,
    lookup: Lookup,
  ): Promise<HandleResult> {
    if (this.#settings.coalesce && reason !== 'request') {
      const flightKey = ctx.sharedKey;
      for (let round = 0; round < 3; round++) {
        const flight = this.#flights.get(flightKey);
        if (flight === undefined) break;
        this.#emit({ type: 'coalesced', policy: ctx.policy.name });
        // A leader that hangs must not hang its waiters: after leaseWaitMs they fetch themselves.
        if (!(await settlesWithin(flight.done, this.#settings.leaseWaitMs))) break;
        if (!flight.storable) break;
        const handed =
          flight.entry === undefined ? undefined : this.#handedEntry(flight.entry, ctx);
        if (handed !== undefined) return this.#serve(ctx, handed, HIT, true);
        const again = await this.#readAgain(ctx);
        if (again.served !== undefined) return again.served;
        lookup = again.lookup;
      }
      if (!this.#flights.has(flightKey)) {
        let resolve!: () => void;
        const flight: Flight = {
          done: new Promise<void>((r) => (resolve = r)),
          storable: true,
          background: false,
        };
        this.#flights.set(flightKey, flight);
        try {
          return await this.#leaderFetch(ctx, origin, reason, lookup, flight);
        } finally {
          this.#flights.delete(flightKey);
          resolve();
        }
      }
    }
    return this.#leaderFetch(ctx, origin, reason, lookup, undefined);
  }

  async #leaderFetch(
    ctx: RequestContext,
    origin: Origin,
    reason: ForwardReason,
    lookup: Lookup,
    flight: Flight | undefined,
  ): Promise<HandleResult> {
    const leases = this.#options.leases;
    if (leases === undefined || flight === undefined)
      return this.#originFetch(ctx, origin, reason, lookup, flight);
    let release: (() => Promise<void>) | undefined;
    try {
      release = await leases.acquire(ctx.sharedKey, this.#settings.leaseWaitMs);
    } catch (error) {
      this.#emit({ type: 'store-error', operation: 'get', error });
    }
    if (release === undefined) {
      // Another instance is fetching this key: wait (bounded) for its entry to appear.
      if (flight.background) return { type: 'done' };
      const deadline = monotonicNow() + this.#settings.leaseWaitMs;
      let delay = 5;
      while (monotonicNow() < deadline) {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 100);
        const again = await this.#readAgain(ctx);
        if (again.served !== undefined) return again.served;
        lookup = again.lookup;
        let retry: (() => Promise<void>) | undefined;
        try {
          retry = await leases.acquire(ctx.sharedKey, this.#settings.leaseWaitMs);
        } catch {
          retry = undefined;
        }
        if (retry !== undefined) {
          release = retry;
          break;
        }
      }
    }
    try {
      if (release !== undefined) {
        // Looked up before the lease was ours: another instance may have stored the entry and
        // released the lease in between. Checked again, so that it does not fetch twice.
        const again = await this.#readAgain(ctx);
        if (again.served !== undefined) return again.served;
        lookup = again.lookup;
      }
      return await this.#originFetch(ctx, origin, reason, lookup, flight);
    } finally {
      if (release !== undefined) await release().catch(() => undefined);
    }
  }

  /** The store read again: `served` when it now holds an entry fresh enough for this request. */
  async #readAgain(ctx: RequestContext): Promise<{ lookup: Lookup; served?: HandleResult }> {
    const lookup = await this.#lookup(ctx);
    if (
      lookup.found &&
      decideReuse(lookup.entry, ctx.directives, this.clock.now()).type === 'fresh'
    )
      return { lookup, served: this.#serve(ctx, lookup.entry, { hit: true }, true) };
    return { lookup };
  }

  async #originFetch(
    ctx: RequestContext,
    origin: Origin,
    reason: ForwardReason,
    lookup: Lookup,
    flight: Flight | undefined,
  ): Promise<HandleResult> {
    const stale = lookup.found ? lookup.entry : undefined;
    const startSequence = this.#sequence;
    const requestTime = this.clock.now();
    const set: Array<[string, string]> = [];
    if (stale !== undefined) {
      // RFC 9111 §4.3.1: validate with the stored validators (never a tag the cache generated).
      const etag = stale.generatedETag ? undefined : firstHeader(stale.headers, 'etag');
      const lastModified = firstHeader(stale.headers, 'last-modified');
      if (etag !== undefined) set.push(['if-none-match', etag]);
      else if (lastModified !== undefined) set.push(['if-modified-since', lastModified]);
    }
    // The client's own validators are removed so the origin sends a full, storable response; the
    // cache answers the client's condition itself.
    const remove = ctx.isHead ? [] : CLIENT_VALIDATORS;

    type Plan =
      | {
          kind: 'origin' | 'not-modified-from-origin';
          verdict: ReturnType<typeof assessStorability>;
          /** The ETag generated in `head` from the complete body, for the stored entry too. */
          etag: string | undefined;
        }
      | { kind: 'revalidated' }
      | { kind: 'stale-if-error' };
    let plan: Plan | undefined;
    const cacheStatusName = this.#settings.cacheStatusName;

    const head = (
      status: number,
      headers: HeaderList,
      completeBody: Uint8Array | undefined,
    ): HeadAction => {
      const now = this.clock.now();
      if (stale !== undefined && status === 304 && set.length > 0) {
        plan = { kind: 'revalidated' };
        return { type: 'withhold', capture: false, maxBytes: 0 };
      }
      if (stale !== undefined && isServerError(status) && canServeStaleOnError(stale, now)) {
        plan = { kind: 'stale-if-error' };
        return { type: 'withhold', capture: false, maxBytes: 0 };
      }
      const verdict = assessStorability(
        {
          method: ctx.request.method,
          status,
          requestHeaders: ctx.request.headers,
          responseHeaders: headers,
          hasPartition: ctx.privateKey !== undefined,
          policy: ctx.policy,
        },
        now,
        this.#settings,
      );
      const maxBytes = Math.min(
        ctx.policy.maxBodyBytes ?? this.#settings.maxBodyBytes,
        this.#settings.maxBodyBytes,
      );
      const tooLarge = completeBody !== undefined && completeBody.byteLength > maxBytes;
      const declaredLength = Number(firstHeader(headers, 'content-length') ?? NaN);
      const declaredTooLarge = Number.isFinite(declaredLength) && declaredLength > maxBytes;
      const deceptive =
        verdict.storable &&
        this.#settings.deceptionDefence &&
        ctx.policy.deceptionDefence !== false &&
        contentTypeContradictsPath(ctx.request.url, headers);
      const unsafeHeader = verdict.storable && hasUnsafeHeader(headers);
      const storable =
        verdict.storable && !tooLarge && !declaredTooLarge && !deceptive && !unsafeHeader;
      const final = this.#clientHeaders(headers);
      let etag: string | undefined;
      if (
        storable &&
        this.#settings.generateEtag &&
        completeBody !== undefined &&
        status === 200 &&
        firstHeader(headers, 'etag') === undefined
      ) {
        etag = generateETag(completeBody);
        final.push(['etag', etag]);
      }
      this.#applyDownstream(ctx.policy, final);
      const rejected: NotStoredReason | undefined = deceptive
        ? 'deception'
        : unsafeHeader
          ? 'unsafe-header'
          : tooLarge || declaredTooLarge
            ? 'too-large'
            : undefined;
      const detail = verdict.storable ? (storable ? undefined : rejected) : verdict.reason;
      final.push([
        'cache-status',
        formatCacheStatus(cacheStatusName, {
          fwd: reason,
          fwdStatus: stale !== undefined ? status : undefined,
          stored: storable,
          ttl: verdict.storable && storable ? verdict.lifetime : undefined,
          detail,
        }),
      ]);
      const finalVerdict = storable
        ? verdict
        : ({
            storable: false,
            reason: verdict.storable ? (rejected ?? 'too-large') : verdict.reason,
          } as const);
      // Answer the client's own condition from the complete body (RFC 9110 §13.2.1).
      if (completeBody !== undefined && status === 200 && this.#matchesConditional(ctx, final)) {
        plan = { kind: 'not-modified-from-origin', verdict: finalVerdict, etag };
        return { type: 'withhold', capture: storable && !ctx.isHead, maxBytes };
      }
      plan = { kind: 'origin', verdict: finalVerdict, etag };
      return { type: 'stream', headers: final, capture: storable && !ctx.isHead, maxBytes };
    };

    this.#stats.misses++;
    this.#emit({ type: 'miss', policy: ctx.policy.name, reason });

    const breaker = this.#breaker;
    const breakerKey = breaker === undefined ? '' : this.#breakerKeyFor(ctx);
    if (breaker !== undefined) {
      const gate = breaker.gate(breakerKey, requestTime);
      if (!gate.allow) {
        if (flight !== undefined) flight.storable = false;
        // The seed's circuit breaker + cache: serve what we hold while the origin is down,
        // unless RFC 9111 §4.2.4 forbids serving it stale; otherwise fail fast.
        if (stale !== undefined && !stale.flags.mustRevalidate && !stale.flags.noCache) {
          return this.#serveStale(ctx, stale, 'circuit-open');
        }
        return this.#serviceUnavailable(gate.retryAfterMs);
      }
    }

    let abandoned = false;
    const timeoutMs = this.#settings.originTimeoutMs;
    // RFC 5861 §4: an origin too slow to answer counts as an error when stale-if-error allows.
    // Only then is the head's arrival watched (a promise per miss otherwise made for nothing).
    let headSeen: (() => void) | undefined;
    const headCalled =
      timeoutMs > 0 && stale !== undefined && canServeStaleOnError(stale, requestTime)
        ? new Promise<void>((resolve) => (headSeen = resolve))
        : undefined;
    const guardedHead = (
      status: number,
      headers: HeaderList,
      body: Uint8Array | undefined,
    ): HeadAction => {
      headSeen?.();
      const action = head(status, headers, body);
      // The client was already answered from the stale entry: keep the origin's answer for the
      // cache only.
      if (abandoned && action.type === 'stream') {
        return { type: 'withhold', capture: action.capture, maxBytes: action.maxBytes };
      }
      return action;
    };
    // Query parameters left out of the key are left out of what the origin sees too, so a
    // response can never depend on an input the key ignores (poisoning).
    const originUrl = stripIgnoredQuery(
      ctx.request.url,
      this.#settings.queryIgnore,
      ctx.policy.queryIgnore,
      ctx.policy.queryAllow,
    );
    const originDone: Promise<OriginOutcome> = origin({
      ...(originUrl === ctx.request.url ? {} : { url: originUrl }),
      requestHeaders: { remove, set },
      head: guardedHead,
    }).catch((error: unknown) => ({
      status: 500,
      headers: [],
      body: undefined,
      complete: false,
      error,
    }));

    const finish = async (outcome: OriginOutcome): Promise<HandleResult> => {
      if (breaker !== undefined) {
        const failed =
          plan === undefined ||
          plan.kind === 'stale-if-error' ||
          (plan.kind === 'origin' && isServerError(outcome.status));
        breaker.record(breakerKey, !failed, this.clock.now());
      }
      const now = this.clock.now();

      if (plan === undefined) {
        // The origin failed before it responded.
        if (flight !== undefined) flight.storable = false;
        if (stale !== undefined && canServeStaleOnError(stale, now)) {
          this.#emit({ type: 'stale-if-error', policy: ctx.policy.name });
          return this.#serveStale(ctx, stale, 'origin-error');
        }
        // No error and no response: the client went away before the origin answered.
        if (outcome.error === undefined) return { type: 'done' };
        return { type: 'rethrow', error: outcome.error };
      }

      switch (plan.kind) {
        case 'stale-if-error':
          if (flight !== undefined) flight.storable = false;
          this.#emit({ type: 'stale-if-error', policy: ctx.policy.name });
          return this.#serveStale(ctx, stale!, 'stale-if-error');
        case 'revalidated': {
          const updated = this.#refreshed(ctx, stale!, outcome.headers, requestTime, now);
          if (flight !== undefined && updated !== undefined) flight.entry = updated;
          this.#emit({ type: 'revalidated', policy: ctx.policy.name, status: 304 });
          if (updated !== undefined && !this.#invalidatedSince(ctx.sharedKey, startSequence)) {
            await this.#put(ctx, updated.key, updated, now, lookup);
          }
          const entry = updated ?? stale!;
          const age = Math.floor(entry.initialAge + Math.max(0, now - entry.storedAt) / 1000);
          const cacheStatus = formatCacheStatus(cacheStatusName, {
            fwd: reason,
            fwdStatus: 304,
            stored: updated !== undefined,
            ttl: Math.floor((entry.staleAt - now) / 1000),
          });
          return { type: 'send', response: this.#planFromEntry(ctx, entry, age, cacheStatus) };
        }
        case 'origin':
        case 'not-modified-from-origin': {
          const { verdict } = plan;
          let stored: CacheEntry | undefined;
          if (!verdict.storable) {
            if (flight !== undefined) flight.storable = false;
            this.#emit({ type: 'not-stored', policy: ctx.policy.name, reason: verdict.reason });
          } else if (
            !outcome.complete ||
            outcome.body === undefined ||
            outcome.error !== undefined
          ) {
            if (flight !== undefined) flight.storable = false;
            this.#emit({ type: 'not-stored', policy: ctx.policy.name, reason: 'incomplete' });
          } else if (
            this.#invalidatedSince(ctx.sharedKey, startSequence) ||
            (ctx.privateKey !== undefined && this.#invalidatedSince(ctx.privateKey, startSequence))
          ) {
            if (flight !== undefined) flight.storable = false;
            this.#emit({ type: 'not-stored', policy: ctx.policy.name, reason: 'invalidated' });
          } else {
            stored = await this.#storeResponse(
              ctx,
              verdict,
              outcome,
              requestTime,
              now,
              lookup,
              plan.etag,
            );
            if (flight !== undefined) {
              if (stored === undefined) flight.storable = false;
              else flight.entry = stored;
            }
          }
          if (plan.kind === 'not-modified-from-origin') {
            const headers = outcome.headers.filter(([name]) => NOT_MODIFIED_FIELDS.has(name));
            if (firstHeader(headers, 'etag') === undefined && stored !== undefined) {
              const etag = firstHeader(stored.headers, 'etag');
              if (etag !== undefined) headers.push(['etag', etag]);
            }
            headers.push([
              'cache-status',
              formatCacheStatus(cacheStatusName, { fwd: reason, stored: stored !== undefined }),
            ]);
            return { type: 'send', response: { status: 304, headers, body: undefined } };
          }
          return { type: 'done' };
        }
        default:
          return plan satisfies never;
      }
    };

    if (headCalled !== undefined) {
      const answered = await settlesWithin(headCalled, timeoutMs);
      if (!answered) {
        abandoned = true;
        if (flight !== undefined) flight.storable = false;
        this.#track(originDone.then(finish));
        this.#emit({ type: 'stale-if-error', policy: ctx.policy.name });
        return this.#serveStale(ctx, stale!, 'origin-timeout');
      }
    }
    return finish(await originDone);
  }

  #breakerKeyFor(ctx: RequestContext): string {
    const key = this.#options.breakerKey;
    if (key === undefined) return ctx.policy.name ?? 'origin';
    try {
      return key(ctx.request, ctx.policy);
    } catch {
      return 'origin';
    }
  }

  #serviceUnavailable(retryAfterMs: number): HandleResult {
    return {
      type: 'send',
      response: {
        status: 503,
        headers: [
          ['content-type', 'text/plain; charset=utf-8'],
          ['retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000)))],
          [
            'cache-status',
            formatCacheStatus(this.#settings.cacheStatusName, {
              fwd: 'miss',
              detail: 'circuit-open',
            }),
          ],
        ],
        body: new TextEncoder().encode('Origin unavailable (circuit open)\n'),
      },
    };
  }

  /** Circuit states by key, for metrics and the admin view. */
  get circuits(): Map<string, BreakerState> {
    return this.#breaker?.states() ?? new Map();
  }

  #serveStale(ctx: RequestContext, entry: CacheEntry, detail: string): HandleResult {
    return this.#serve(ctx, entry, { fwd: 'stale', detail }, false);
  }

  /** RFC 9111 §4.3.4: a 304 updates the stored header fields and restarts freshness. */
  #refreshed(
    ctx: RequestContext,
    entry: CacheEntry,
    notModifiedHeaders: HeaderList,
    requestTime: number,
    now: number,
  ): CacheEntry | undefined {
    const updates = withoutHopByHop(notModifiedHeaders).filter(
      ([name]) => !NOT_UPDATED_BY_304.has(name),
    );
    const names = new Set(updates.map(([name]) => name));
    const headers: HeaderList = entry.headers.filter(([name]) => !names.has(name));
    headers.push(...updates);
    if (!names.has('date')) {
      for (let i = headers.length - 1; i >= 0; i--)
        if (headers[i]![0] === 'date') headers.splice(i, 1);
      headers.push(['date', HTTP_DATE(now)]);
    }
    const verdict = assessStorability(
      {
        method: 'GET',
        status: entry.status,
        requestHeaders: {},
        responseHeaders: headers,
        hasPartition: true,
        policy: ctx.policy,
      },
      now,
      this.#settings,
    );
    if (!verdict.storable) return undefined;
    const initialAge = computeInitialAge(headers, requestTime, now);
    const staleAt = now + (verdict.lifetime - initialAge) * 1000;
    const keep = staleKeepSeconds(verdict.flags, true, this.#settings);
    return {
      ...entry,
      headers,
      storedAt: now,
      fetchedAt: requestTime,
      initialAge,
      staleAt,
      deleteAt: Math.max(staleAt, now) + keep * 1000,
      flags: verdict.flags,
    };
  }

  async #storeResponse(
    ctx: RequestContext,
    verdict: Extract<ReturnType<typeof assessStorability>, { storable: true }>,
    outcome: OriginOutcome,
    requestTime: number,
    now: number,
    lookup: Lookup,
    /** Generated in `head` from the complete body: the same bytes, so not hashed again. */
    headETag: string | undefined,
  ): Promise<CacheEntry | undefined> {
    const body = outcome.body!;
    const declared = firstHeader(outcome.headers, 'content-length');
    // A body shorter or longer than announced was truncated or corrupted on the way.
    if (declared !== undefined && Number(declared) !== body.byteLength) {
      this.#emit({ type: 'not-stored', policy: ctx.policy.name, reason: 'incomplete' });
      return undefined;
    }
    const strip = verdict.stripFields;
    const headers = withoutHopByHop(outcome.headers).filter(
      ([name]) =>
        !strip.includes(name) &&
        name !== 'content-length' &&
        name !== 'age' &&
        name !== 'cache-status' &&
        !(this.#settings.stripTagHeaders && this.#settings.tagHeaders.includes(name)),
    );
    if (firstHeader(headers, 'date') === undefined) headers.push(['date', HTTP_DATE(now)]);
    let generatedETag = false;
    if (
      this.#settings.generateEtag &&
      outcome.status === 200 &&
      firstHeader(headers, 'etag') === undefined
    ) {
      // The tag carries the body's length: one from other bytes than these is never reused.
      const reuse = headETag?.startsWith(`"${body.byteLength.toString(16)}-`) === true;
      headers.push(['etag', reuse ? headETag : generateETag(body)]);
      generatedETag = true;
    }
    const primary = verdict.shared ? ctx.sharedKey : ctx.privateKey;
    if (primary === undefined) return undefined;
    const policyVary = ctx.policy.varyHeaders ?? [];
    const varyFields =
      verdict.vary.length === 0 && policyVary.length === 0
        ? verdict.vary
        : [...new Set([...verdict.vary, ...policyVary.map((f) => f.toLowerCase())])].sort();
    const initialAge = computeInitialAge(outcome.headers, requestTime, now);
    const staleAt = now + (verdict.lifetime - initialAge) * 1000;
    const hasValidator =
      firstHeader(headers, 'etag') !== undefined ||
      firstHeader(headers, 'last-modified') !== undefined;
    const deleteAt =
      Math.max(staleAt, now) + staleKeepSeconds(verdict.flags, hasValidator, this.#settings) * 1000;
    if (deleteAt <= now) return undefined;
    const vary =
      varyFields.length === 0 ? EMPTY_VARY : selectingValues(ctx.request.headers, varyFields);
    let key = primary;
    if (varyFields.length > 0) {
      const existing = lookup.varyRecords.get(primary);
      const record: VaryRecord =
        existing !== undefined && existing.fields.join() === varyFields.join()
          ? { ...existing, deleteAt: Math.max(existing.deleteAt, deleteAt) }
          : {
              kind: 'vary',
              v: 1,
              key: primary,
              fields: varyFields,
              epoch: digest(`${primary}\n${now}\n${Math.random()}`).slice(0, 8),
              deleteAt,
            };
      key = variantKey(primary, record.epoch, varyFields, vary);
      await this.#safe('set', () =>
        this.store.set(primary, record, record.deleteAt - now, ctx.hints),
      );
    }
    const entry: CacheEntry = {
      kind: 'response',
      v: 1,
      key,
      status: outcome.status,
      headers: this.#interner.headers(headers),
      body,
      storedAt: now,
      fetchedAt: requestTime,
      initialAge,
      staleAt,
      deleteAt,
      vary,
      tags: this.#tagsOf(ctx.policy, outcome.headers),
      generatedETag,
      flags: this.#interner.flags(verdict.flags),
    };
    await this.#put(ctx, key, entry, now, lookup);
    this.#stats.stores++;
    this.#emit({ type: 'stored', policy: ctx.policy.name, bytes: body.byteLength });
    return entry;
  }

  async #put(
    ctx: RequestContext,
    key: string,
    entry: CacheEntry,
    now: number,
    _lookup: Lookup,
  ): Promise<void> {
    await this.#safe('set', () => this.store.set(key, entry, entry.deleteAt - now, ctx.hints));
  }
}

/** Fields of `over` that are set replace those of `base`. */
function mergePolicy(base: CachePolicy, over: CachePolicy): CachePolicy {
  const merged: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(over)) if (value !== undefined) merged[name] = value;
  return merged;
}

function fraction(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw invalidOption(name, value, 'a fraction from 0 up to (not including) 1');
  }
  return value;
}

/** True when the promise settles within `ms`; never rejects. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

const HIT: CacheStatusParts = { hit: true };

/** How many host-and-target → key pairs `#sharedKey` remembers before starting over. */
const RECENT_KEYS = 1024;

/** The tiers a context reads, as one comparable string. */
function layersOf(ctx: RequestContext): string | undefined {
  return ctx.hints?.layers?.join(',');
}

const L1_ONLY: StoreHints = Object.freeze({ layers: Object.freeze(['l1'] as const) });

const VALID_HOST =
  /^(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

function hasKeys(record: Readonly<Record<string, unknown>>): boolean {
  for (const _ in record) return true;
  return false;
}

function isServerError(status: number): boolean {
  return status === 500 || status === 502 || status === 503 || status === 504;
}

/** Creates the engine; options are validated here, once. */
export function createHttpCache(options: HttpCacheOptions = {}): HttpCache {
  return new HttpCache(options);
}
