/**
 * What the metrics can learn from the store without the store knowing about metrics: which tiers
 * there are (a tiered store's `l1` and `l2`), how much memory a tier holds against its limits,
 * a resilient wrapper's breaker state and failure counts, and how each tier's reads turn out.
 */
import type { BreakerState, ResilienceStats } from '../resilient-store.ts';
import type { CacheStore, LayerName, MaybePromise, StoreHints, StoredRecord } from '../types.ts';

export interface MemoryFigures {
  readonly bytes: number;
  readonly maxBytes: number;
  readonly size: number;
  readonly maxEntries: number;
  readonly evictions: number;
}

export interface LayerProbe {
  readonly layer: LayerName;
  readonly store: CacheStore;
  /** Sizes of the tier when it is a memory store (directly or under a resilient wrapper). */
  readonly memory: (() => MemoryFigures) | undefined;
  /** The breaker of a resilient wrapper around the tier. */
  readonly breaker: (() => { state: BreakerState; stats: ResilienceStats }) | undefined;
}

type Probeable = CacheStore & Record<string, unknown>;

function isStore(value: unknown): value is CacheStore {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as CacheStore).get === 'function' &&
    typeof (value as CacheStore).set === 'function'
  );
}

function memoryOf(store: CacheStore): (() => MemoryFigures) | undefined {
  for (const candidate of [store, (store as Probeable).inner]) {
    if (!isStore(candidate)) continue;
    const s = candidate as Probeable;
    if (
      typeof s.bytes === 'number' &&
      typeof s.maxBytes === 'number' &&
      typeof s.size === 'number'
    ) {
      return () => ({
        bytes: s.bytes as number,
        maxBytes: s.maxBytes as number,
        size: s.size as number,
        maxEntries: typeof s.maxEntries === 'number' ? s.maxEntries : Infinity,
        evictions: typeof s.evictions === 'number' ? s.evictions : 0,
      });
    }
  }
  return undefined;
}

function breakerOf(store: CacheStore): LayerProbe['breaker'] {
  const s = store as Probeable;
  const state = s.state;
  if (typeof state !== 'string' || s.stats === null || typeof s.stats !== 'object')
    return undefined;
  return () => ({ state: s.state as BreakerState, stats: s.stats as ResilienceStats });
}

/** The tiers behind the engine's store. A single store is L1 when it is in memory, else L2. */
export function probeLayers(store: CacheStore): LayerProbe[] {
  const s = store as Probeable;
  if (isStore(s.l1) && isStore(s.l2)) {
    return (['l1', 'l2'] as const).map((layer) => {
      const tier = s[layer] as CacheStore;
      return { layer, store: tier, memory: memoryOf(tier), breaker: breakerOf(tier) };
    });
  }
  const memory = memoryOf(store);
  return [{ layer: memory ? 'l1' : 'l2', store, memory, breaker: breakerOf(store) }];
}

export type ReadResult = 'found' | 'absent' | 'error';

const INSTRUMENTED = Symbol.for('gatecache.metrics.instrumented');

/**
 * Wraps a tier's `get` on the instance to report each read's result and duration. The wrapper
 * returns what the store returns (synchronously when the store is synchronous) and rethrows what
 * it throws, so the engine and a tiered store see no difference.
 */
export function instrumentReads(
  probe: LayerProbe,
  onRead: (layer: LayerName, result: ReadResult, seconds: number) => void,
  now: () => number,
): void {
  const store = probe.store as CacheStore & { [INSTRUMENTED]?: boolean };
  if (store[INSTRUMENTED] === true) return;
  const original = store.get.bind(store);
  const layer = probe.layer;
  const report = (result: ReadResult, started: number): void => {
    try {
      onRead(layer, result, (now() - started) / 1000);
    } catch {
      // Metrics never break a read.
    }
  };
  const get = (key: string, hints?: StoreHints): MaybePromise<StoredRecord | undefined> => {
    const started = now();
    let value: MaybePromise<StoredRecord | undefined>;
    try {
      value = original(key, hints);
    } catch (error) {
      report('error', started);
      throw error;
    }
    if (value instanceof Promise) {
      return value.then(
        (record) => {
          report(record === undefined ? 'absent' : 'found', started);
          return record;
        },
        (error: unknown) => {
          report('error', started);
          throw error;
        },
      );
    }
    report(value === undefined ? 'absent' : 'found', started);
    return value;
  };
  Object.defineProperty(store, 'get', { value: get, configurable: true, writable: true });
  Object.defineProperty(store, INSTRUMENTED, { value: true });
}
