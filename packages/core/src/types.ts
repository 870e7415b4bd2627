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
  get(key: string): MaybePromise<StoredRecord | undefined>;
  /** `ttlMs` is how long the record may be kept; it is always > 0. */
  set(key: string, record: StoredRecord, ttlMs: number): MaybePromise<void>;
  delete(key: string): MaybePromise<void>;
  clear(): MaybePromise<void>;
  close?(): MaybePromise<void>;
}

/** Source of time, injected so that policy and tests never read the wall clock directly. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}
