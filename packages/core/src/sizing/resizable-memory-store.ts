import { invalidOption } from '../errors.ts';
import { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from '../memory-store.ts';
import type { CacheStore, StoredRecord } from '../types.ts';

/** A memory tier whose byte bound can change at runtime (what the sizing controller drives). */
export interface ResizableTier {
  readonly maxBytes: number;
  /** Bytes held now, when known: a shrink below it evicts least recently used records first. */
  readonly bytes?: number;
  resize(maxBytes: number): unknown;
}

/**
 * The memory store with a runtime `resize`. lru-cache fixes its bound at construction, so a
 * resize moves the records into a new store built with the new bound, least recently used
 * first: under a smaller bound the least recently used are the ones evicted, and the order of
 * the rest is kept. Each record keeps its remaining TTL.
 */
export class ResizableMemoryStore implements CacheStore, ResizableTier {
  readonly name = 'memory';
  readonly local = true;
  readonly #options: MemoryStoreOptions;
  #inner: MemoryStore;
  #evictionsBefore = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.#options = options;
    this.#inner = createMemoryStore(options);
  }

  get maxBytes(): number {
    return this.#inner.maxBytes;
  }

  get maxEntries(): number {
    return this.#inner.maxEntries;
  }

  get bytes(): number {
    return this.#inner.bytes;
  }

  get size(): number {
    return this.#inner.size;
  }

  get evictions(): number {
    return this.#evictionsBefore + this.#inner.evictions;
  }

  resize(maxBytes: number): void {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
      throw invalidOption('maxBytes', maxBytes, 'an integer of at least 1024');
    }
    const old = this.#inner;
    if (maxBytes === old.maxBytes) return;
    const { maxEntryBytes, maxDecodedBytes } = this.#options;
    const next = createMemoryStore({
      ...this.#options,
      maxBytes,
      ...(maxEntryBytes === undefined ? {} : { maxEntryBytes: Math.min(maxEntryBytes, maxBytes) }),
      ...(maxDecodedBytes === undefined
        ? {}
        : { maxDecodedBytes: Math.min(maxDecodedBytes, maxBytes) }),
    });
    // keys() is most recent first: insert from the least recent so recency survives the move;
    // peek neither refreshes recency nor keeps a decoded copy of records nobody has read (the
    // new store keeps decoded entries again as records are read there).
    const keys = [...old.keys()].reverse();
    for (const key of keys) {
      const ttl = old.remainingTtl(key);
      const record = old.peek(key);
      if (record !== undefined && ttl > 0) next.set(key, record, ttl);
    }
    this.#evictionsBefore += old.evictions;
    this.#inner = next;
  }

  get(key: string): StoredRecord | undefined {
    return this.#inner.get(key);
  }

  set(key: string, record: StoredRecord, ttlMs: number): void {
    this.#inner.set(key, record, ttlMs);
  }

  delete(key: string): void {
    this.#inner.delete(key);
  }

  clear(): void {
    this.#inner.clear();
  }

  scan(match: string, batchSize?: number): AsyncIterable<string> {
    return this.#inner.scan(match, batchSize);
  }

  remainingTtl(key: string): number {
    return this.#inner.remainingTtl(key);
  }

  keys(): IterableIterator<string> {
    return this.#inner.keys();
  }
}

/** A memory store the sizing controller can shrink and grow; options as `createMemoryStore`. */
export function createResizableMemoryStore(options: MemoryStoreOptions = {}): ResizableMemoryStore {
  return new ResizableMemoryStore(options);
}
