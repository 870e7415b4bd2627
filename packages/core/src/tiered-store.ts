import { systemClock } from './clock.ts';
import { GatecacheError, invalidOption } from './errors.ts';
import type {
  CacheStore,
  Clock,
  LayerName,
  MaybePromise,
  StoreHints,
  StoredRecord,
} from './types.ts';

export type TierOperation = 'get' | 'set' | 'delete' | 'clear' | 'scan' | 'close';

export interface TieredStoreOptions {
  /** The local tier, usually `createMemoryStore()`. */
  readonly l1: CacheStore;
  /** The shared tier, usually a Redis store (already wrapped by `withResilience`). */
  readonly l2: CacheStore;
  /** Time source for the TTL given to L1 when it is filled from L2. */
  readonly clock?: Clock;
  /** Every failure of a tier; the tiered store itself never throws. */
  readonly onError?: (error: GatecacheError, layer: LayerName, operation: TierOperation) => void;
}

const ALL_LAYERS: readonly LayerName[] = ['l1', 'l2'];

/**
 * Two tiers as one store: reads try L1, then L2, filling L1 from an L2 hit; writes go to every
 * tier the hints name (both by default).
 *
 * `set` waits for both tiers. L1 is local and answers at once; L2's cost is bounded by the
 * resilience wrapper around it (its `timeoutMs`, or nothing at all while its breaker is open), and
 * its failures are swallowed here, so a broken L2 never fails or stalls a write for longer than
 * that bound. Waiting rather than firing and forgetting means that once `set` resolves, another
 * instance reading L2 sees the record, and a test or a shutdown has nothing left in flight.
 */
export function createTieredStore(options: TieredStoreOptions): TieredStore {
  for (const layer of ALL_LAYERS) {
    const store = options[layer] as CacheStore | undefined;
    if (!store || typeof store.get !== 'function' || typeof store.set !== 'function') {
      throw invalidOption(layer, store, 'a CacheStore (an object with get, set, delete and clear)');
    }
  }
  if (options.l1 === options.l2) {
    throw invalidOption('l2', options.l2, 'a different store from l1');
  }
  return new TieredStore(options);
}

export class TieredStore implements CacheStore {
  readonly name: string;
  readonly local: boolean;
  readonly l1: CacheStore;
  readonly l2: CacheStore;
  readonly #clock: Clock;
  readonly #onError: TieredStoreOptions['onError'];

  constructor(options: TieredStoreOptions) {
    this.l1 = options.l1;
    this.l2 = options.l2;
    this.name = `tiered(${this.l1.name}+${this.l2.name})`;
    this.local = this.l1.local === true;
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError;
  }

  /** L1 first (answered synchronously when L1 is, as the memory tier is), then L2 with back-fill. */
  get(key: string, hints?: StoreHints): MaybePromise<StoredRecord | undefined> {
    const layers = hints?.layers ?? ALL_LAYERS;
    const useL1 = layers.includes('l1');
    if (useL1) {
      let local: MaybePromise<StoredRecord | undefined>;
      try {
        local = this.l1.get(key, hints);
      } catch (error) {
        this.#report('l1', 'get', error);
        local = undefined;
      }
      if (isPromiseLike(local)) {
        return local.then(
          (found) => (found !== undefined ? found : this.#fromL2(key, hints, layers, useL1)),
          (error: unknown) => {
            this.#report('l1', 'get', error);
            return this.#fromL2(key, hints, layers, useL1);
          },
        );
      }
      if (local !== undefined) return local;
    }
    return this.#fromL2(key, hints, layers, useL1);
  }

  async #fromL2(
    key: string,
    hints: StoreHints | undefined,
    layers: readonly LayerName[],
    useL1: boolean,
  ): Promise<StoredRecord | undefined> {
    if (!layers.includes('l2')) return undefined;
    const shared = await this.#safe('l2', 'get', () => this.l2.get(key, hints), undefined);
    if (shared !== undefined && useL1) {
      // L1 keeps the record only as long as L2 would: its remaining life, fixed at store time.
      const remaining = shared.deleteAt - this.#clock.now();
      if (remaining > 0)
        await this.#safe('l1', 'set', () => this.l1.set(key, shared, remaining, hints), undefined);
    }
    return shared;
  }

  async set(key: string, record: StoredRecord, ttlMs: number, hints?: StoreHints): Promise<void> {
    const layers = hints?.layers ?? ALL_LAYERS;
    const writes: Array<Promise<void>> = [];
    if (layers.includes('l1'))
      writes.push(this.#safe('l1', 'set', () => this.l1.set(key, record, ttlMs, hints), undefined));
    if (layers.includes('l2'))
      writes.push(this.#safe('l2', 'set', () => this.l2.set(key, record, ttlMs, hints), undefined));
    await Promise.all(writes);
  }

  async delete(key: string): Promise<void> {
    // Deletes ignore hints: a record written to one tier under other rules must still go.
    await Promise.all([
      this.#safe('l1', 'delete', () => this.l1.delete(key), undefined),
      this.#safe('l2', 'delete', () => this.l2.delete(key), undefined),
    ]);
  }

  async clear(): Promise<void> {
    await Promise.all([
      this.#safe('l1', 'clear', () => this.l1.clear(), undefined),
      this.#safe('l2', 'clear', () => this.l2.clear(), undefined),
    ]);
  }

  /**
   * Clears L1 only. The engine calls it when the invalidation bus reports that messages may have
   * been lost: local copies can no longer be trusted, while L2 is shared and still correct.
   */
  async dropLocal(): Promise<void> {
    await this.#safe('l1', 'clear', () => this.l1.clear(), undefined);
  }

  /** Keys of both tiers matching the glob, each once. */
  async *scan(match: string, batchSize?: number): AsyncIterable<string> {
    const seen = new Set<string>();
    for (const layer of ALL_LAYERS) {
      const store = this[layer];
      if (typeof store.scan !== 'function') continue;
      try {
        for await (const key of store.scan(match, batchSize)) {
          if (seen.has(key)) continue;
          seen.add(key);
          yield key;
        }
      } catch (error) {
        this.#report(layer, 'scan', error);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([
      this.#safe('l1', 'close', () => this.l1.close?.(), undefined),
      this.#safe('l2', 'close', () => this.l2.close?.(), undefined),
    ]);
  }

  async #safe<T>(
    layer: LayerName,
    operation: TierOperation,
    run: () => MaybePromise<T>,
    fallback: T,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.#report(layer, operation, error);
      return fallback;
    }
  }

  #report(layer: LayerName, operation: TierOperation, cause: unknown): void {
    const store = this[layer];
    const message = cause instanceof Error ? cause.message : String(cause);
    try {
      this.#onError?.(
        new GatecacheError(
          'ERR_STORE',
          `tier ${layer} ("${store.name}") failed on ${operation}: ${message}`,
          { cause },
        ),
        layer,
        operation,
      );
    } catch {
      // Reporting never fails the request.
    }
  }
}

function isPromiseLike<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
