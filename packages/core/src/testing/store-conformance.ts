import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheEntry, CacheStore, MaybePromise, StoredRecord } from '../types.ts';
import { incompressibleBytes, makeEntry, makeVaryRecord } from './records.ts';

/** What a conformance factory hands the suite for one test. */
export interface StoreUnderTest {
  readonly store: CacheStore;
  /**
   * A clock the store reads expiry from. When given, TTL tests move it instead of waiting; when
   * absent, they use `realTtl` and poll the real clock.
   */
  readonly clock?: { now(): number; advance(ms: number): void } | undefined;
  /** Short real TTLs for stores whose server enforces expiry (Redis PX, memcached seconds). */
  readonly realTtl?: { readonly ttlMs: number; readonly maxWaitMs: number } | undefined;
  /** For stores that serialize: write bytes where the store will look for `key`. */
  writeRaw?(key: string, bytes: Uint8Array): MaybePromise<void>;
  /** For stores that serialize: the bytes the store keeps for `key`. */
  readRaw?(key: string): MaybePromise<Uint8Array | undefined>;
  /** Closes what the factory opened for this test. */
  dispose?(): MaybePromise<void>;
}

export type StoreFactory = () => MaybePromise<StoreUnderTest>;

export interface StoreConformanceOptions {
  /** Largest body the store is expected to keep (default 1 MiB). */
  readonly largeBodyBytes?: number;
}

const DEFAULT_REAL_TTL = { ttlMs: 100, maxWaitMs: 5_000 };

/**
 * The behaviour every `CacheStore` owes the engine. Call inside a test file:
 * `runStoreConformance('memory', () => ({ store: createMemoryStore({ clock }), clock }))`.
 * The factory runs before each test and `dispose` after it, so each test starts from an empty store.
 */
export function runStoreConformance(
  name: string,
  factory: StoreFactory,
  options: StoreConformanceOptions = {},
): void {
  const largeBodyBytes = options.largeBodyBytes ?? 1024 * 1024;

  describe(`CacheStore conformance: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: CacheStore;

    // Records of one test share one timestamp, so a record built twice compares equal.
    let startedAt = 0;
    const now = (): number => startedAt;
    const entry = (key: string, overrides: Parameters<typeof makeEntry>[1] = {}): CacheEntry =>
      makeEntry(key, overrides, now());

    beforeEach(async () => {
      subject = await factory();
      store = subject.store;
      startedAt = subject.clock?.now() ?? Date.now();
    });

    afterEach(async () => {
      await subject.dispose?.();
    });

    it('has a name', () => {
      expect(typeof store.name).toBe('string');
      expect(store.name.length).toBeGreaterThan(0);
    });

    it('reads an absent key as undefined', async () => {
      expect(await store.get('absent')).toBeUndefined();
      expect(await store.get('absent', { layers: ['l1', 'l2'] })).toBeUndefined();
    });

    it('round-trips a response entry: status, duplicate and latin1 header fields, flags, vary, tags', async () => {
      const record = entry('rt', {
        status: 203,
        headers: [
          ['content-type', 'text/plain; charset=utf-8'],
          ['x-dup', 'first'],
          ['x-dup', 'second'],
          // Node exposes header bytes as latin1: every code point below 256 must survive.
          ['x-latin1', 'caf\u00e9 \u00ff\u00a0\u0080 \u00e6\u00f8\u00e5'],
          ['link', '</a>; rel=preload'],
          ['link', '</b>; rel=preload'],
          ['x-empty', ''],
        ],
        body: new TextEncoder().encode('hello, \u4e16\u754c'),
        initialAge: 7,
        vary: { 'accept-encoding': 'gzip', 'accept-language': null },
        tags: ['products', 'product:42', 't\u00e4g'],
        flags: { mustRevalidate: true, noCache: true, staleWhileRevalidate: 30, staleIfError: 600 },
      });
      await store.set('rt', record, 60_000);
      expectSameRecord(await store.get('rt'), record);
    });

    it('round-trips an empty body', async () => {
      const record = entry('empty', { status: 204, body: new Uint8Array(0) });
      await store.set('empty', record, 60_000);
      const got = await store.get('empty');
      expectSameRecord(got, record);
    });

    it('round-trips every byte value in a body exactly', async () => {
      const body = new Uint8Array(512);
      for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
      const record = entry('bytes', {
        body,
        headers: [['content-type', 'application/octet-stream']],
      });
      await store.set('bytes', record, 60_000);
      expectSameRecord(await store.get('bytes'), record);
    });

    it(`round-trips a ${largeBodyBytes}-byte incompressible body byte-exact`, async () => {
      const record = entry('large', { body: incompressibleBytes(largeBodyBytes) });
      await store.set('large', record, 60_000);
      expectSameRecord(await store.get('large'), record);
    });

    it(`round-trips a ${largeBodyBytes}-byte compressible body byte-exact`, async () => {
      const text = '{"id":1,"name":"widget","tags":["a","b"]},'.repeat(
        Math.ceil(largeBodyBytes / 42),
      );
      const body = new TextEncoder().encode(text).subarray(0, largeBodyBytes);
      const record = entry('large-text', { body });
      await store.set('large-text', record, 60_000);
      expectSameRecord(await store.get('large-text'), record);
    });

    it('round-trips a body that is a view into a larger buffer', async () => {
      const backing = incompressibleBytes(4096);
      const body = backing.subarray(1000, 1100);
      const record = entry('view', { body });
      await store.set('view', record, 60_000);
      expectSameRecord(await store.get('view'), entry('view', { body: body.slice() }));
    });

    it('round-trips a vary record', async () => {
      const record = makeVaryRecord('primary', ['accept', 'accept-encoding'], now() + 60_000);
      await store.set('primary', record, 60_000);
      expect(await store.get('primary')).toEqual(record);
    });

    it('accepts a fractional TTL', async () => {
      const record = entry('fraction');
      await store.set('fraction', record, 1500.5);
      expectSameRecord(await store.get('fraction'), record);
    });

    it('overwrites a key, including a change of record kind', async () => {
      await store.set('ow', entry('ow', { status: 200 }), 60_000);
      const second = entry('ow', { status: 404, body: new TextEncoder().encode('gone') });
      await store.set('ow', second, 60_000);
      expectSameRecord(await store.get('ow'), second);
      const vary = makeVaryRecord('ow', ['accept'], now() + 60_000);
      await store.set('ow', vary, 60_000);
      expect(await store.get('ow')).toEqual(vary);
    });

    it('deletes one key and leaves the others', async () => {
      await store.set('d1', entry('d1'), 60_000);
      await store.set('d2', entry('d2'), 60_000);
      await store.delete('d1');
      expect(await store.get('d1')).toBeUndefined();
      expectSameRecord(await store.get('d2'), entry('d2'));
      // Deleting an absent key is not an error.
      await store.delete('never-set');
    });

    it('clears every key', async () => {
      const keys = ['c1', 'c2', 'c:3', 'c{4}'];
      for (const key of keys) await store.set(key, entry(key), 60_000);
      await store.clear();
      for (const key of keys) expect(await store.get(key)).toBeUndefined();
      // The store stays usable after clear.
      await store.set('c1', entry('c1'), 60_000);
      expectSameRecord(await store.get('c1'), entry('c1'));
    });

    it('expires a record after its TTL and keeps one whose TTL has not passed', async () => {
      const clock = subject.clock;
      const short = entry('short');
      const long = entry('long');
      if (clock) {
        await store.set('short', short, 1_000);
        await store.set('long', long, 60_000);
        clock.advance(999);
        expectSameRecord(await store.get('short'), short);
        clock.advance(2);
        expect(await store.get('short')).toBeUndefined();
        expectSameRecord(await store.get('long'), long);
        return;
      }
      const { ttlMs, maxWaitMs } = subject.realTtl ?? DEFAULT_REAL_TTL;
      const started = Date.now();
      await store.set('short', short, ttlMs);
      await store.set('long', long, 60_000);
      const first = await store.get('short');
      // Only meaningful when the machine was quick enough to read before the TTL ran out.
      if (Date.now() - started < ttlMs / 2) expectSameRecord(first, short);
      let gone = false;
      while (Date.now() - started < maxWaitMs) {
        if ((await store.get('short')) === undefined) {
          gone = true;
          break;
        }
        await sleep(Math.max(10, Math.floor(ttlMs / 5)));
      }
      expect(gone).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(ttlMs - 5);
      expectSameRecord(await store.get('long'), long);
    });

    it('keeps keys with unicode, colons, braces, spaces and great length apart', async () => {
      const keys = [
        'GET:https://example.com/api/items?page=2',
        'GET:https://example.com/api/items?page=2:',
        'Key',
        'key',
        '\u043a\u043b\u044e\u0447/\u65e5\u672c/\ud83d\ude00',
        '{tag}:a:{b}',
        '{}',
        'with space\tand tab',
        'slash/and\\backslash',
        'x'.repeat(4096),
        'x'.repeat(4095) + 'y',
        '',
      ];
      for (const [i, key] of keys.entries()) {
        await store.set(key, entry(key, { status: 200 + i }), 60_000);
      }
      for (const [i, key] of keys.entries()) {
        expectSameRecord(await store.get(key), entry(key, { status: 200 + i }));
      }
    });

    it('handles concurrent sets of distinct keys', async () => {
      const keys = Array.from({ length: 64 }, (_, i) => `conc:${i}`);
      await Promise.all(
        keys.map(async (key, i) => {
          await store.set(key, entry(key, { body: incompressibleBytes(1024, i + 1) }), 60_000);
        }),
      );
      const got = await Promise.all(keys.map(async (key) => await store.get(key)));
      got.forEach((record, i) => {
        expectSameRecord(record, entry(keys[i]!, { body: incompressibleBytes(1024, i + 1) }));
      });
    });

    it('leaves one whole record after concurrent sets of the same key', async () => {
      const candidates = Array.from({ length: 16 }, (_, i) =>
        entry('race', { status: 200 + i, body: incompressibleBytes(8 * 1024, i + 1) }),
      );
      await Promise.all(
        candidates.map(async (record) => {
          await store.set('race', record, 60_000);
        }),
      );
      const got = await store.get('race');
      expect(got?.kind).toBe('response');
      const match = candidates.find((c) => got?.kind === 'response' && c.status === got.status);
      expect(match).toBeDefined();
      expectSameRecord(got, match!);
    });

    it('scans keys by glob when it supports scan', async () => {
      if (!store.scan) {
        expect(typeof store.scan).toBe('undefined');
        return;
      }
      const keys = ['scan:a:1', 'scan:a:2', 'scan:b:1', 'scan:[x]', 'scan:*', 'other:a:1'];
      for (const key of keys) await store.set(key, entry(key), 60_000);
      const collect = async (match: string, batchSize?: number) => {
        const found = new Set<string>();
        for await (const key of store.scan!(match, batchSize)) found.add(key);
        return [...found].sort();
      };
      expect(await collect('scan:a:*')).toEqual(['scan:a:1', 'scan:a:2']);
      expect(await collect('scan:?:1')).toEqual(['scan:a:1', 'scan:b:1']);
      // Only `*`, `?` and `\\` are special: brackets match themselves.
      expect(await collect('scan:[x]*')).toEqual(['scan:[x]']);
      expect(await collect('scan:\\*')).toEqual(['scan:*']);
      expect(await collect('*', 2)).toEqual([...keys].sort());
      expect(await collect('nothing:*')).toEqual([]);
    });

    it('reads a corrupt value as undefined', async () => {
      if (!subject.writeRaw) {
        // A store that keeps objects, not bytes, cannot hold a corrupt value.
        expect(subject.readRaw === undefined).toBe(true);
        return;
      }
      const corrupt: Uint8Array[] = [
        new Uint8Array(0),
        new Uint8Array([0]),
        new TextEncoder().encode('not a cache record'),
        new TextEncoder().encode(JSON.stringify(entry('corrupt'))),
        incompressibleBytes(300, 7),
      ];
      for (const bytes of corrupt) {
        await subject.writeRaw('corrupt', bytes);
        expect(await store.get('corrupt')).toBeUndefined();
      }
      if (subject.readRaw) {
        const record = entry('valid', { body: incompressibleBytes(2048, 3) });
        await store.set('valid', record, 60_000);
        const raw = await subject.readRaw('valid');
        expect(raw).toBeDefined();
        for (const cut of [1, 4, 8, Math.floor(raw!.length / 2), raw!.length - 1]) {
          await subject.writeRaw('truncated', raw!.subarray(0, cut));
          expect(await store.get('truncated')).toBeUndefined();
        }
      }
    });

    it('reads a record stored for another key (foreign) as undefined', async () => {
      if (!subject.writeRaw || !subject.readRaw) {
        expect(subject.writeRaw === undefined || subject.readRaw === undefined).toBe(true);
        return;
      }
      await store.set('owner', entry('owner'), 60_000);
      const raw = await subject.readRaw('owner');
      expect(raw).toBeDefined();
      await subject.writeRaw('intruder', raw!);
      expect(await store.get('intruder')).toBeUndefined();
      expectSameRecord(await store.get('owner'), entry('owner'));
    });
  });
}

/** Asserts two records are equal, comparing bodies byte by byte whatever their array type. */
export function expectSameRecord(actual: StoredRecord | undefined, expected: StoredRecord): void {
  expect(actual).toBeDefined();
  if (!actual) return;
  if (expected.kind === 'vary' || actual.kind === 'vary') {
    expect(actual).toEqual(expected);
    return;
  }
  const { body: actualBody, ...actualRest } = actual;
  const { body: expectedBody, ...expectedRest } = expected;
  expect(actualRest).toEqual(expectedRest);
  expect(actualBody).toBeInstanceOf(Uint8Array);
  expect(actualBody.byteLength).toBe(expectedBody.byteLength);
  expect(bytesEqual(actualBody, expectedBody)).toBe(true);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
