import { afterEach, describe, expect, it } from 'vitest';
import type { GatecacheError } from '../src/errors.ts';
import { createMemoryStore } from '../src/memory-store.ts';
import { withResilience } from '../src/resilient-store.ts';
import {
  createFaultyStore,
  createManualClock,
  expectSameRecord,
  makeEntry,
  makeVaryRecord,
  runStoreConformance,
  type FaultyStore,
} from '../src/testing/index.ts';
import { createTieredStore } from '../src/tiered-store.ts';
import type { LayerName } from '../src/types.ts';

runStoreConformance('tiered(memory+memory)', () => {
  const clock = createManualClock();
  return {
    store: createTieredStore({
      l1: createMemoryStore({ clock }),
      l2: createMemoryStore({ clock }),
      clock,
    }),
    clock,
  };
});

describe('tiered store', () => {
  const faulties: FaultyStore[] = [];
  const setup = () => {
    const clock = createManualClock();
    const memory1 = createMemoryStore({ clock });
    const memory2 = createMemoryStore({ clock });
    const l1 = createFaultyStore(memory1, 'l1');
    const l2 = createFaultyStore(memory2, 'l2');
    faulties.push(l1, l2);
    const errors: Array<[string, LayerName, string]> = [];
    const store = createTieredStore({
      l1,
      l2,
      clock,
      onError: (error: GatecacheError, layer, operation) =>
        errors.push([error.code, layer, operation]),
    });
    const entry = (key: string) => makeEntry(key, {}, clock.now());
    return { clock, memory1, memory2, l1, l2, store, errors, entry };
  };

  afterEach(() => {
    for (const faulty of faulties.splice(0)) faulty.release();
  });

  it('answers from L1 without asking L2', async () => {
    const { store, l2, entry } = setup();
    await store.set('k', entry('k'), 60_000);
    expect(l2.calls.set).toBe(1);
    expectSameRecord(await store.get('k'), entry('k'));
    expect(l2.calls.get).toBe(0);
  });

  it('fills L1 from an L2 hit with the TTL left until deleteAt', async () => {
    const { store, clock, memory1, memory2, entry } = setup();
    const record = entry('k'); // deleteAt = now + 120 s
    memory2.set('k', record, 120_000);
    clock.advance(20_000);
    expectSameRecord(await store.get('k'), record);
    expect(memory1.remainingTtl('k')).toBe(100_000);
    expectSameRecord(memory1.get('k'), record);
  });

  it('fills L1 from L2 with a vary record too', async () => {
    const { store, memory1, memory2, clock } = setup();
    const vary = makeVaryRecord('p', ['accept'], clock.now() + 30_000);
    memory2.set('p', vary, 30_000);
    expect(await store.get('p')).toEqual(vary);
    expect(memory1.remainingTtl('p')).toBe(30_000);
  });

  it('does not fill L1 with a record past its deleteAt', async () => {
    const { store, clock, memory1, memory2, entry } = setup();
    const record = entry('k');
    memory2.set('k', record, 10 * 60_000); // L2 keeps it longer than the record allows
    clock.advance(121_000);
    expect(await store.get('k')).toBeDefined();
    expect(memory1.get('k')).toBeUndefined();
  });

  it('reads and writes only the layers the hints name', async () => {
    const { store, memory1, memory2, l1, l2, entry } = setup();
    await store.set('only1', entry('only1'), 60_000, { layers: ['l1'] });
    expect(memory1.get('only1')).toBeDefined();
    expect(memory2.get('only1')).toBeUndefined();

    await store.set('only2', entry('only2'), 60_000, { layers: ['l2'] });
    expect(memory1.get('only2')).toBeUndefined();
    expect(memory2.get('only2')).toBeDefined();

    // An l2-only read neither consults nor fills L1.
    const l1Gets = l1.calls.get;
    expectSameRecord(await store.get('only2', { layers: ['l2'] }), entry('only2'));
    expect(l1.calls.get).toBe(l1Gets);
    expect(memory1.get('only2')).toBeUndefined();

    // An l1-only read never reaches L2.
    const l2Gets = l2.calls.get;
    expect(await store.get('only2', { layers: ['l1'] })).toBeUndefined();
    expect(l2.calls.get).toBe(l2Gets);

    await store.set('both', entry('both'), 60_000, { layers: ['l1', 'l2'] });
    expect(memory1.get('both')).toBeDefined();
    expect(memory2.get('both')).toBeDefined();
  });

  it('keeps serving from L1 and swallows writes while L2 fails', async () => {
    const { store, l2, memory1, errors, entry } = setup();
    l2.fault = { type: 'reject' };
    await store.set('k', entry('k'), 60_000);
    expect(memory1.get('k')).toBeDefined();
    expectSameRecord(await store.get('k'), entry('k'));
    expect(await store.get('absent')).toBeUndefined();
    await store.delete('k');
    expect(memory1.get('k')).toBeUndefined();
    expect(errors).toEqual([
      ['ERR_STORE', 'l2', 'set'],
      ['ERR_STORE', 'l2', 'get'],
      ['ERR_STORE', 'l2', 'delete'],
    ]);
  });

  it('falls through to L2 when L1 throws', async () => {
    const { store, l1, memory2, entry } = setup();
    memory2.set('k', entry('k'), 60_000);
    l1.fault = { type: 'throw' };
    expectSameRecord(await store.get('k'), entry('k'));
  });

  it('bounds a frozen L2 by the resilience wrapper on writes and reads', async () => {
    const clock = createManualClock();
    const memory1 = createMemoryStore({ clock });
    const frozen = createFaultyStore(createMemoryStore({ clock }));
    faulties.push(frozen);
    frozen.fault = { type: 'hang' };
    const store = createTieredStore({
      l1: memory1,
      l2: withResilience(frozen, { timeoutMs: 30, clock }),
      clock,
    });
    const started = performance.now();
    await store.set('k', makeEntry('k', {}, clock.now()), 60_000);
    expect(await store.get('absent')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(memory1.get('k')).toBeDefined();
  });

  it('deletes and clears both tiers; dropLocal clears only L1', async () => {
    const { store, memory1, memory2, entry } = setup();
    for (const key of ['a', 'b', 'c']) await store.set(key, entry(key), 60_000);
    await store.delete('a');
    expect(memory1.get('a')).toBeUndefined();
    expect(memory2.get('a')).toBeUndefined();

    await store.dropLocal();
    expect(memory1.size).toBe(0);
    expect(memory2.size).toBe(2);
    // The next read fills L1 again from L2.
    expectSameRecord(await store.get('b'), entry('b'));
    expect(memory1.get('b')).toBeDefined();

    await store.clear();
    expect(memory1.size).toBe(0);
    expect(memory2.size).toBe(0);
  });

  it('scans both tiers and yields each key once', async () => {
    const { store, memory1, memory2, entry } = setup();
    memory1.set('t:l1', entry('t:l1'), 60_000);
    memory2.set('t:l2', entry('t:l2'), 60_000);
    await store.set('t:both', entry('t:both'), 60_000);
    const found: string[] = [];
    for await (const key of store.scan('t:*')) found.push(key);
    expect(found.sort()).toEqual(['t:both', 't:l1', 't:l2']);
  });

  it('names itself after its tiers and closes both', async () => {
    const closed: string[] = [];
    const tier = (name: string) => ({
      ...createMemoryStore(),
      name,
      get: () => undefined,
      set: () => undefined,
      delete: () => undefined,
      clear: () => undefined,
      close: () => {
        closed.push(name);
      },
    });
    const store = createTieredStore({ l1: tier('memory'), l2: tier('redis') });
    expect(store.name).toBe('tiered(memory+redis)');
    await store.close();
    expect(closed.sort()).toEqual(['memory', 'redis']);
  });

  it('rejects missing or identical tiers naming the option', () => {
    const memory = createMemoryStore();
    expect(() => createTieredStore({ l1: memory } as never)).toThrow(/"l2"/);
    expect(() => createTieredStore({ l1: memory, l2: memory })).toThrow(/"l2"/);
  });
});
