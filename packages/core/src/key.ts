import { digest } from './hash.ts';
import { requestHeader } from './headers.ts';
import type { RequestHeaders } from './types.ts';

/** Version of the key layout and entry envelope: a change makes old entries unreachable. */
export const KEY_VERSION = 'gc1';

/** Keys longer than this are hashed, so no key exceeds it. */
export const MAX_KEY_LENGTH = 250;

export interface KeySettings {
  readonly namespace: string;
  /** Key on the request's Host (default true): one gateway may front several hosts. */
  readonly includeHost: boolean;
  /** Query parameters dropped from keys; `*` at the end makes a prefix (`utm_*`). */
  readonly queryIgnore: readonly string[];
  /** Query parameters whose values are hashed in keys, as they may be credentials. */
  readonly sensitiveQuery: readonly string[];
}

export interface KeyParts {
  readonly url: string;
  readonly host: string | undefined;
  /** Hashed partition, or undefined for the shared space. */
  readonly partitionHash: string | undefined;
  /** Hashed tenant: its entries live in a namespace of their own. */
  readonly tenantHash?: string | undefined;
  readonly queryIgnore?: readonly string[] | undefined;
  readonly queryAllow?: readonly string[] | undefined;
}

/** A list of names and `prefix*` patterns, split once: exact names in a set, then the prefixes. */
interface NameMatcher {
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
}

/** Matchers of frozen pattern lists (the engine's settings), which cannot change after. */
const matchers = new WeakMap<readonly string[], NameMatcher>();

function matcherOf(patterns: readonly string[]): NameMatcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('*')) prefixes.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return { exact, prefixes };
}

function matchesName(name: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  let matcher = matchers.get(patterns);
  if (matcher === undefined) {
    matcher = matcherOf(patterns);
    if (Object.isFrozen(patterns)) matchers.set(patterns, matcher);
  }
  if (matcher.exact.has(name)) return true;
  for (const prefix of matcher.prefixes) if (name.startsWith(prefix)) return true;
  return false;
}

/** A query parameter's name as decoded (`+` as a space); as it is when it does not decode. */
function queryName(rawName: string): string {
  if (!rawName.includes('%') && !rawName.includes('+')) return rawName;
  try {
    return decodeURIComponent(rawName.replace(/\+/g, ' '));
  } catch {
    return rawName;
  }
}

/**
 * Normalizes a request target for keying. The path is kept byte for byte — frameworks differ on
 * case, trailing slashes and percent-decoding, and two URLs routed differently must never share a
 * key — while query parameters are sorted by name (stable, so repeated names keep their order),
 * ignored ones dropped and sensitive values hashed.
 */
export function normalizeTarget(
  url: string,
  settings: KeySettings,
  queryIgnore?: readonly string[],
  queryAllow?: readonly string[],
): string {
  const hashAt = url.indexOf('#');
  const target = hashAt === -1 ? url : url.slice(0, hashAt);
  const q = target.indexOf('?');
  if (q === -1) return target;
  const path = target.slice(0, q);
  const query = target.slice(q + 1);
  if (!query) return path;
  const params: Array<[string, string]> = [];
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const name = queryName(rawName);
    if (queryAllow !== undefined && !queryAllow.includes(name)) continue;
    if (matchesName(name, settings.queryIgnore)) continue;
    if (queryIgnore !== undefined && matchesName(name, queryIgnore)) continue;
    let value = eq === -1 ? '' : pair.slice(eq + 1);
    if (matchesName(name.toLowerCase(), settings.sensitiveQuery)) value = '~' + digest(value);
    params.push([rawName, eq === -1 && !value ? rawName : `${rawName}=${value}`]);
  }
  if (params.length === 0) return path;
  if (params.length === 1) return path + '?' + params[0]![1];
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return path + '?' + params.map((p) => p[1]).join('&');
}

/** The primary key: version, namespace, host, normalized target, and the partition hash. */
export function buildPrimaryKey(parts: KeyParts, settings: KeySettings): string {
  const target = normalizeTarget(parts.url, settings, parts.queryIgnore, parts.queryAllow);
  // RFC 3986 §3.2.2: a host is a reg-name or an IP literal with an optional port. Anything else is
  // escaped, so a Host such as `example.com/admin` can never borrow another path's key.
  const host = settings.includeHost
    ? (parts.host ?? '').toLowerCase().replace(/[^a-z0-9.:\-[\]]/g, escapeCodeUnit)
    : '';
  const space =
    parts.tenantHash === undefined
      ? settings.namespace
      : `${settings.namespace}~${parts.tenantHash}`;
  // A space never appears in a request target, so it separates the key's parts unambiguously;
  // `%` is escaped too, which keeps the escaping one-to-one.
  // eslint-disable-next-line no-control-regex -- control characters are what is escaped
  const safeTarget = target.replace(/[\x00-\x20%]/g, encodeURIComponent);
  let key = `${KEY_VERSION}:${space}:${host}${safeTarget}`;
  if (parts.partitionHash !== undefined) key += ` p=${parts.partitionHash}`;
  return limitKey(key);
}

/** `%` and four hex digits per UTF-16 code unit: one-to-one, and never throws on lone surrogates. */
function escapeCodeUnit(ch: string): string {
  return `%${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** Keeps a key under MAX_KEY_LENGTH by replacing its tail with a digest of the whole key. */
export function limitKey(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) return key;
  return `${key.slice(0, MAX_KEY_LENGTH - 30)} h=${digest(key)}`;
}

/** Request fields whose values are credentials: never put raw into a key. */
const SECRET_FIELDS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

/**
 * Normalizes a selecting header value (RFC 9111 §4.1 allows normalizing): whitespace around list
 * commas collapsed. `null` stands for an absent field, which only matches absent.
 */
export function varyValue(headers: RequestHeaders, field: string): string | null {
  const value = requestHeader(headers, field);
  if (value === undefined) return null;
  const normalized = value.trim().replace(/\s*,\s*/g, ', ');
  // A credential is compared by its digest: the stored entry never holds it.
  return SECRET_FIELDS.has(field) ? `~${digest(normalized)}` : normalized;
}

/** Selecting values of a request for the given Vary fields. */
export function selectingValues(
  headers: RequestHeaders,
  fields: readonly string[],
): Record<string, string | null> {
  const values: Record<string, string | null> = {};
  for (const field of fields) values[field] = varyValue(headers, field);
  return values;
}

/** The key of one variant under a primary key. */
export function variantKey(
  primaryKey: string,
  epoch: string,
  fields: readonly string[],
  values: Readonly<Record<string, string | null>>,
): string {
  let text = '';
  let secret = false;
  for (const field of fields) {
    const value = values[field] ?? null;
    if (SECRET_FIELDS.has(field)) secret = true;
    text += value === null ? `&${field}` : `&${field}=${encodeURIComponent(value)}`;
  }
  const suffix = secret || text.length > 120 ? digest(text) : text;
  return limitKey(`${primaryKey} v=${epoch}${suffix}`);
}

/**
 * The request target without the query parameters the key leaves out (ignored ones, or all but
 * the allowed ones), so the origin never sees an input the key ignores. Returns `url` itself when
 * nothing is removed.
 */
export function stripIgnoredQuery(
  url: string,
  ignore: readonly string[],
  ruleIgnore?: readonly string[],
  allow?: readonly string[],
): string {
  const q = url.indexOf('?');
  if (q === -1 || (ignore.length === 0 && ruleIgnore === undefined && allow === undefined))
    return url;
  const kept: string[] = [];
  let removed = false;
  for (const pair of url.slice(q + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const name = queryName(rawName);
    if (
      (allow !== undefined && !allow.includes(name)) ||
      matchesName(name, ignore) ||
      (ruleIgnore !== undefined && matchesName(name, ruleIgnore))
    ) {
      removed = true;
      continue;
    }
    kept.push(pair);
  }
  if (!removed) return url;
  const path = url.slice(0, q);
  return kept.length === 0 ? path : `${path}?${kept.join('&')}`;
}
