import type { CacheStore, MaybePromise, StoreHints, StoredRecord } from '../types.ts';

/** How a `FaultyStore` answers its next calls. */
export type Fault =
  | { readonly type: 'none' }
  | { readonly type: 'throw' }
  | { readonly type: 'reject' }
  /** Never settles until `release()` (a frozen server). */
  | { readonly type: 'hang' }
  /** Answers correctly after a delay (a slow server). */
  | { readonly type: 'delay'; readonly ms: number };

/**
 * A real store with faults switched on and off by the test: the wrapped store still does the work,
 * so behaviour around resilience and tiers can be tested without a network.
 */
export interface FaultyStore extends CacheStore {
  fault: Fault;
  /** Calls that reached this store, by operation. */
  readonly calls: { get: number; set: number; delete: number; clear: number };
  /** Settles every hung call (as a miss / no-op) so nothing outlives the test. */
  release(): void;
}

export function createFaultyStore(inner: CacheStore, name = `faulty(${inner.name})`): FaultyStore {
  const hung = new Set<() => void>();
  const calls = { get: 0, set: 0, delete: 0, clear: 0 };
  const store: FaultyStore = {
    name,
    fault: { type: 'none' },
    calls,
    release() {
      for (const settle of hung) settle();
      hung.clear();
    },
    get(key: string, hints?: StoreHints) {
      calls.get++;
      return apply(store.fault, hung, () => inner.get(key, hints), undefined);
    },
    set(key: string, record: StoredRecord, ttlMs: number, hints?: StoreHints) {
      calls.set++;
      return apply(store.fault, hung, () => inner.set(key, record, ttlMs, hints), undefined);
    },
    delete(key: string) {
      calls.delete++;
      return apply(store.fault, hung, () => inner.delete(key), undefined);
    },
    clear() {
      calls.clear++;
      return apply(store.fault, hung, () => inner.clear(), undefined);
    },
  };
  if (typeof inner.scan === 'function') {
    const scan = inner.scan.bind(inner);
    (store as { scan?: CacheStore['scan'] }).scan = (match, batchSize) => {
      if (store.fault.type === 'throw' || store.fault.type === 'reject') {
        throw new Error('injected store failure');
      }
      return scan(match, batchSize);
    };
  }
  return store;
}

function apply<T>(
  fault: Fault,
  hung: Set<() => void>,
  run: () => MaybePromise<T>,
  idle: T,
): MaybePromise<T> {
  switch (fault.type) {
    case 'none':
      return run();
    case 'throw':
      throw new Error('injected store failure');
    case 'reject':
      return Promise.reject(new Error('injected store failure'));
    case 'hang':
      return new Promise<T>((resolve) => {
        hung.add(() => resolve(idle));
      });
    case 'delay':
      return new Promise<T>((resolve, reject) => {
        setTimeout(() => {
          Promise.resolve().then(run).then(resolve, reject);
        }, fault.ms);
      });
  }
}
