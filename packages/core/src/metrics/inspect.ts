/**
 * Looking at what is stored without disturbing it: one URL's variants (ages, TTLs, tags, tiers),
 * the largest entries of the memory tier, and purges by pattern or tag for the admin endpoint.
 * Private (per-user) entries are only ever shown by a digest of their key.
 */
import { buildPrimaryKey, KEY_VERSION, type KeySettings } from '../key.ts';
import { globToRegExp, sizeOfRecord } from '../memory-store.ts';
import type { CacheStore, LayerName, StoredRecord } from '../types.ts';
import { displayKey, isPrivateKey } from './labels.ts';
import type { LayerProbe } from './store-probe.ts';

/** Request fields whose values are credentials: their selecting values are never shown. */
const SECRET_FIELDS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
/** Stored fields shown by `inspect`: describe the entry, never carry user data. */
const SHOWN_FIELDS = [
  'content-type',
  'content-encoding',
  'cache-control',
  'etag',
  'last-modified',
  'vary',
];

export interface InspectedEntry {
  readonly key: string;
  readonly private: boolean;
  readonly layers: readonly LayerName[];
  readonly status: number;
  /** Seconds since the origin generated it (RFC 9111 §4.2.3). */
  readonly ageSeconds: number;
  /** Seconds of freshness left; negative when stale. */
  readonly ttlSeconds: number;
  /** Seconds until it may be deleted (stale windows included). */
  readonly expiresInSeconds: number;
  readonly storedAt: string;
  readonly bodyBytes: number;
  readonly sizeBytes: number;
  readonly tags: readonly string[];
  /** Request field values that select this variant (credentials shown as "[redacted]"). */
  readonly vary: Readonly<Record<string, string | null>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly flags: {
    readonly mustRevalidate: boolean;
    readonly noCache: boolean;
    readonly staleWhileRevalidate: number;
    readonly staleIfError: number;
  };
}

export interface InspectResult {
  readonly url: string;
  readonly key: string;
  /** Vary fields when the response varies. */
  readonly varyFields: readonly string[] | undefined;
  readonly entries: readonly InspectedEntry[];
  /** Private entries for this URL (one per user and variant). */
  readonly privateEntries: number;
}

/**
 * Reads a record without touching the tier's LRU order or the metrics' read counts: `peek` when
 * the store has one, else the class's own `get` (metrics wrap `get` on the instance).
 */
export function peekRecord(
  store: CacheStore,
  key: string,
): StoredRecord | undefined | Promise<StoredRecord | undefined> {
  const s = store as CacheStore & { peek?: (key: string) => StoredRecord | undefined };
  if (typeof s.peek === 'function') return s.peek(key);
  const own = Object.getPrototypeOf(store) as Record<string, unknown> | null;
  const get = typeof own?.get === 'function' ? own.get : s.get.bind(store);
  return Reflect.apply(get, store, [key]) as
    StoredRecord | undefined | Promise<StoredRecord | undefined>;
}

/** A key with the glob characters of `scan` escaped, so it matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, (ch) => `\\${ch}`);
}

async function scanKeys(store: CacheStore, match: string, limit: number): Promise<string[]> {
  const keys: string[] = [];
  if (typeof store.scan !== 'function') return keys;
  for await (const key of store.scan(match, 500)) {
    keys.push(key);
    if (keys.length >= limit) break;
  }
  return keys;
}

function describeEntry(
  key: string,
  record: StoredRecord & { kind: 'response' },
  layers: LayerName[],
  now: number,
): InspectedEntry {
  const headers: Record<string, string> = {};
  for (const [name, value] of record.headers) {
    if (SHOWN_FIELDS.includes(name) && headers[name] === undefined) headers[name] = value;
  }
  const vary: Record<string, string | null> = {};
  for (const [field, value] of Object.entries(record.vary)) {
    vary[field] = value !== null && SECRET_FIELDS.has(field) ? '[redacted]' : value;
  }
  return {
    key: displayKey(key),
    private: isPrivateKey(key),
    layers,
    status: record.status,
    ageSeconds: Math.floor(record.initialAge + Math.max(0, now - record.storedAt) / 1000),
    ttlSeconds: Math.floor((record.staleAt - now) / 1000),
    expiresInSeconds: Math.floor((record.deleteAt - now) / 1000),
    storedAt: new Date(record.storedAt).toISOString(),
    bodyBytes: record.body.byteLength,
    sizeBytes: sizeOfRecord(key, record),
    tags: record.tags,
    vary,
    headers,
    flags: { ...record.flags },
  };
}

/** Everything stored for one URL (origin-form `url`, with `host` when keys include the host). */
export async function inspectUrl(
  probes: readonly LayerProbe[],
  settings: KeySettings,
  url: string,
  host: string | undefined,
  now: number,
  limit = 100,
): Promise<InspectResult> {
  const primary = buildPrimaryKey({ url, host, partitionHash: undefined }, settings);
  const found = new Map<
    string,
    { record: StoredRecord & { kind: 'response' }; layers: LayerName[] }
  >();
  let varyFields: readonly string[] | undefined;
  let privateEntries = 0;
  const privateKeys = new Set<string>();
  const add = (key: string, record: StoredRecord | undefined, layer: LayerName): void => {
    if (record === undefined || record.kind !== 'response' || record.deleteAt <= now) return;
    const slot = found.get(key);
    if (slot !== undefined) slot.layers.push(layer);
    else found.set(key, { record, layers: [layer] });
  };
  for (const probe of probes) {
    const store = probe.store;
    const head = await peekRecord(store, primary);
    if (head?.kind === 'vary') {
      varyFields = head.fields;
      for (const key of await scanKeys(
        store,
        `${escapeGlob(primary)} v=${escapeGlob(head.epoch)}*`,
        limit,
      )) {
        add(key, await peekRecord(store, key), probe.layer);
      }
    } else {
      add(primary, head, probe.layer);
    }
    for (const key of await scanKeys(store, `${escapeGlob(primary)} p=*`, limit)) {
      const record = await peekRecord(store, key);
      if (record?.kind === 'response' && record.deleteAt > now) {
        privateKeys.add(key);
        add(key, record, probe.layer);
      }
    }
  }
  privateEntries = privateKeys.size;
  return {
    url,
    key: displayKey(primary),
    varyFields,
    entries: [...found.entries()].map(([key, { record, layers }]) =>
      describeEntry(key, record, layers, now),
    ),
    privateEntries,
  };
}

export interface EntrySize {
  readonly key: string;
  readonly layer: LayerName;
  readonly sizeBytes: number;
  readonly bodyBytes: number;
  readonly ttlSeconds: number;
}

/**
 * The largest entries of the memory tiers. Keys are read least recently used first, so that even
 * a store whose `get` refreshes recency ends in the order it started in.
 */
export async function largestEntries(
  probes: readonly LayerProbe[],
  now: number,
  limit = 10,
  maxScan = 10_000,
): Promise<EntrySize[]> {
  const sizes: EntrySize[] = [];
  for (const probe of probes) {
    const store = probe.store as CacheStore & { keys?: () => Iterable<string> };
    const source =
      typeof store.keys === 'function'
        ? store
        : ((store as { inner?: CacheStore & { keys?: () => Iterable<string> } }).inner ?? store);
    if (typeof source.keys !== 'function') continue;
    const keys = [...source.keys()].slice(0, maxScan).reverse();
    for (const key of keys) {
      const record = await peekRecord(source, key);
      if (record?.kind !== 'response') continue;
      sizes.push({
        key: displayKey(key),
        layer: probe.layer,
        sizeBytes: sizeOfRecord(key, record),
        bodyBytes: record.body.byteLength,
        ttlSeconds: Math.floor((record.staleAt - now) / 1000),
      });
    }
  }
  return sizes.sort((a, b) => b.sizeBytes - a.sizeBytes).slice(0, limit);
}

/** The target (path and query) of a key, and its host, or undefined for a foreign key. */
export function keyTarget(
  key: string,
  settings: KeySettings,
): { host: string; target: string } | undefined {
  const prefix = `${KEY_VERSION}:${settings.namespace}:`;
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  const space = rest.indexOf(' ');
  const head = space === -1 ? rest : rest.slice(0, space);
  const slash = head.indexOf('/');
  if (slash === -1) return undefined;
  return { host: head.slice(0, slash), target: head.slice(slash) };
}

/** Keys whose path matches a glob such as `/api/users/*` (every tier that can scan). */
export async function keysMatchingPath(
  store: CacheStore,
  settings: KeySettings,
  pathGlob: string,
  host: string | undefined,
): Promise<string[]> {
  const pattern = globToRegExp(pathGlob);
  const keys: string[] = [];
  if (typeof store.scan !== 'function') return keys;
  for await (const key of store.scan(`${KEY_VERSION}:${escapeGlob(settings.namespace)}:*`, 500)) {
    const parts = keyTarget(key, settings);
    if (parts === undefined) continue;
    if (host !== undefined && parts.host !== host.toLowerCase()) continue;
    const q = parts.target.indexOf('?');
    if (pattern.test(parts.target) || (q !== -1 && pattern.test(parts.target.slice(0, q))))
      keys.push(key);
  }
  return keys;
}

/** Keys of entries carrying any of the tags (reads every entry: for stores without tag indexes). */
export async function keysWithTags(
  store: CacheStore,
  settings: KeySettings,
  tags: readonly string[],
): Promise<string[]> {
  const wanted = new Set(tags);
  const keys: string[] = [];
  if (typeof store.scan !== 'function') return keys;
  for await (const key of store.scan(`${KEY_VERSION}:${escapeGlob(settings.namespace)}:*`, 500)) {
    const record = await peekRecord(store, key);
    if (record?.kind === 'response' && record.tags.some((tag) => wanted.has(tag))) keys.push(key);
  }
  return keys;
}
