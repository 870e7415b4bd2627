/**
 * Shared shapes of the engine. Everything here is plain data: no framework, no I/O.
 */

export type MaybePromise<T> = T | Promise<T>;

/** Header fields in wire order, names lower-cased, duplicates kept (RFC 9110 §5.3). */
export type HeaderList = Array<[name: string, value: string]>;

/** Request header fields as Node exposes them: lower-cased names, list fields joined. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What an adapter hands the engine for one request. */
export interface CacheRequest {
  /** Upper-case method. */
  readonly method: string;
  /** Request target in origin-form: path and query, e.g. `/api/items?page=2`. */
  readonly url: string;
  /** Host the request was addressed to (lower-cased by the engine), when known. */
  readonly host?: string | undefined;
  readonly headers: RequestHeaders;
  /**
   * Per-user partition (a session id, a user id, a credential). Never stored or keyed raw: the
   * engine keys it by a one-way hash. Private responses are stored only when this is set.
   */
  readonly partition?: string | undefined;
}

/** A stored response. Times are epoch milliseconds fixed at store time (see DESIGN.md). */
export interface CacheEntry {
  readonly kind: 'response';
  /** Envelope version: an entry with another version reads as a miss. */
  readonly v: 1;
  /** The store key this entry was written under; an entry read under another key is foreign. */
  readonly key: string;
  readonly status: number;
  /** Origin header fields as stored (hop-by-hop removed), plus a generated ETag when enabled. */
  readonly headers: HeaderList;
  readonly body: Uint8Array;
  /** When the response was received (RFC 9111 §4.2.3 response_time). */
  readonly storedAt: number;
  /** corrected_initial_age in seconds (RFC 9111 §4.2.3). */
  readonly initialAge: number;
  /** When the entry stops being fresh. */
  readonly staleAt: number;
  /** When the entry may be deleted: staleAt plus the longest stale window (serve-stale, revalidation). */
  readonly deleteAt: number;
  /** Request header values this variant was selected by (RFC 9111 §4.1); null means absent. */
  readonly vary: Readonly<Record<string, string | null>>;
  readonly tags: readonly string[];
  /** Directive summary, fixed at store time. */
  readonly flags: EntryFlags;
}

export interface EntryFlags {
  /** must-revalidate, proxy-revalidate or s-maxage: never served stale (RFC 9111 §4.2.4). */
  readonly mustRevalidate: boolean;
  /** Unqualified no-cache: every reuse needs validation (RFC 9111 §5.2.2.4). */
  readonly noCache: boolean;
  /** stale-while-revalidate window in seconds (RFC 5861 §3). */
  readonly staleWhileRevalidate: number;
  /** stale-if-error window in seconds (RFC 5861 §4). */
  readonly staleIfError: number;
}

/**
 * Stored at a primary key when the response varies (RFC 9111 §4.1): names the request fields
 * whose values select the variant, each variant living under its own key.
 */
export interface VaryRecord {
  readonly kind: 'vary';
  readonly v: 1;
  readonly key: string;
  /** Lower-cased, sorted field names from the response's Vary. */
  readonly fields: readonly string[];
  readonly deleteAt: number;
}

export type StoredRecord = CacheEntry | VaryRecord;

/**
 * A tier. Stores are dumb: they know keys, records, sizes and TTLs, never HTTP.
 * Any method may return synchronously; a thrown error or rejected promise is a miss to the engine.
 */
export interface CacheStore {
  readonly name: string;
  get(key: string, hints?: StoreHints): MaybePromise<StoredRecord | undefined>;
  /** `ttlMs` is how long the record may be kept; it is always > 0. */
  set(key: string, record: StoredRecord, ttlMs: number, hints?: StoreHints): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  clear(): MaybePromise<void>;
  close?(): MaybePromise<void>;
}

/** Source of time, injected so that policy and tests never read the wall clock directly. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Names of the tiers a policy may choose (the seed's `layers: ["l1", "l2"]`). */
export type LayerName = 'l1' | 'l2';

/** Per-call hints a composite store may use; a single store ignores them. */
export interface StoreHints {
  /** Which tiers to read and write; all of them when absent. */
  readonly layers?: readonly LayerName[] | undefined;
}

/** A message that tells every instance to drop what it holds locally. */
export type InvalidationMessage =
  | { readonly type: 'keys'; readonly keys: readonly string[] }
  | { readonly type: 'tags'; readonly tags: readonly string[] }
  | { readonly type: 'all' };

/** Carries invalidations between instances (Redis pub/sub, for example). */
export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  /**
   * `onMessage` runs for messages from other instances; `onReset` runs when messages may have been
   * lost (a reconnect), and the instance must then drop its whole local tier. Returns unsubscribe.
   */
  subscribe(onMessage: (message: InvalidationMessage) => void, onReset: () => void): () => void;
  close?(): MaybePromise<void>;
}

/** A cross-instance lock per key, so that a fleet facing one cold key calls the origin once. */
export interface LeaseManager {
  /** Try to take the lease; returns a release function, or undefined when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
}

/** Data classification of the seed's security section. */
export type Classification = 'public' | 'personal' | 'sensitive';

/**
 * What the engine does for one request, resolved from options, configuration rules and per-route
 * options. Every field is optional; the engine's defaults apply to what is absent.
 */
export interface CachePolicy {
  /** Rule name, for metrics and `Cache-Status` detail. */
  readonly name?: string | undefined;
  /** false: bypass the cache for this request entirely. */
  readonly cache?: boolean | undefined;
  /** Freshness lifetime in seconds for responses that carry no explicit freshness of their own. */
  readonly ttl?: number | undefined;
  /** When true, `ttl` replaces the origin's own freshness (the origin's no-store/private still hold). */
  readonly override?: boolean | undefined;
  readonly layers?: readonly LayerName[] | undefined;
  /** Tags attached to the stored entry (already expanded from templates). */
  readonly tags?: readonly string[] | undefined;
  /** Store per user: the response is kept only in the request's partition. */
  readonly private?: boolean | undefined;
  /** Request header fields added to the key beyond the response's Vary (lower-case). */
  readonly varyHeaders?: readonly string[] | undefined;
  /** When set, only these query parameters are kept in the key. */
  readonly queryAllow?: readonly string[] | undefined;
  /** Query parameters dropped from the key (`*` suffix is a prefix match: `utm_*`). */
  readonly queryIgnore?: readonly string[] | undefined;
  /** Seconds; override the origin's RFC 5861 windows when set. */
  readonly staleWhileRevalidate?: number | undefined;
  readonly staleIfError?: number | undefined;
  readonly maxBodyBytes?: number | undefined;
  /** Status codes that may be stored (others pass through). */
  readonly statuses?: readonly number[] | undefined;
  /** Content types (type/subtype, `*` wildcards) that may be stored. */
  readonly contentTypes?: readonly string[] | undefined;
  readonly classification?: Classification | undefined;
  /** Allow storing responses with Set-Cookie: the stored copy drops the Set-Cookie field. */
  readonly storeSetCookie?: boolean | undefined;
  /** Header fields the gateway sends downstream in place of the origin's caching fields. */
  readonly downstream?: DownstreamHeaders | undefined;
}

/** What browsers and CDNs are told (the browser and CDN levels of the seed). */
export interface DownstreamHeaders {
  readonly cacheControl?: string | undefined;
  readonly cdnCacheControl?: string | undefined;
  readonly surrogateControl?: string | undefined;
}
