import type { CacheEntry, HeaderList, VaryRecord } from '../types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A complete response record for store tests; times are relative to `now`. */
export function makeEntry(
  key: string,
  overrides: Partial<Mutable<Omit<CacheEntry, 'kind' | 'v' | 'key'>>> = {},
  now = 1_700_000_000_000,
): CacheEntry {
  const headers: HeaderList = [
    ['content-type', 'application/json'],
    ['cache-control', 'max-age=60'],
  ];
  return {
    kind: 'response',
    v: 1,
    key,
    status: 200,
    headers,
    body: new TextEncoder().encode(`{"key":${JSON.stringify(key)}}`),
    storedAt: now,
    fetchedAt: now - 5,
    initialAge: 0,
    staleAt: now + 60_000,
    deleteAt: now + 120_000,
    vary: {},
    tags: [],
    generatedETag: false,
    flags: { mustRevalidate: false, noCache: false, staleWhileRevalidate: 0, staleIfError: 0 },
    ...overrides,
  };
}

export function makeVaryRecord(
  key: string,
  fields: readonly string[] = ['accept-encoding'],
  deleteAt = 1_700_000_120_000,
  epoch = 'e1',
): VaryRecord {
  return { kind: 'vary', v: 1, key, fields: [...fields].sort(), epoch, deleteAt };
}

/** Bytes that do not compress: a deterministic xorshift stream. */
export function incompressibleBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
