import type { CacheStore, MaybePromise, StoreHints, StoredRecord } from '../types.ts';
import type { Sealer } from './sealer.ts';

/**
 * Wraps a sealed byte store (Redis, memcached) so that a delete or a clear also revokes, in this
 * process, what was sealed before it: bytes an attacker copied before a purge and writes back
 * afterwards then read as a miss (`rollback` / `too-old`) instead of a resurrected entry.
 */
export function revokeOnDelete<S extends CacheStore>(store: S, sealer: Sealer): CacheStore {
  const wrapped: CacheStore = {
    name: store.name,
    get: (key: string, hints?: StoreHints): MaybePromise<StoredRecord | undefined> =>
      store.get(key, hints),
    set: (key: string, record: StoredRecord, ttlMs: number, hints?: StoreHints) =>
      store.set(key, record, ttlMs, hints),
    delete(key: string): MaybePromise<void> {
      sealer.revoke(key);
      return store.delete(key);
    },
    clear(): MaybePromise<void> {
      sealer.revokeAll();
      return store.clear();
    },
  };
  if (store.scan !== undefined) {
    (wrapped as { scan?: CacheStore['scan'] }).scan = (match, batchSize) =>
      store.scan!(match, batchSize);
  }
  if (store.close !== undefined) {
    (wrapped as { close?: CacheStore['close'] }).close = () => store.close!();
  }
  return wrapped;
}
