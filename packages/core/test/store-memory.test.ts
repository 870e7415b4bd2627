import { describe, expect, it } from 'vitest';
import { createMemoryStore, RECORD_OVERHEAD_BYTES, sizeOfRecord } from '../src/memory-store.ts';
import {
  createManualClock,
  expectSameRecord,
  incompressibleBytes,
  makeEntry,
  runStoreConformance,
} from '../src/testing/index.ts';
import type { StoredRecord } from '../src/types.ts';

runStoreConformance('memory', () => {
  const clock = createManualClock();
  return { store: createMemoryStore({ clock }), clock };
});

describe('memory store bounds', () => {
  const clock = createManualClock();
  const entryOf = (key: string, bodyBytes: number) =>
    makeEntry(key, { body: incompressibleBytes(bodyBytes, key.length + 1) }, clock.now());

  it('never holds more than maxEntries records', () => {
    const store = createMemoryStore({ maxEntries: 10, clock });
    for (let i = 0; i < 100; i++) {
      store.set(`k${i}`, entryOf(`k${i}`, 10), 60_000);
      expect(store.size).toBeLessThanOrEqual(10);
    }
    expect(store.size).toBe(10);
    expect(store.evictions).toBe(90);
    // The most recent ten survive.
    for (let i = 90; i < 100; i++) expect(store.get(`k${i}`)).toBeDefined();
    expect(store.get('k89')).toBeUndefined();
  });

  it('never holds more than maxBytes', () => {
    const maxBytes = 64 * 1024;
    const store = createMemoryStore({ maxBytes, clock });
    let largest = 0;
    for (let i = 0; i < 200; i++) {
      store.set(`b${i}`, entryOf(`b${i}`, 1000 + (i % 7) * 500), 60_000);
      largest = Math.max(largest, store.bytes);
      expect(store.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(largest).toBeGreaterThan(maxBytes / 2);
    expect(store.evictions).toBeGreaterThan(0);
    let counted = 0;
    // Snapshot the keys first: a get moves its key to the front while the iterator walks.
    for (const key of [...store.keys()]) counted += sizeOfRecord(key, store.get(key)!);
    const footprint = store.footprint;
    expect(counted).toBe(footprint.records);
    expect(store.bytes).toBe(footprint.records + footprint.shared + footprint.slabFree);
  });

  it('evicts the least recently used record first', () => {
    const store = createMemoryStore({ maxEntries: 3, clock });
    store.set('a', entryOf('a', 1), 60_000);
    store.set('b', entryOf('b', 1), 60_000);
    store.set('c', entryOf('c', 1), 60_000);
    // Reading "a" makes "b" the least recently used.
    expect(store.get('a')).toBeDefined();
    store.set('d', entryOf('d', 1), 60_000);
    expect(store.get('b')).toBeUndefined();
    expect([...store.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect([...store.keys()][0]).toBe('d');
  });

  it('reports each eviction to onEvict with the key and record', () => {
    const evicted: Array<[string, StoredRecord]> = [];
    const store = createMemoryStore({
      maxEntries: 2,
      clock,
      onEvict: (key, record) => evicted.push([key, record]),
    });
    store.set('a', entryOf('a', 1), 60_000);
    store.set('b', entryOf('b', 1), 60_000);
    store.set('a', entryOf('a', 2), 60_000); // replacement, not an eviction
    store.delete('b'); // deletion, not an eviction
    store.set('c', entryOf('c', 1), 60_000);
    store.set('d', entryOf('d', 1), 60_000);
    expect(evicted.map(([key]) => key)).toEqual(['a']);
    expectSameRecord(evicted[0]![1], entryOf('a', 2));
    expect(store.evictions).toBe(1);
  });

  it('refuses a record larger than maxEntryBytes and keeps the rest', () => {
    const store = createMemoryStore({ maxBytes: 100_000, maxEntryBytes: 5_000, clock });
    store.set('small', entryOf('small', 1_000), 60_000);
    store.set('big', entryOf('big', 5_000), 60_000);
    expect(store.get('big')).toBeUndefined();
    expect(store.get('small')).toBeDefined();
    expect(store.size).toBe(1);
    expect(store.evictions).toBe(0);
  });

  it('defaults maxEntryBytes to a tenth of maxBytes', () => {
    const store = createMemoryStore({ maxBytes: 100_000, clock });
    store.set('fits', entryOf('fits', 10_000 - RECORD_OVERHEAD_BYTES - 1_000), 60_000);
    store.set('too-big', entryOf('too-big', 10_001), 60_000);
    expect(store.get('fits')).toBeDefined();
    expect(store.get('too-big')).toBeUndefined();
  });

  it('ignores a non-positive TTL', () => {
    const store = createMemoryStore({ clock });
    store.set('zero', entryOf('zero', 1), 0);
    store.set('negative', entryOf('negative', 1), -5);
    expect(store.size).toBe(0);
  });

  it('reports the remaining TTL from the injected clock', () => {
    const store = createMemoryStore({ clock });
    store.set('t', entryOf('t', 1), 10_000);
    clock.advance(4_000);
    expect(store.remainingTtl('t')).toBe(6_000);
    expect(store.remainingTtl('absent')).toBe(0);
  });

  it('rejects invalid bounds naming the option', () => {
    expect(() => createMemoryStore({ maxBytes: 10 })).toThrow(/maxBytes/);
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => createMemoryStore({ maxBytes: 2048, maxEntryBytes: 4096 })).toThrow(
      /maxEntryBytes/,
    );
  });
});
