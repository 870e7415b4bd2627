import { describe, expect, it } from 'vitest';
import { createHttpCache } from '../src/engine.ts';
import { Interner, isShared } from '../src/intern.ts';
import { createMemoryStore, sizeOfRecord, type MemoryStore } from '../src/memory-store.ts';
import type { Origin } from '../src/origin.ts';
import { createResizableMemoryStore } from '../src/sizing/index.ts';
import {
  createManualClock,
  expectSameRecord,
  incompressibleBytes,
  makeEntry,
} from '../src/testing/index.ts';
import type { CacheEntry, HeaderList } from '../src/types.ts';

const MiB = 1024 * 1024;
const clock = createManualClock();

/** An entry shaped like the engine's: shared fields, a date, an ETag of its own. */
function entryOf(key: string, bodyBytes = 1000, seed = key.length + 1): CacheEntry {
  const body = incompressibleBytes(bodyBytes, seed);
  const headers: HeaderList = [
    ['content-type', 'application/json; charset=utf-8'],
    ['cache-control', 'public, max-age=3600'],
    ['date', 'Thu, 26 Nov 2026 15:33:13 GMT'],
    // Built by concatenation, as the engine builds its ETags.
    ['etag', `"${bodyBytes.toString(16)}-` + `${key}-${seed}"`],
  ];
  return makeEntry(key, { body, headers, tags: ['products', `group-${seed % 3}`] }, clock.now());
}

/**
 * What the store accounts for must add up: records, shared parts and free slab space. Every
 * record is read first, which decodes the encoded ones and keeps their entries as far as
 * `maxDecodedBytes` goes (which may evict some records to stay within bounds). A record whose
 * entry is kept (or that is kept as an object) is charged what `sizeOfRecord` says of it; one
 * kept encoded only, less.
 */
function expectHonestAccounting(store: MemoryStore): void {
  for (const key of [...store.keys()]) store.get(key);
  let records = 0;
  for (const key of [...store.keys()]) {
    const charged = store.bytesOf(key);
    const record = store.peek(key)!;
    // peek hands out the entry kept for a record, or one decoded afresh when none is kept.
    if (store.peek(key) === record) expect(charged).toBe(sizeOfRecord(key, record));
    else expect(charged).toBeLessThan(sizeOfRecord(key, record));
    records += charged;
  }
  const footprint = store.footprint;
  expect(records).toBe(footprint.records);
  expect(footprint.decoded).toBeGreaterThanOrEqual(0);
  expect(footprint.decoded).toBeLessThanOrEqual(store.maxDecodedBytes);
  expect(store.bytes).toBe(footprint.records + footprint.shared + footprint.slabFree);
  expect(store.bytes).toBeLessThanOrEqual(store.maxBytes);
  expect(footprint.slabFree).toBeGreaterThanOrEqual(0);
  expect(footprint.slabFree).toBeLessThanOrEqual(footprint.slabs);
}

/** A deterministic sequence in [0, 1). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('memory store: compact records', () => {
  it('returns what was stored, the same object on every hit, the body in a shared slab', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const originals = new Map<string, CacheEntry>();
    for (let i = 0; i < 200; i++) {
      const key = `gc1:default:api.test/items?id=${i}`;
      originals.set(key, entryOf(key));
      store.set(key, originals.get(key)!, 60_000);
    }
    for (const [key, original] of originals) {
      const stored = store.get(key);
      expectSameRecord(stored, original);
      // A hit hands out the stored record itself: nothing is decoded or allocated for it.
      expect(store.get(key)).toBe(stored);
      const body = (stored as CacheEntry).body;
      expect(body.buffer.byteLength).toBeGreaterThan(body.byteLength);
    }
    const first = store.get('gc1:default:api.test/items?id=0') as CacheEntry;
    const second = store.get('gc1:default:api.test/items?id=1') as CacheEntry;
    expect(first.body.buffer).toBe(second.body.buffer);
  });

  it('keeps a Buffer body a Buffer and a Uint8Array body a Uint8Array', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const asBuffer = { ...entryOf('b'), body: Buffer.from(incompressibleBytes(500, 7)) };
    const asBytes = { ...entryOf('u'), body: incompressibleBytes(500, 8) };
    store.set('b', asBuffer, 60_000);
    store.set('u', asBytes, 60_000);
    expect(Buffer.isBuffer((store.get('b') as CacheEntry).body)).toBe(true);
    expect(Buffer.isBuffer((store.get('u') as CacheEntry).body)).toBe(false);
    expectSameRecord(store.get('b'), asBuffer);
    expectSameRecord(store.get('u'), asBytes);
  });

  it('shares repeated header fields, flags and tag sets, and gives them back with the last record', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    store.set('a', entryOf('a', 1000, 3), 60_000);
    store.set('b', entryOf('b', 1000, 6), 60_000);
    const a = store.get('a') as CacheEntry;
    const b = store.get('b') as CacheEntry;
    expect(a.headers[0]).toBe(b.headers[0]);
    expect(a.headers[2]).toBe(b.headers[2]);
    // The ETag is particular to each response: never shared.
    expect(a.headers[3]).not.toBe(b.headers[3]);
    expect(a.flags).toBe(b.flags);
    expect(a.tags).toBe(b.tags);
    const shared = store.footprint.shared;
    expect(shared).toBeGreaterThan(0);
    store.delete('a');
    expect(store.footprint.shared).toBe(shared);
    store.delete('b');
    expect(store.footprint.shared).toBe(0);
    expectHonestAccounting(store);
  });

  it('charges an encoded record its bytes until it is read, then what its entry holds too', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const entry = entryOf('k');
    store.set('k', entry, 60_000);
    // Encoded: body, header text and time fields in the slab, the key and the LRU slot.
    const encoded = store.footprint.records;
    expect(encoded).toBeGreaterThan(1000 + 200);
    expect(encoded).toBeLessThan(1000 + 350);
    const first = store.get('k');
    // Read: the entry object, its boxed numbers, the body view, the decoded ETag field.
    const decoded = store.footprint.records;
    expect(decoded - encoded).toBeGreaterThan(450);
    expect(decoded).toBe(sizeOfRecord('k', first!));
    // Later reads hand out the same entry and cost nothing more.
    expect(store.get('k')).toBe(first);
    expect(store.footprint.records).toBe(decoded);
  });

  it('peek decodes without keeping: no recency change, no charge; get keeps what it decodes', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB, maxEntries: 2 });
    store.set('a', entryOf('a'), 60_000);
    store.set('b', entryOf('b'), 60_000);
    const records = store.footprint.records;
    const peeked = store.peek('a');
    expectSameRecord(peeked, entryOf('a'));
    expect(store.peek('a')).not.toBe(peeked);
    expect(store.footprint.records).toBe(records);
    // "a" is still the least recently used: a third record pushes it out.
    store.set('c', entryOf('c'), 60_000);
    expect(store.peek('a')).toBeUndefined();
    expect(store.get('b')).toBe(store.get('b'));
  });

  it('round-trips wide and lone-surrogate header values and a key of its own', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const record = makeEntry(
      'stored-under',
      {
        headers: [
          ['x-wide', '\u4e16\u754c and caf\u00e9'],
          ['x-lone', 'a\ud800b'],
          ['x-latin1', '\u00ff\u0080\u00a0'],
          ['x-empty', ''],
        ],
        body: incompressibleBytes(300, 9),
        status: 299,
        initialAge: 0.125,
      },
      clock.now(),
    );
    const own = { ...record, key: 'gc1:default:\u00e9t\u00e9/\u4e16' };
    store.set('stored-under', own, 60_000);
    expect(store.footprint.slabs).toBeGreaterThan(0);
    expectSameRecord(store.peek('stored-under'), own);
    expectSameRecord(store.get('stored-under'), own);
    expectHonestAccounting(store);
  });

  it('keeps tags particular to each record with the record once the shared table is full', () => {
    const store = createMemoryStore({ clock, maxBytes: 4 * MiB, maxEntries: 100_000 });
    const originals: CacheEntry[] = [];
    for (let i = 0; i < 1500; i++) {
      const key = `k${i}`;
      const record = makeEntry(
        key,
        { body: incompressibleBytes(500, i + 1), tags: ['products', `product:${i}`, 't\u00e4g'] },
        clock.now(),
      );
      originals.push(record);
      store.set(key, record, 60_000);
    }
    const first = store.get('k0') as CacheEntry;
    const last = store.get('k1499') as CacheEntry;
    expect(isShared(first.tags)).toBe(true);
    expect(isShared(last.tags)).toBe(false);
    expect(last.body.buffer.byteLength).toBeGreaterThan(last.body.byteLength);
    expect(store.size).toBe(1500);
    for (const [i, record] of originals.entries()) expectSameRecord(store.peek(`k${i}`), record);
    expectHonestAccounting(store);
  });

  it('hands onEvict a decoded record when the callback takes one', () => {
    const withRecord: Array<[string, CacheEntry]> = [];
    const keysOnly: string[] = [];
    const a = createMemoryStore({
      clock,
      maxBytes: 8 * MiB,
      maxEntries: 1,
      onEvict: (key, record) => withRecord.push([key, record as CacheEntry]),
    });
    const b = createMemoryStore({
      clock,
      maxBytes: 8 * MiB,
      maxEntries: 1,
      onEvict: (key) => keysOnly.push(key),
    });
    for (const store of [a, b]) {
      store.set('first', entryOf('first'), 60_000);
      store.set('second', entryOf('second'), 60_000);
    }
    expect(withRecord.map(([key]) => key)).toEqual(['first']);
    expectSameRecord(withRecord[0]![1], entryOf('first'));
    expect(keysOnly).toEqual(['first']);
  });

  it('keeps records as objects in a store too small for slabs', () => {
    const store = createMemoryStore({ clock, maxBytes: 1 * MiB });
    const entry = entryOf('k');
    store.set('k', entry, 60_000);
    expect(store.footprint.slabs).toBe(0);
    const stored = store.get('k') as CacheEntry;
    expect(stored.body.buffer.byteLength).toBe(1000);
    expectSameRecord(stored, entry);
    expect(store.footprint.records).toBe(sizeOfRecord('k', stored));
  });

  it('stays within maxBytes and accounts for every byte under churn: sets, replacements, deletes', () => {
    const store = createMemoryStore({ clock, maxBytes: 4 * MiB, maxEntries: 100_000 });
    const next = random(42);
    let evicted = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) {
        const id = Math.floor(next() * 6000);
        const key = `k${id}`;
        if (next() < 0.2) store.delete(key);
        else store.set(key, entryOf(key, 200 + Math.floor(next() * 3000), id + 1), 60_000);
      }
      expectHonestAccounting(store);
      evicted = store.evictions;
    }
    expect(evicted).toBeGreaterThan(0);
    store.clear();
    expect(store.size).toBe(0);
    expect(store.bytes).toBe(0);
    expect(store.footprint).toEqual({
      records: 0,
      decoded: 0,
      shared: 0,
      slabFree: 0,
      slabs: 0,
      spare: 0,
    });
  });

  it('writes over an emptied slab none of whose bodies was read; bodies handed out keep their bytes', () => {
    // 32 KiB slabs: some 25 records each, so overfilling the store empties a slab every few sets.
    const store = createMemoryStore({ clock, maxBytes: 4 * MiB, maxEntries: 100_000 });
    const originals = new Map<string, CacheEntry>();
    const handedOut: Array<{ key: string; body: Uint8Array }> = [];
    let spareSeen = false;
    for (let i = 0; i < 20_000; i++) {
      const key = `k${i}`;
      originals.set(key, entryOf(key, 800 + (i % 5) * 100, i + 1));
      store.set(key, originals.get(key)!, 60_000);
      // A hit now and then: its body is being written to a socket while the store churns on.
      if (i % 997 === 0) handedOut.push({ key, body: (store.get(key) as CacheEntry).body });
      spareSeen ||= store.footprint.spare > 0;
    }
    expect(store.evictions).toBeGreaterThan(15_000);
    expect(spareSeen).toBe(true);
    expect(store.footprint.spare).toBeLessThanOrEqual(32 * 1024);
    // Records written over reused slabs read back whole, and nothing handed out changed.
    for (const key of [...store.keys()]) expectSameRecord(store.peek(key), originals.get(key)!);
    for (const { key, body } of handedOut) {
      expect(Buffer.compare(body, originals.get(key)!.body)).toBe(0);
    }
    expectHonestAccounting(store);
  });

  it('gives the slab space of evicted and deleted records back and drops emptied slabs', () => {
    const store = createMemoryStore({ clock, maxBytes: 4 * MiB, maxEntries: 100_000 });
    for (let i = 0; i < 5000; i++) store.set(`k${i}`, entryOf(`k${i}`, 1000, i + 1), 60_000);
    expect(store.evictions).toBeGreaterThan(0);
    const full = store.footprint;
    expect(full.slabs).toBeGreaterThan(0);
    // Slabs hold bodies with little left over.
    expect(full.slabFree).toBeLessThan(full.slabs / 4);
    for (const key of [...store.keys()]) store.delete(key);
    const empty = store.footprint;
    expect(empty.records).toBe(0);
    expect(empty.shared).toBe(0);
    // Only the slab being filled is kept.
    expect(empty.slabs).toBeLessThanOrEqual(32 * 1024);
    expect(empty.slabFree).toBe(empty.slabs);
  });

  it('moves live bodies out of fragmented slabs; views handed out earlier keep their bytes', () => {
    const store = createMemoryStore({ clock, maxBytes: 16 * MiB, maxEntries: 100_000 });
    const originals = new Map<string, CacheEntry>();
    for (let i = 0; i < 8000; i++) {
      const key = `k${i}`;
      originals.set(key, entryOf(key, 1000, i + 1));
      store.set(key, originals.get(key)!, 60_000);
    }
    // Bodies handed out (a hit being written to a socket) before the store rearranges them.
    const handedOut = [1, 2, 3, 4, 5].map((i) => (store.get(`k${i}`) as CacheEntry).body);
    const slabsBefore = store.footprint.slabs;
    // Three of every four records go: every slab is left three-quarters dead.
    for (let i = 0; i < 8000; i++) if (i % 4 !== 0) store.delete(`k${i}`);
    expect(store.footprint.slabFree).toBeGreaterThan(slabsBefore / 2);
    store.set('trigger', entryOf('trigger'), 60_000);
    const after = store.footprint;
    expect(after.slabs).toBeLessThan(slabsBefore / 2);
    expect(after.slabFree).toBeLessThan(after.slabs / 4);
    for (let i = 0; i < 8000; i += 4) expectSameRecord(store.get(`k${i}`), originals.get(`k${i}`)!);
    handedOut.forEach((view, index) => {
      expect(Buffer.compare(view, originals.get(`k${index + 1}`)!.body)).toBe(0);
    });
    expectHonestAccounting(store);
  });

  it('keeps a body too large for a slab in an ArrayBuffer of exactly its size', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const large = entryOf('large', 200_000);
    store.set('large', large, 60_000);
    const body = (store.get('large') as CacheEntry).body;
    expect(body.buffer.byteLength).toBe(200_000);
    expectSameRecord(store.get('large'), large);
    // A small store keeps bodies outside slabs, but never a pooled Buffer's whole pool.
    const tiny = createMemoryStore({ clock, maxBytes: 64 * 1024 });
    const pooled = { ...entryOf('p', 100), body: Buffer.from('a small body from the pool') };
    expect(pooled.body.buffer.byteLength).toBeGreaterThan(pooled.body.byteLength);
    tiny.set('p', pooled, 60_000);
    const kept = (tiny.get('p') as CacheEntry).body;
    expect(kept.buffer.byteLength).toBe(kept.byteLength);
    expectSameRecord(tiny.get('p'), pooled);
  });

  it('keeps the envelope version and the key a record was written with', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const other = { ...entryOf('k'), v: 2 } as unknown as CacheEntry;
    store.set('k', other, 60_000);
    expect((store.get('k') as CacheEntry).v).toBe(2);
    store.set('f', { ...entryOf('f'), key: 'gc1:default:other' }, 60_000);
    expect((store.get('f') as CacheEntry).key).toBe('gc1:default:other');
    expectHonestAccounting(store);
  });

  it('refuses a record over maxEntryBytes and gives back what was taken for it', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB, maxEntryBytes: 4000 });
    store.set('ok', entryOf('ok', 1000), 60_000);
    const before = store.footprint;
    store.set('big', entryOf('big', 5000), 60_000);
    expect(store.get('big')).toBeUndefined();
    expect(store.footprint.records).toBe(before.records);
    expect(store.footprint.shared).toBe(before.shared);
    expectHonestAccounting(store);
  });

  it('serves the engine its stored entries: a hit reaches no origin and replays body and fields', async () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB });
    const cache = createHttpCache({ clock, store, ttl: 60 });
    let calls = 0;
    const sent: Uint8Array[] = [];
    const origin: Origin = async (call) => {
      calls++;
      const body = new TextEncoder().encode(JSON.stringify({ call: calls, pad: 'x'.repeat(900) }));
      sent.push(body);
      const headers: HeaderList = [
        ['content-type', 'application/json'],
        ['x-origin', `call-${calls}`],
      ];
      const action = call.head(200, headers, body);
      await Promise.resolve();
      return { status: 200, headers, body: action.capture ? body : undefined, complete: true };
    };
    const request = { method: 'GET', url: '/items/1', host: 'api.test', headers: {} };
    await cache.handle(request, origin);
    const hit = await cache.handle(request, origin);
    const again = await cache.handle(request, origin);
    expect(calls).toBe(1);
    expect(hit.type).toBe('send');
    expect(again.type).toBe('send');
    if (hit.type !== 'send' || again.type !== 'send') return;
    expect(Buffer.compare(hit.response.body!, sent[0]!)).toBe(0);
    const fields = new Map(hit.response.headers);
    expect(fields.get('x-origin')).toBe('call-1');
    expect(fields.get('content-type')).toBe('application/json');
    expect(fields.get('etag')).toMatch(/^"[0-9a-f]+-/);
    expect(new Map(again.response.headers).get('etag')).toBe(fields.get('etag'));
    expect(store.size).toBe(1);
    expectHonestAccounting(store);
  });
});

describe('memory store: decoded entries kept within maxDecodedBytes', () => {
  /** A 16 MiB store (room for all the records these tests store) with the given budget. */
  function storeWith(maxDecodedBytes: number): MemoryStore {
    return createMemoryStore({ clock, maxBytes: 16 * MiB, maxEntries: 100_000, maxDecodedBytes });
  }

  function fill(store: Pick<MemoryStore, 'set'>, count: number): Map<string, CacheEntry> {
    const originals = new Map<string, CacheEntry>();
    for (let i = 0; i < count; i++) {
      const key = `k${i}`;
      originals.set(key, entryOf(key, 1000, i + 1));
      store.set(key, originals.get(key)!, 60_000);
    }
    return originals;
  }

  it('defaults to 4 MiB or an eighth of maxBytes, and takes 0 up to maxBytes', () => {
    expect(createMemoryStore({ maxBytes: 16 * MiB }).maxDecodedBytes).toBe(2 * MiB);
    expect(createMemoryStore({ maxBytes: 1024 * MiB }).maxDecodedBytes).toBe(4 * MiB);
    expect(createMemoryStore({ maxBytes: 8 * MiB, maxDecodedBytes: 0 }).maxDecodedBytes).toBe(0);
    expect(() => createMemoryStore({ maxBytes: 4 * MiB, maxDecodedBytes: 8 * MiB })).toThrow(
      /maxDecodedBytes/,
    );
    expect(() => createMemoryStore({ maxDecodedBytes: -1 })).toThrow(/maxDecodedBytes/);
    expect(() => createMemoryStore({ maxDecodedBytes: 1.5 })).toThrow(/maxDecodedBytes/);
  });

  it('reading every record adds at most maxDecodedBytes to what the records are charged', () => {
    const budget = 256 * 1024;
    const store = storeWith(budget);
    const originals = fill(store, 3000);
    const encoded = store.footprint.records;
    expect(store.footprint.decoded).toBe(0);
    for (const [key, original] of originals) expectSameRecord(store.get(key), original);
    const read = store.footprint;
    // Every record is still there, most of them encoded only.
    expect(store.size).toBe(3000);
    expect(store.evictions).toBe(0);
    expect(read.decoded).toBeLessThanOrEqual(budget);
    // Full, or nearly: the room left is less than one more entry.
    expect(read.decoded).toBeGreaterThan(budget - 1000);
    expect(read.records).toBe(encoded + read.decoded);
    // Keeping every entry would have cost well over the budget.
    let all = 0;
    for (const [key] of originals) all += sizeOfRecord(key, store.peek(key)!);
    expect(all - encoded).toBeGreaterThan(4 * budget);
    expectHonestAccounting(store);
  });

  it('a key read again and again stays decoded while reads of other keys come and go', () => {
    const store = storeWith(64 * 1024);
    const originals = fill(store, 3000);
    const hot = store.get('k0');
    const once = store.get('k1');
    expectSameRecord(hot, originals.get('k0')!);
    for (let i = 2; i < 3000; i++) {
      expectSameRecord(store.get(`k${i}`), originals.get(`k${i}`)!);
      // The hot key is read once for every 20 others: the same entry, never decoded again.
      if (i % 20 === 0) expect(store.get('k0')).toBe(hot);
    }
    expect(store.get('k0')).toBe(hot);
    // A key read once, thousands of reads ago, was let go: decoded again, the same bytes.
    const again = store.get('k1');
    expect(again).not.toBe(once);
    expectSameRecord(again, originals.get('k1')!);
    // And kept again from then on.
    expect(store.get('k1')).toBe(again);
    expectHonestAccounting(store);
  });

  it('keeps nothing decoded with maxDecodedBytes 0: every read decodes, reads cost nothing', () => {
    const store = createMemoryStore({ clock, maxBytes: 8 * MiB, maxDecodedBytes: 0 });
    const originals = fill(store, 100);
    const before = store.footprint;
    for (const [key, original] of originals) {
      const first = store.get(key);
      const second = store.get(key);
      expect(second).not.toBe(first);
      expectSameRecord(first, original);
      expectSameRecord(second, original);
    }
    expect(store.footprint).toEqual(before);
    expect(store.footprint.decoded).toBe(0);
    expectHonestAccounting(store);
  });

  it('gives back the decoded bytes of records deleted, replaced and evicted', () => {
    const evicted: Array<[string, CacheEntry]> = [];
    const store = createMemoryStore({
      clock,
      maxBytes: 16 * MiB,
      maxEntries: 200,
      maxDecodedBytes: 32 * 1024,
      onEvict: (key, record) => evicted.push([key, record as CacheEntry]),
    });
    const originals = fill(store, 200);
    for (const key of originals.keys()) store.get(key);
    expect(store.footprint.decoded).toBeGreaterThan(0);
    // Delete and replace records whose entries are kept (the last read) and let go (the first).
    for (const i of [0, 1, 198, 199]) store.delete(`k${i}`);
    const replaced = entryOf('k197', 1500, 9999);
    store.set('k197', replaced, 60_000);
    store.set('k2', replaced, 60_000);
    expectSameRecord(store.get('k197'), replaced);
    expectSameRecord(store.get('k2'), replaced);
    expectHonestAccounting(store);
    // 200 new records push out the older ones, kept decoded or not; onEvict gets each intact.
    for (let i = 200; i < 400; i++) store.set(`k${i}`, entryOf(`k${i}`, 1000, i + 1), 60_000);
    expect(evicted.length).toBe(196);
    for (const [key, record] of evicted) {
      expectSameRecord(record, key === 'k197' || key === 'k2' ? replaced : originals.get(key)!);
    }
    // None of the records read before is left: nothing decoded is kept, nothing charged for it.
    expect(store.footprint.decoded).toBe(0);
    expectHonestAccounting(store);
    for (const key of [...store.keys()]) store.delete(key);
    expect(store.footprint.records).toBe(0);
    expect(store.footprint.decoded).toBe(0);
  });

  it('moves records out of fragmented slabs, entries kept or let go, and reads them back intact', () => {
    const store = storeWith(128 * 1024);
    const originals = fill(store, 8000);
    for (const key of originals.keys()) store.get(key);
    // Read last, the first records (in the first slab) have their entries kept.
    const kept = [0, 4, 8].map((i) => store.get(`k${i}`) as CacheEntry);
    const bodies = kept.map((entry) => entry.body);
    const slabsBefore = store.footprint.slabs;
    for (let i = 0; i < 8000; i++) if (i % 4 !== 0) store.delete(`k${i}`);
    store.set('trigger', entryOf('trigger'), 60_000);
    expect(store.footprint.slabs).toBeLessThan(slabsBefore / 2);
    kept.forEach((entry, n) => {
      // Still kept: the same entry, now with a view on the record's new place, same bytes.
      expect(store.get(`k${n * 4}`)).toBe(entry);
      expect(entry.body.buffer).not.toBe(bodies[n]!.buffer);
      expectSameRecord(entry, originals.get(`k${n * 4}`)!);
      expect(Buffer.compare(bodies[n]!, entry.body)).toBe(0);
    });
    for (let i = 0; i < 8000; i += 4) expectSameRecord(store.get(`k${i}`), originals.get(`k${i}`)!);
    expect(store.footprint.decoded).toBeLessThanOrEqual(128 * 1024);
    expectHonestAccounting(store);
  });

  it('a resized store keeps a configured maxDecodedBytes within its new size', () => {
    const store = createResizableMemoryStore({
      clock,
      maxBytes: 64 * MiB,
      maxEntries: 100_000,
      maxDecodedBytes: 8 * MiB,
    });
    const originals = fill(store, 500);
    for (const key of originals.keys()) store.get(key);
    store.resize(4 * MiB);
    expect(store.maxBytes).toBe(4 * MiB);
    expect(store.size).toBe(500);
    for (const [key, original] of originals) expectSameRecord(store.get(key), original);
    expect(store.bytes).toBeLessThanOrEqual(4 * MiB);
  });
});

describe('interner', () => {
  it('keeps sharing fields after its table fills up, and never shares ETags', () => {
    const interner = new Interner(8);
    const shared = (): HeaderList => [['content-type', 'application/json']];
    const first = interner.headers(shared())[0];
    // Fill the table with one-off values well past its limit.
    for (let i = 0; i < 100; i++) interner.headers([['x-one-off', `v${i}`]]);
    const again = interner.headers(shared())[0];
    expect(interner.headers(shared())[0]).toBe(again);
    expect(again).toEqual(first);
    const etag: [string, string] = ['etag', '"abc"'];
    expect(interner.headers([etag])[0]).toBe(etag);
    expect(interner.headers([['etag', '"abc"']])[0]).not.toBe(etag);
  });
});
