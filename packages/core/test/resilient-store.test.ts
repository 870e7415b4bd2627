import { afterEach, describe, expect, it } from 'vitest';
import type { GatecacheError } from '../src/errors.ts';
import type { CacheStore, MaybePromise, StoredRecord } from '../src/types.ts';
import { createMemoryStore } from '../src/memory-store.ts';
import { withResilience, type BreakerState, type StoreOperation } from '../src/resilient-store.ts';
import {
  createFaultyStore,
  createManualClock,
  expectSameRecord,
  makeEntry,
  runStoreConformance,
  type FaultyStore,
} from '../src/testing/index.ts';

runStoreConformance('resilient(memory)', () => {
  const clock = createManualClock();
  return { store: withResilience(createMemoryStore({ clock }), { clock }), clock };
});

runStoreConformance('resilient(async memory)', () => {
  const clock = createManualClock();
  // A zero delay makes every call asynchronous, as a network store's are.
  const faulty = createFaultyStore(createMemoryStore({ clock }));
  faulty.fault = { type: 'delay', ms: 0 };
  return { store: withResilience(faulty, { clock, timeoutMs: 1_000 }), clock };
});

describe('withResilience', () => {
  const opened: FaultyStore[] = [];
  const setup = (options: Parameters<typeof withResilience>[1] = {}) => {
    const clock = createManualClock();
    const faulty = createFaultyStore(createMemoryStore({ clock }));
    opened.push(faulty);
    const errors: Array<[string, StoreOperation]> = [];
    const states: BreakerState[] = [];
    const store = withResilience(faulty, {
      clock,
      timeoutMs: 30,
      breaker: { failureThreshold: 3, windowMs: 1_000, cooldownMs: 5_000 },
      onError: (error: GatecacheError, operation) => errors.push([error.code, operation]),
      onStateChange: (state) => states.push(state),
      ...options,
    });
    return { clock, faulty, store, errors, states };
  };
  const record = makeEntry('k');

  afterEach(() => {
    for (const faulty of opened.splice(0)) faulty.release();
  });

  it('passes calls through while the store is healthy', async () => {
    const { store, faulty } = setup();
    await store.set('k', record, 60_000);
    expectSameRecord(await store.get('k'), record);
    expect(faulty.calls).toMatchObject({ get: 1, set: 1 });
    expect(store.state).toBe('closed');
    expect(store.stats).toEqual({ calls: 2, errors: 0, timeouts: 0, shortCircuits: 0, opened: 0 });
  });

  it('reads a throwing or rejecting store as a miss and swallows write failures', async () => {
    const { store, faulty, errors } = setup({ breaker: false });
    faulty.fault = { type: 'throw' };
    expect(await store.get('k')).toBeUndefined();
    await expect(Promise.resolve(store.set('k', record, 1_000))).resolves.toBeUndefined();
    faulty.fault = { type: 'reject' };
    expect(await store.get('k')).toBeUndefined();
    await store.delete('k');
    await store.clear();
    expect(errors).toEqual([
      ['ERR_STORE', 'get'],
      ['ERR_STORE', 'set'],
      ['ERR_STORE', 'get'],
      ['ERR_STORE', 'delete'],
      ['ERR_STORE', 'clear'],
    ]);
    expect(store.stats.errors).toBe(5);
  });

  it('bounds a frozen store by timeoutMs and reports a timeout', async () => {
    const { store, faulty, errors } = setup({ breaker: false, timeoutMs: 40 });
    faulty.fault = { type: 'hang' };
    const started = performance.now();
    const [got] = await Promise.all([store.get('k'), store.set('k', record, 1_000)]);
    const elapsed = performance.now() - started;
    expect(got).toBeUndefined();
    // Generous bound: the point is that a frozen store does not hold the caller.
    expect(elapsed).toBeLessThan(1_000);
    expect(errors).toEqual([
      ['ERR_STORE_TIMEOUT', 'get'],
      ['ERR_STORE_TIMEOUT', 'set'],
    ]);
    expect(store.stats.timeouts).toBe(2);
  });

  it('gives an operation its own limit when operationTimeoutMs names it', async () => {
    const { store, faulty, errors } = setup({
      breaker: false,
      timeoutMs: 10,
      operationTimeoutMs: { clear: 2_000 },
    });
    await store.set('k', record, 60_000);
    faulty.fault = { type: 'delay', ms: 40 };
    await store.clear();
    expect(errors).toEqual([]);
    expect(await store.get('k')).toBeUndefined();
    expect(errors).toEqual([['ERR_STORE_TIMEOUT', 'get']]);
  });

  it('returns the answer of a slow store that answers within the timeout', async () => {
    const { store, faulty } = setup({ timeoutMs: 1_000 });
    await store.set('k', record, 60_000);
    faulty.fault = { type: 'delay', ms: 5 };
    expectSameRecord(await store.get('k'), record);
    expect(store.stats.timeouts).toBe(0);
  });

  it('opens after failureThreshold failures within the window and then skips the store', async () => {
    const { store, faulty, states } = setup();
    faulty.fault = { type: 'reject' };
    await store.get('k');
    await store.get('k');
    expect(store.state).toBe('closed');
    await store.get('k');
    expect(store.state).toBe('open');
    expect(states).toEqual(['open']);
    const before = faulty.calls.get;
    faulty.fault = { type: 'none' };
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', record, 60_000);
    expect(faulty.calls.get).toBe(before);
    expect(faulty.calls.set).toBe(0);
    expect(store.stats).toMatchObject({ shortCircuits: 2, opened: 1 });
  });

  it('does not open for failures spread wider than the window', async () => {
    const { store, faulty, clock } = setup();
    faulty.fault = { type: 'reject' };
    for (let i = 0; i < 10; i++) {
      await store.get('k');
      clock.advance(600);
    }
    expect(store.state).toBe('closed');
    expect(store.stats.errors).toBe(10);
  });

  it('lets one probe through after the cooldown and closes on its success', async () => {
    const { store, faulty, clock, states } = setup();
    faulty.fault = { type: 'reject' };
    for (let i = 0; i < 3; i++) await store.get('k');
    expect(store.state).toBe('open');
    clock.advance(4_999);
    await store.get('k');
    expect(faulty.calls.get).toBe(3);
    clock.advance(1);
    faulty.fault = { type: 'delay', ms: 5 };
    const probe = store.get('k');
    expect(store.state).toBe('half-open');
    // Calls during the probe do not reach the store.
    expect(await store.get('k')).toBeUndefined();
    expect(faulty.calls.get).toBe(4);
    await probe;
    expect(store.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    await store.set('k', record, 60_000);
    expectSameRecord(await store.get('k'), record);
  });

  it('reopens when the probe fails, for another full cooldown', async () => {
    const { store, faulty, clock, states } = setup();
    faulty.fault = { type: 'hang' };
    for (let i = 0; i < 3; i++) await store.get('k');
    expect(store.state).toBe('open');
    clock.advance(5_000);
    await store.get('k');
    expect(store.state).toBe('open');
    expect(states).toEqual(['open', 'half-open', 'open']);
    clock.advance(4_000);
    await store.get('k');
    expect(faulty.calls.get).toBe(4);
    expect(store.stats.opened).toBe(2);
  });

  it('bounds each of many overlapping calls at its own deadline, whatever order they settle in', async () => {
    const memory = createMemoryStore();
    const answers = new Map<string, (value: StoredRecord | undefined) => void>();
    const manual: CacheStore = {
      name: 'manual',
      get: (key) => new Promise((resolve) => answers.set(key, resolve)),
      set: (key, value, ttl) => memory.set(key, value, ttl),
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const errors: string[] = [];
    const store = withResilience(manual, {
      timeoutMs: 40,
      breaker: false,
      onError: (error) => errors.push(error.code),
    });
    const order: string[] = [];
    const track = (name: string, call: MaybePromise<StoredRecord | undefined>) =>
      Promise.resolve(call).then((value) => {
        order.push(`${name}:${value === undefined ? 'miss' : 'hit'}`);
        return value;
      });
    const a = track('a', store.get('a'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const b = track('b', store.get('b'));
    const c = track('c', store.get('c'));
    // c answers first, out of the order the calls started in; a and b never answer.
    answers.get('c')!(record);
    await Promise.all([a, b, c]);
    expect(order).toEqual(['c:hit', 'a:miss', 'b:miss']);
    expect(errors).toEqual(['ERR_STORE_TIMEOUT', 'ERR_STORE_TIMEOUT']);
    // Late answers to calls that timed out change nothing.
    answers.get('a')!(record);
    answers.get('b')!(record);
    // With nothing in flight, a new call is still bounded, and one that answers in time is returned.
    const d = store.get('d');
    const e = store.get('e');
    answers.get('e')!(record);
    expectSameRecord(await e, record);
    expect(await d).toBeUndefined();
    expect(store.stats.timeouts).toBe(3);
    expect(store.stats.errors).toBe(0);
  });

  it('counts a timeout once even when the late call rejects afterwards', async () => {
    const { store, faulty, errors } = setup({ breaker: false, timeoutMs: 10 });
    faulty.fault = { type: 'delay', ms: 40 };
    const inner = faulty as unknown as { get: (key: string) => Promise<unknown> };
    const original = inner.get.bind(faulty);
    inner.get = async (key) => {
      await original(key);
      throw new Error('late failure');
    };
    expect(await store.get('k')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(errors).toEqual([['ERR_STORE_TIMEOUT', 'get']]);
  });

  it('survives listeners that throw', async () => {
    const { store, faulty } = setup({
      onError: () => {
        throw new Error('listener');
      },
      onStateChange: () => {
        throw new Error('listener');
      },
    });
    faulty.fault = { type: 'throw' };
    for (let i = 0; i < 3; i++) expect(await store.get('k')).toBeUndefined();
    expect(store.state).toBe('open');
  });

  it('wraps scan when the store has one, ending early on failure', async () => {
    const clock = createManualClock();
    const memory = createMemoryStore({ clock });
    const store = withResilience(memory, { clock, timeoutMs: 1_000 });
    for (const key of ['a:1', 'a:2', 'b:1']) memory.set(key, makeEntry(key), 60_000);
    const found: string[] = [];
    for await (const key of store.scan!('a:*')) found.push(key);
    expect(found.sort()).toEqual(['a:1', 'a:2']);
    const noScan = withResilience({
      name: 'no-scan',
      get: () => undefined,
      set: () => undefined,
      delete: () => undefined,
      clear: () => undefined,
    });
    expect(noScan.scan).toBeUndefined();
    const failing = withResilience({
      name: 'scan-fails',
      get: () => undefined,
      set: () => undefined,
      delete: () => undefined,
      clear: () => undefined,
      // eslint-disable-next-line require-yield
      async *scan() {
        await Promise.resolve();
        throw new Error('scan failed');
      },
    });
    const none: string[] = [];
    for await (const key of failing.scan!('*')) none.push(key);
    expect(none).toEqual([]);
    expect(failing.stats.errors).toBe(1);
  });

  it('exposes the wrapped store and its name', () => {
    const memory = createMemoryStore();
    const store = withResilience(memory);
    expect(store.inner).toBe(memory);
    expect(store.name).toBe('memory');
  });

  it('rejects invalid options naming the option', () => {
    const memory = createMemoryStore();
    expect(() => withResilience(memory, { timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => withResilience(memory, { breaker: { failureThreshold: 0 } })).toThrow(
      /breaker\.failureThreshold/,
    );
    expect(() => withResilience(memory, { breaker: { windowMs: -1 } })).toThrow(
      /breaker\.windowMs/,
    );
    expect(() => withResilience(memory, { operationTimeoutMs: { clear: 0 } })).toThrow(
      /operationTimeoutMs\.clear/,
    );
    expect(() => withResilience(memory, { operationTimeoutMs: { flush: 5 } as never })).toThrow(
      /operationTimeoutMs/,
    );
    expect(() => withResilience(memory, { breaker: { cooldownMs: Number.NaN } })).toThrow(
      /breaker\.cooldownMs/,
    );
  });
});
