import { LRUCache } from 'lru-cache';
import { invalidOption } from './errors.ts';
import type { CacheStore, Clock, StoredRecord } from './types.ts';
import { systemClock } from './clock.ts';
import { DEFAULTS } from './defaults.ts';

export interface MemoryStoreOptions {
  /** Upper bound on the bytes held (bodies, header fields and a fixed overhead per entry). Default 64 MiB. */
  readonly maxBytes?: number;
  /** Upper bound on the number of records. Default 10,000. */
  readonly maxEntries?: number;
  /** Records larger than this are not kept. Default: a tenth of `maxBytes`. */
  readonly maxEntryBytes?: number;
  readonly clock?: Clock;
  /** Called when a record is pushed out to make room (not when it expires or is replaced). */
  readonly onEvict?: (key: string, record: StoredRecord) => void;
}

/** Bytes charged per record beyond its body and header text: object shells, key, LRU links. */
export const RECORD_OVERHEAD_BYTES = 256;

/** An estimate of the memory a record holds, used to bound the memory tier by bytes. */
export function sizeOfRecord(key: string, record: StoredRecord): number {
  let size = RECORD_OVERHEAD_BYTES + key.length * 2;
  if (record.kind === 'vary') {
    for (const field of record.fields) size += field.length * 2;
    return size;
  }
  size += record.body.byteLength;
  for (const [name, value] of record.headers) size += (name.length + value.length) * 2 + 32;
  for (const tag of record.tags) size += tag.length * 2 + 16;
  return size;
}

/**
 * The L1 tier: an LRU bounded by bytes and by entries by construction, each record expiring at
 * its own TTL (which covers its stale windows).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxBytes = options.maxBytes ?? DEFAULTS.memory.maxBytes;
  const maxEntries = options.maxEntries ?? DEFAULTS.memory.maxEntries;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
    throw invalidOption('maxBytes', options.maxBytes, 'an integer of at least 1024');
  }
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw invalidOption('maxEntries', options.maxEntries, 'a positive integer');
  }
  const maxEntryBytes = options.maxEntryBytes ?? Math.floor(maxBytes / 10);
  if (!Number.isSafeInteger(maxEntryBytes) || maxEntryBytes < 1 || maxEntryBytes > maxBytes) {
    throw invalidOption(
      'maxEntryBytes',
      options.maxEntryBytes,
      `an integer from 1 to maxBytes (${maxBytes})`,
    );
  }
  return new MemoryStore(
    maxBytes,
    maxEntries,
    maxEntryBytes,
    options.clock ?? systemClock,
    options.onEvict,
  );
}

export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  readonly local = true;
  readonly maxBytes: number;
  readonly maxEntries: number;
  #lru: LRUCache<string, StoredRecord>;
  #evictions = 0;

  constructor(
    maxBytes: number,
    maxEntries: number,
    maxEntryBytes: number,
    clock: Clock,
    onEvict: ((key: string, record: StoredRecord) => void) | undefined,
  ) {
    this.maxBytes = maxBytes;
    this.maxEntries = maxEntries;
    this.#lru = new LRUCache<string, StoredRecord>({
      max: maxEntries,
      maxSize: maxBytes,
      maxEntrySize: maxEntryBytes,
      sizeCalculation: (record, key) => sizeOfRecord(key, record),
      ttlAutopurge: false,
      // Expiry is checked against the injected clock so tests and the engine agree on "now".
      perf: { now: () => clock.now() },
      ttlResolution: 0,
      dispose: (record, key, reason) => {
        if (reason === 'evict') {
          this.#evictions++;
          onEvict?.(key, record);
        }
      },
    });
  }

  get(key: string): StoredRecord | undefined {
    return this.#lru.get(key);
  }

  set(key: string, record: StoredRecord, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    this.#lru.set(key, record, { ttl: Math.ceil(ttlMs) });
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
  }

  async *scan(match: string, batchSize = 1000): AsyncIterable<string> {
    const pattern = globToRegExp(match);
    let seen = 0;
    for (const key of [...this.#lru.keys()]) {
      if (pattern.test(key)) yield key;
      // Yield to the event loop between batches so a large scan blocks nothing.
      if (++seen % batchSize === 0) await yieldToEventLoop();
    }
  }

  /** Remaining TTL in milliseconds, or 0 when the key is absent. */
  remainingTtl(key: string): number {
    const ttl = this.#lru.getRemainingTTL(key);
    return Number.isFinite(ttl) && ttl > 0 ? ttl : 0;
  }

  /** Keys currently held, most recently used first. */
  keys(): IterableIterator<string> {
    return this.#lru.keys();
  }

  get size(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  get evictions(): number {
    return this.#evictions;
  }
}

/** A Redis-style glob (`*`, `?`, `\\` escapes) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '\\' && i + 1 < glob.length) source += escapeRegExp(glob[++i]!);
    else if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Lets pending I/O run; setImmediate where the runtime has it (much sooner than a timer). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
