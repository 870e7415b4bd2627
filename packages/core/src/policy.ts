/**
 * RFC 9111 as a shared cache at a gateway. Pure: plain header records and times in, values out.
 */
import {
  parseCacheControl,
  parseDeltaSeconds,
  parseHttpDate,
  type CacheControl,
} from './cache-control.ts';
import { allHeaders, firstHeader, requestHeader, splitList } from './headers.ts';
import type { CacheEntry, CachePolicy, EntryFlags, HeaderList, RequestHeaders } from './types.ts';

/** Status codes defined as heuristically cacheable (RFC 9110 §15.1), minus 206 (no range support). */
const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

export interface PolicySettings {
  /**
   * Response fields obeyed ahead of Cache-Control, first present wins (RFC 9213 §2.2), for example
   * `['gatecache-cache-control', 'cdn-cache-control']`.
   */
  readonly targetedFields: readonly string[];
  /** Fraction of (Date - Last-Modified) used as heuristic freshness (RFC 9111 §4.2.2). */
  readonly heuristicFraction: number;
  /** Upper bound on heuristic freshness, in seconds. */
  readonly heuristicMaxSeconds: number;
  /** Seconds a stale entry with validators is kept for conditional revalidation. */
  readonly revalidationWindow: number;
  readonly maxBodyBytes: number;
}

export type NotStoredReason =
  | 'method'
  | 'status'
  | 'no-store'
  | 'private'
  | 'authorization'
  | 'set-cookie'
  | 'vary-star'
  | 'no-freshness'
  | 'content-type'
  | 'sensitive'
  | 'too-large'
  | 'deception'
  | 'unsafe-header'
  | 'incomplete';

export type StorabilityVerdict =
  | {
      readonly storable: true;
      /** false: the response may only be stored in the requesting user's partition. */
      readonly shared: boolean;
      /** Freshness lifetime in seconds (RFC 9111 §4.2.1); 0 means stored stale, for revalidation. */
      readonly lifetime: number;
      readonly flags: EntryFlags;
      /** Fields that must not be stored (RFC 9111 §5.2.2.4, §5.2.2.7, a stripped Set-Cookie). */
      readonly stripFields: readonly string[];
      /** Lower-cased request fields named by Vary (RFC 9111 §4.1). */
      readonly vary: readonly string[];
    }
  | { readonly storable: false; readonly reason: NotStoredReason };

export interface ResponseFacts {
  readonly method: string;
  readonly status: number;
  readonly requestHeaders: RequestHeaders;
  readonly responseHeaders: HeaderList;
  /** The request carries a partition (a user), so per-user storage is possible. */
  readonly hasPartition: boolean;
  readonly policy: CachePolicy;
}

/**
 * The directives that govern this cache: the first targeted field present (RFC 9213 §2.2: a
 * cache that obeys a targeted field ignores Cache-Control when the targeted field is present
 * and valid), else Cache-Control.
 */
export function responseDirectives(headers: HeaderList, settings: PolicySettings): CacheControl {
  for (const field of settings.targetedFields) {
    const lines = allHeaders(headers, field);
    if (lines.length > 0) {
      const parsed = parseCacheControl(lines);
      if (parsed.directives.size > 0) return parsed;
    }
  }
  return parseCacheControl(allHeaders(headers, 'cache-control'));
}

/** Field names listed in a qualified `no-cache="…"` or `private="…"` (RFC 9111 §5.2.2.4, §5.2.2.7). */
function qualifiedFields(value: string | true | undefined): string[] {
  if (typeof value !== 'string') return [];
  return splitList(value).map((name) => name.toLowerCase());
}

/** Vary field names, lower-cased and sorted; `['*']` for `Vary: *`. */
export function varyFields(headers: HeaderList): string[] {
  const names = new Set<string>();
  for (const line of allHeaders(headers, 'vary')) {
    for (const item of splitList(line)) names.add(item.toLowerCase());
  }
  if (names.has('*')) return ['*'];
  return [...names].sort();
}

/**
 * Freshness lifetime in seconds (RFC 9111 §4.2.1), or undefined when the response carries no
 * explicit freshness and none can be derived. Invalid or conflicting values mean stale (0).
 */
export function computeFreshnessLifetime(
  status: number,
  headers: HeaderList,
  cc: CacheControl,
  responseTime: number,
  policy: CachePolicy,
  settings: PolicySettings,
): number | undefined {
  if (policy.override === true && policy.ttl !== undefined) return policy.ttl;
  const { directives, conflicting } = cc;
  // s-maxage applies to shared caches and wins over max-age (§5.2.2.10).
  if (directives.has('s-maxage')) {
    if (conflicting.has('s-maxage')) return 0;
    return parseDeltaSeconds(directives.get('s-maxage')) ?? 0;
  }
  if (directives.has('max-age')) {
    if (conflicting.has('max-age')) return 0;
    return parseDeltaSeconds(directives.get('max-age')) ?? 0;
  }
  const expiresLines = allHeaders(headers, 'expires');
  if (expiresLines.length > 0) {
    // §5.3: more than one Expires, or an invalid date such as "0", means already expired.
    if (expiresLines.length > 1) return 0;
    const expires = parseHttpDate(expiresLines[0]);
    if (expires === undefined) return 0;
    const date = dateValue(headers, responseTime);
    return Math.max(0, Math.floor((expires - date) / 1000));
  }
  if (policy.ttl !== undefined && HEURISTICALLY_CACHEABLE.has(status)) return policy.ttl;
  // §4.2.2: heuristic freshness only for heuristically cacheable codes, from Last-Modified.
  if (HEURISTICALLY_CACHEABLE.has(status)) {
    const lastModified = parseHttpDate(firstHeader(headers, 'last-modified'));
    if (lastModified !== undefined) {
      const date = dateValue(headers, responseTime);
      const interval = Math.max(0, (date - lastModified) / 1000);
      return Math.min(
        settings.heuristicMaxSeconds,
        Math.floor(interval * settings.heuristicFraction),
      );
    }
  }
  return undefined;
}

/** The Date of a response, or the time it was received when Date is absent or invalid. */
function dateValue(headers: HeaderList, responseTime: number): number {
  const dates = allHeaders(headers, 'date');
  if (dates.length !== 1) return responseTime;
  return parseHttpDate(dates[0]) ?? responseTime;
}

/**
 * corrected_initial_age in seconds (RFC 9111 §4.2.3). Age is a singleton: a list uses its first
 * member (§5.1); an invalid value is ignored.
 */
export function computeInitialAge(
  headers: HeaderList,
  requestTime: number,
  responseTime: number,
): number {
  const ageLine = firstHeader(headers, 'age');
  let ageValue = 0;
  if (ageLine !== undefined) ageValue = parseDeltaSeconds(splitList(ageLine)[0]) ?? 0;
  const apparentAge = Math.max(0, (responseTime - dateValue(headers, responseTime)) / 1000);
  const responseDelay = Math.max(0, (responseTime - requestTime) / 1000);
  const correctedAgeValue = ageValue + responseDelay;
  return Math.max(apparentAge, correctedAgeValue);
}

function matchesContentType(headers: HeaderList, allowed: readonly string[]): boolean {
  const value = firstHeader(headers, 'content-type');
  const type = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return allowed.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*' || p === '*/*') return true;
    if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1));
    return type === p;
  });
}

/** May this response be stored, and how (RFC 9111 §3, §3.5, §5.2.2)? */
export function assessStorability(
  facts: ResponseFacts,
  responseTime: number,
  settings: PolicySettings,
): StorabilityVerdict {
  const { status, responseHeaders: headers, policy } = facts;
  // §3: only GET responses are stored here; HEAD is answered from a GET entry.
  if (facts.method !== 'GET') return { storable: false, reason: 'method' };
  if (policy.classification === 'sensitive') return { storable: false, reason: 'sensitive' };
  // 1xx are interim, 206 needs range support we do not have, 304 is not a full response, and
  // 5xx are not stored unless a policy lists them: an error never replaces a good entry.
  if (policy.statuses !== undefined) {
    if (!policy.statuses.includes(status)) return { storable: false, reason: 'status' };
  } else if (
    status < 200 ||
    status === 206 ||
    status === 304 ||
    (status >= 500 && status !== 501)
  ) {
    return { storable: false, reason: 'status' };
  }
  if (status < 200 || status === 206 || status === 304)
    return { storable: false, reason: 'status' };

  const cc = responseDirectives(headers, settings);
  const { directives } = cc;
  if (directives.has('no-store')) return { storable: false, reason: 'no-store' };

  const vary = varyFields(headers);
  if (vary[0] === '*') return { storable: false, reason: 'vary-star' };

  const stripFields: string[] = [];
  let shared = policy.private !== true && policy.classification !== 'personal';
  const privateValue = directives.get('private');
  if (privateValue === true) shared = false;
  else stripFields.push(...qualifiedFields(privateValue));
  stripFields.push(...qualifiedFields(directives.get('no-cache')));

  // §3.5: a shared cache reuses a response to an authorized request only when the response says so.
  if (requestHeader(facts.requestHeaders, 'authorization') !== undefined) {
    const allowed =
      directives.has('public') || directives.has('s-maxage') || directives.has('must-revalidate');
    if (!allowed) shared = false;
  }
  if (!shared && !facts.hasPartition) {
    return {
      storable: false,
      reason:
        privateValue === true || policy.private === true || policy.classification === 'personal'
          ? 'private'
          : 'authorization',
    };
  }

  if (headers.some(([name]) => name === 'set-cookie') && !stripFields.includes('set-cookie')) {
    if (policy.storeSetCookie !== true) return { storable: false, reason: 'set-cookie' };
    stripFields.push('set-cookie');
  }

  if (policy.contentTypes !== undefined && !matchesContentType(headers, policy.contentTypes)) {
    return { storable: false, reason: 'content-type' };
  }

  let lifetime = computeFreshnessLifetime(status, headers, cc, responseTime, policy, settings);
  if (lifetime === undefined) {
    // §3: `public` or a heuristically cacheable status makes a response storable; with no
    // freshness it is stored stale, to be revalidated (and dropped below if it has no validator).
    if (!directives.has('public') && !HEURISTICALLY_CACHEABLE.has(status)) {
      return { storable: false, reason: 'no-freshness' };
    }
    lifetime = 0;
  }
  const mustRevalidate =
    directives.has('must-revalidate') ||
    directives.has('proxy-revalidate') ||
    directives.has('s-maxage');
  const noCache = directives.get('no-cache') === true;
  const swr =
    policy.staleWhileRevalidate ?? parseDeltaSeconds(directives.get('stale-while-revalidate')) ?? 0;
  const sie = policy.staleIfError ?? parseDeltaSeconds(directives.get('stale-if-error')) ?? 0;
  const flags: EntryFlags = {
    mustRevalidate,
    noCache,
    // RFC 5861 §4 / RFC 9111 §4.2.4: these windows never override must-revalidate and friends.
    staleWhileRevalidate: mustRevalidate || noCache ? 0 : swr,
    staleIfError: mustRevalidate || noCache ? 0 : sie,
  };
  const hasValidator =
    firstHeader(headers, 'etag') !== undefined ||
    firstHeader(headers, 'last-modified') !== undefined;
  if (
    (lifetime === 0 || noCache) &&
    !hasValidator &&
    flags.staleIfError === 0 &&
    flags.staleWhileRevalidate === 0
  ) {
    // Stored stale with no way to revalidate it: it could never be used.
    return { storable: false, reason: 'no-freshness' };
  }
  return { storable: true, shared, lifetime, flags, stripFields, vary };
}

/** How long, after it becomes stale, an entry stays worth keeping. */
export function staleKeepSeconds(
  flags: EntryFlags,
  hasValidator: boolean,
  settings: PolicySettings,
): number {
  return Math.max(
    flags.staleWhileRevalidate,
    flags.staleIfError,
    hasValidator ? settings.revalidationWindow : 0,
  );
}

/** What the request itself asks of the cache (RFC 9111 §5.2.1). */
export interface RequestDirectives {
  readonly noStore: boolean;
  readonly noCache: boolean;
  readonly onlyIfCached: boolean;
  readonly maxAge: number | undefined;
  /** Seconds of staleness accepted; Infinity for a bare `max-stale`. */
  readonly maxStale: number | undefined;
  readonly minFresh: number | undefined;
}

export const NO_REQUEST_DIRECTIVES: RequestDirectives = {
  noStore: false,
  noCache: false,
  onlyIfCached: false,
  maxAge: undefined,
  maxStale: undefined,
  minFresh: undefined,
};

export function parseRequestDirectives(headers: RequestHeaders): RequestDirectives {
  const line = requestHeader(headers, 'cache-control');
  if (line === undefined) {
    // RFC 9111 §5.4: Pragma: no-cache only counts when Cache-Control is absent.
    const pragma = requestHeader(headers, 'pragma');
    if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) {
      return { ...NO_REQUEST_DIRECTIVES, noCache: true };
    }
    return NO_REQUEST_DIRECTIVES;
  }
  const { directives } = parseCacheControl([line]);
  const maxStale = directives.get('max-stale');
  return {
    noStore: directives.has('no-store'),
    noCache: directives.has('no-cache'),
    onlyIfCached: directives.has('only-if-cached'),
    // An invalid max-age in a request is read as 0: the client wants a fresh answer.
    maxAge: directives.has('max-age')
      ? (parseDeltaSeconds(directives.get('max-age')) ?? 0)
      : undefined,
    maxStale:
      maxStale === undefined
        ? undefined
        : maxStale === true
          ? Infinity
          : (parseDeltaSeconds(maxStale) ?? 0),
    minFresh: directives.has('min-fresh')
      ? (parseDeltaSeconds(directives.get('min-fresh')) ?? 0)
      : undefined,
  };
}

/** Current age of a stored entry in seconds (RFC 9111 §4.2.3). */
export function currentAge(entry: CacheEntry, now: number): number {
  return entry.initialAge + Math.max(0, now - entry.storedAt) / 1000;
}

export type ReuseDecision =
  | { readonly type: 'fresh' }
  /** Stale, but within the stale-while-revalidate window: serve now, refresh in the background. */
  | { readonly type: 'stale-while-revalidate' }
  /** Stale, and the client accepts it (max-stale). */
  | { readonly type: 'stale-accepted' }
  /** Must be validated with the origin before use. */
  | { readonly type: 'revalidate'; readonly reason: 'stale' | 'no-cache' | 'request' };

/** Can this stored entry answer the request as it is (RFC 9111 §4, §4.2.4, §5.2.1)? */
export function decideReuse(
  entry: CacheEntry,
  request: RequestDirectives,
  now: number,
): ReuseDecision {
  if (request.noCache) return { type: 'revalidate', reason: 'request' };
  // §5.2.2.4: no-cache in the response means every reuse is validated first.
  if (entry.flags.noCache) return { type: 'revalidate', reason: 'no-cache' };
  const age = currentAge(entry, now);
  if (request.maxAge !== undefined && age > request.maxAge)
    return { type: 'revalidate', reason: 'request' };
  const remaining = (entry.staleAt - now) / 1000;
  if (remaining > 0) {
    if (request.minFresh !== undefined && remaining < request.minFresh) {
      return { type: 'revalidate', reason: 'request' };
    }
    return { type: 'fresh' };
  }
  // §4.2.4: never serve stale when must-revalidate, proxy-revalidate or s-maxage forbid it.
  if (entry.flags.mustRevalidate) return { type: 'revalidate', reason: 'stale' };
  const staleness = -remaining;
  if (
    request.maxStale !== undefined &&
    staleness <= request.maxStale &&
    request.minFresh === undefined
  ) {
    return { type: 'stale-accepted' };
  }
  const swr = entry.flags.staleWhileRevalidate;
  if (swr > 0 && staleness <= swr) return { type: 'stale-while-revalidate' };
  return { type: 'revalidate', reason: 'stale' };
}

/** May this entry be served in place of an origin error (RFC 5861 §4, RFC 9111 §4.2.4)? */
export function canServeStaleOnError(entry: CacheEntry, now: number): boolean {
  if (entry.flags.mustRevalidate || entry.flags.noCache) return false;
  const staleness = (now - entry.staleAt) / 1000;
  return entry.flags.staleIfError > 0 && staleness <= entry.flags.staleIfError;
}
