import { LRUCache } from 'lru-cache';
import { invalidOption } from './errors.ts';
import type {
  CacheEntry,
  CacheStore,
  Clock,
  EntryFlags,
  HeaderList,
  StoredRecord,
} from './types.ts';
import { systemClock } from './clock.ts';
import { DEFAULTS } from './defaults.ts';
import {
  canonicalName,
  EMPTY_TAGS,
  EMPTY_VARY,
  flagsId,
  isCanonicalName,
  isShareableField,
  isShared,
  markShared,
  ownString,
  SharedTable,
  stringBytes,
} from './intern.ts';

export interface MemoryStoreOptions {
  /**
   * Upper bound on the bytes held: records (bodies, header fields, keys and the objects around
   * them), the header fields they share, and the free space of the slabs bodies are copied into.
   * Default 64 MiB.
   */
  readonly maxBytes?: number;
  /** Upper bound on the number of records. Default 10,000. */
  readonly maxEntries?: number;
  /** Records larger than this are not kept. Default: a tenth of `maxBytes`. */
  readonly maxEntryBytes?: number;
  readonly clock?: Clock;
  /** Called when a record is pushed out to make room (not when it expires or is replaced). */
  readonly onEvict?: (key: string, record: StoredRecord) => void;
}

/**
 * Bytes charged per record beyond its key, body and header text, for records whose body has an
 * ArrayBuffer of its own (stores under 2 MiB, bodies too large for a slab): object shells, LRU
 * links. This is the estimate budgets have always been sized with; it is below what such a small
 * record really holds (its ArrayBuffer alone costs about 300 bytes besides its bytes).
 */
export const RECORD_OVERHEAD_BYTES = 256;

/*
 * What a compact record (body in a slab) costs, measured with heap snapshots of Node (V8 on
 * 64-bit without pointer compression, which is how Node is built), rounded up so that the byte
 * bound holds for real memory.
 */

/**
 * The entry object (15 fields, 144 bytes), its five time fields (boxed numbers, 16 bytes each),
 * its slot in the LRU (map entry and per-slot arrays, 96 bytes), the body's view object (96) and
 * its place in the slab's list of records (12, the list grows by half).
 */
const COMPACT_RECORD_BYTES = 144 + 80 + 96 + 96 + 12;
/** A plain object (a vary selection, flags) without its properties. */
const OBJECT_BYTES = 24;
/** A header field pair: the array and its two-element backing store. */
const FIELD_BYTES = 64;

/** An estimate of the memory a record holds, used to bound the memory tier by bytes. */
export function sizeOfRecord(key: string, record: StoredRecord): number {
  if (record.kind === 'response' && slabBuffers.has(record.body.buffer)) {
    return compactRecordBytes(key, record);
  }
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

/** What a record kept by this store holds, counting nothing for the parts it shares. */
function compactRecordBytes(key: string, record: CacheEntry): number {
  let size = COMPACT_RECORD_BYTES + placementBytes(record.body.byteLength) + stringBytes(key);
  if (record.key !== key) size += stringBytes(record.key);
  size += arrayBytes(record.headers.length);
  for (const field of record.headers) {
    if (isShared(field)) continue;
    size += FIELD_BYTES + stringBytes(field[1]);
    if (!isCanonicalName(field[0])) size += stringBytes(field[0]);
  }
  if (!isShared(record.tags)) {
    size += arrayBytes(record.tags.length);
    for (const tag of record.tags) size += stringBytes(tag);
  }
  if (!isShared(record.vary)) size += varyBytes(record.vary);
  if (!isShared(record.flags)) size += OBJECT_BYTES + 4 * 8;
  return size;
}

function arrayBytes(length: number): number {
  return 48 + 8 * length;
}

function varyBytes(vary: Readonly<Record<string, string | null>>): number {
  let size = OBJECT_BYTES;
  for (const [name, value] of Object.entries(vary)) {
    size += 8 + stringBytes(name) + (value === null ? 0 : stringBytes(value));
  }
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

/** How the store's bytes divide (see `MemoryStore.footprint`). */
export interface MemoryFootprint {
  /** What the records are charged (`sizeOfRecord` of each). */
  readonly records: number;
  /** Header fields, flags, tag and vary sets that records share, each counted once. */
  readonly shared: number;
  /** Slab space that holds no live body: freed bodies not yet compacted, and the unused tail. */
  readonly slabFree: number;
  /** Bytes of all the slabs held. */
  readonly slabs: number;
}

type MutableEntry = { -readonly [K in keyof CacheEntry]: CacheEntry[K] };

export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  readonly local = true;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly #lru: LRUCache<string, StoredRecord>;
  readonly #maxEntryBytes: number;
  readonly #shared: SharedParts;
  readonly #slabs: SlabArena | undefined;
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
    this.#maxEntryBytes = maxEntryBytes;
    this.#shared = new SharedParts(Math.floor(maxBytes / 32));
    this.#slabs = SlabArena.forStore(maxBytes);
    this.#lru = new LRUCache<string, StoredRecord>({
      max: maxEntries,
      maxSize: maxBytes,
      maxEntrySize: maxEntryBytes,
      ttlAutopurge: false,
      // Expiry is checked against the injected clock so tests and the engine agree on "now".
      perf: { now: () => clock.now() },
      ttlResolution: 0,
      dispose: (record, key, reason) => {
        this.#release(record);
        if (reason === 'evict') {
          this.#evictions++;
          onEvict?.(key, record);
        }
      },
    });
  }

  /** The stored record itself: a hit allocates nothing and decodes nothing. */
  get(key: string): StoredRecord | undefined {
    return this.#lru.get(key);
  }

  set(key: string, record: StoredRecord, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    // lru-cache keeps the first key string of a slot: reuse it rather than hold two copies.
    const held = this.#lru.peek(key, { allowStale: true });
    const ownKey = held !== undefined && held.key === key ? held.key : ownString(key);
    const stored = record.kind === 'response' ? this.#compact(ownKey, record) : record;
    const size = sizeOfRecord(ownKey, stored);
    if (size > this.#maxEntryBytes) {
      // Refused, as lru-cache refuses it: what was there goes, what was taken for it is given back.
      this.#release(stored);
      this.#lru.delete(key);
      return;
    }
    this.#lru.set(ownKey, stored, { ttl: Math.ceil(ttlMs), size });
    this.#slabs?.compactIfFragmented();
    this.#trim();
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  clear(): void {
    this.#lru.clear();
    this.#shared.clear();
    this.#slabs?.clear();
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

  /** Bytes held: records, the parts they share, and free slab space. Never above `maxBytes`. */
  get bytes(): number {
    return this.#lru.calculatedSize + this.#shared.bytes + (this.#slabs?.free ?? 0);
  }

  get footprint(): MemoryFootprint {
    return {
      records: this.#lru.calculatedSize,
      shared: this.#shared.bytes,
      slabFree: this.#slabs?.free ?? 0,
      slabs: this.#slabs?.total ?? 0,
    };
  }

  get evictions(): number {
    return this.#evictions;
  }

  /**
   * The record as the store keeps it: one flat copy of each string, the body copied into a slab
   * (no ArrayBuffer of its own), and header fields, flags, tags and vary sets shared with the
   * other records that have the same ones.
   */
  #compact(key: string, record: CacheEntry): CacheEntry {
    const slabs = this.#slabs;
    const source = record.body;
    const inSlab = slabs !== undefined && slabs.accepts(source.byteLength);
    const entry: MutableEntry = {
      kind: 'response',
      // As given: a record of another envelope version must still read as one (a miss).
      v: record.v,
      key: record.key === key ? key : ownString(record.key),
      status: record.status,
      headers: this.#shared.headers(record.headers),
      body: inSlab ? slabs.place(source) : ownBody(source),
      storedAt: record.storedAt,
      fetchedAt: record.fetchedAt,
      initialAge: record.initialAge,
      staleAt: record.staleAt,
      deleteAt: record.deleteAt,
      vary: this.#shared.vary(record.vary),
      tags: this.#shared.tags(record.tags),
      generatedETag: record.generatedETag,
      flags: this.#shared.flags(record.flags),
    };
    if (inSlab) slabs.attach(entry);
    return entry;
  }

  /** Gives back what a record took: its slab space and its uses of shared parts. */
  #release(record: StoredRecord): void {
    if (record.kind !== 'response') return;
    this.#slabs?.release(record);
    this.#shared.release(record);
  }

  /**
   * Shared parts and slab space count towards the bound too: evict the least recently used
   * records until everything fits. Each eviction lowers the total (a record is charged more than
   * the slab space it frees), so this ends.
   */
  #trim(): void {
    while (this.bytes > this.maxBytes && this.#lru.size > 0) this.#lru.pop();
  }
}

/** Reference-counted tables of the parts records share, with one byte budget between them. */
class SharedParts {
  readonly #fields: SharedTable<[string, string]>;
  readonly #flags: SharedTable<EntryFlags>;
  readonly #tags: SharedTable<readonly string[]>;
  readonly #vary: SharedTable<Readonly<Record<string, string | null>>>;

  constructor(budget: number) {
    // Header fields repeat the most; the other tables are small.
    this.#fields = new SharedTable(Math.floor(budget * 0.7));
    this.#flags = new SharedTable(Math.floor(budget * 0.05));
    this.#tags = new SharedTable(Math.floor(budget * 0.15));
    this.#vary = new SharedTable(Math.floor(budget * 0.1));
  }

  get bytes(): number {
    return this.#fields.bytes + this.#flags.bytes + this.#tags.bytes + this.#vary.bytes;
  }

  headers(headers: HeaderList): HeaderList {
    const out: HeaderList = new Array<[string, string]>(headers.length);
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i]!;
      let field: [string, string] | undefined;
      if (isShareableField(name, value)) {
        field = this.#fields.acquire(
          fieldId(name, value),
          () => [canonicalName(name), ownString(value)],
          FIELD_BYTES + stringBytes(name) + stringBytes(value),
        );
      }
      out[i] = field ?? [canonicalName(name), ownString(value)];
    }
    return out;
  }

  flags(flags: EntryFlags): EntryFlags {
    return (
      this.#flags.acquire(
        flagsId(flags),
        () => Object.freeze({ ...flags }),
        OBJECT_BYTES + 4 * 8,
      ) ?? { ...flags }
    );
  }

  tags(tags: readonly string[]): readonly string[] {
    if (tags.length === 0) return EMPTY_TAGS;
    const own = (): readonly string[] => Object.freeze(tags.map(ownString));
    let bytes = arrayBytes(tags.length);
    for (const tag of tags) bytes += stringBytes(tag);
    return this.#tags.acquire(tagsId(tags), own, bytes) ?? own();
  }

  vary(vary: Readonly<Record<string, string | null>>): Readonly<Record<string, string | null>> {
    if (vary === EMPTY_VARY) return vary;
    const names = Object.keys(vary);
    if (names.length === 0) return EMPTY_VARY;
    const own = (): Readonly<Record<string, string | null>> => {
      const copy: Record<string, string | null> = {};
      for (const name of names) {
        const value = vary[name]!;
        copy[ownString(name)] = value === null ? null : ownString(value);
      }
      return Object.freeze(copy);
    };
    return this.#vary.acquire(JSON.stringify(vary), own, varyBytes(vary)) ?? own();
  }

  release(entry: CacheEntry): void {
    for (const field of entry.headers) this.#fields.release(fieldId(field[0], field[1]), field);
    this.#flags.release(flagsId(entry.flags), entry.flags);
    if (entry.tags.length > 0) this.#tags.release(tagsId(entry.tags), entry.tags);
    if (entry.vary !== EMPTY_VARY) this.#vary.release(JSON.stringify(entry.vary), entry.vary);
  }

  clear(): void {
    this.#fields.clear();
    this.#flags.clear();
    this.#tags.clear();
    this.#vary.clear();
  }
}

function fieldId(name: string, value: string): string {
  return `${name}\n${value}`;
}

function tagsId(tags: readonly string[]): string {
  return tags.join('\n');
}

/** Marks the ArrayBuffers of slabs, so that `sizeOfRecord` charges a body by where it lives. */
const slabBuffers = new WeakSet<ArrayBufferLike>();

/** Node's Buffer where there is one: a body stays the kind of view it was stored as. */
const NodeBuffer = (
  globalThis as {
    Buffer?: {
      isBuffer(value: unknown): boolean;
      from(buffer: ArrayBuffer, byteOffset: number, length: number): Uint8Array;
      allocUnsafeSlow(size: number): Uint8Array;
      alloc(size: number): Uint8Array;
    };
  }
).Buffer;

function isNodeBuffer(bytes: Uint8Array): boolean {
  return NodeBuffer !== undefined && NodeBuffer.isBuffer(bytes);
}

function viewOf(like: Uint8Array, buffer: ArrayBuffer, offset: number, length: number): Uint8Array {
  return isNodeBuffer(like)
    ? NodeBuffer!.from(buffer, offset, length)
    : new Uint8Array(buffer, offset, length);
}

const EMPTY_BYTES = markShared(new Uint8Array(0));
const EMPTY_BUFFER = NodeBuffer === undefined ? EMPTY_BYTES : markShared(NodeBuffer.alloc(0));

/**
 * A body too large for a slab keeps an ArrayBuffer of exactly its size: as it is when it already
 * has one, copied when it is a view into something larger (a pooled Buffer would keep its pool).
 */
function ownBody(body: Uint8Array): Uint8Array {
  if (body.byteLength === 0) return isNodeBuffer(body) ? EMPTY_BUFFER : EMPTY_BYTES;
  if (body.byteOffset === 0 && body.buffer.byteLength === body.byteLength) return body;
  if (isNodeBuffer(body)) {
    const copy = NodeBuffer!.allocUnsafeSlow(body.byteLength);
    copy.set(body);
    return copy;
  }
  return new Uint8Array(body);
}

/** Slab bytes a body of `length` takes: a 4-byte slot number, then the body, 4-byte aligned. */
function placementBytes(length: number): number {
  return 4 + ((length + 3) & ~3);
}

interface Slab {
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  /** The slot number written before each body, read back when the body is freed. */
  readonly slots: Uint32Array;
  /** The records whose bodies live here, by slot; a freed slot is undefined. */
  readonly entries: Array<MutableEntry | undefined>;
  used: number;
  live: number;
}

/**
 * Bodies copied into large shared ArrayBuffers (slabs) instead of one ArrayBuffer each: a small
 * body then costs its bytes and a view, not an ArrayBuffer object and a malloc'd backing store.
 * A slab is written once and never reused, so a view handed out on a hit stays valid whatever
 * the store does next; a slab whose records are all gone is simply dropped for the GC. When freed
 * bodies leave too much dead space in partly used slabs, the live bodies of the emptiest ones are
 * moved into the current slab (the record's view is replaced; its bytes are the same).
 */
class SlabArena {
  readonly #slabBytes: number;
  readonly #maxBodyBytes: number;
  readonly #compactAbove: number;
  readonly #compactTo: number;
  readonly #slabs = new Map<ArrayBufferLike, Slab>();
  #current: Slab | undefined;
  #total = 0;
  #live = 0;

  /** Slabs of up to 1 MiB, at most 1/128 of the store; stores under 2 MiB keep bodies as they are. */
  static forStore(maxBytes: number): SlabArena | undefined {
    let slabBytes = 1024 * 1024;
    while (slabBytes > maxBytes / 128) slabBytes /= 2;
    if (slabBytes < 16 * 1024) return undefined;
    return new SlabArena(slabBytes, maxBytes);
  }

  private constructor(slabBytes: number, maxBytes: number) {
    this.#slabBytes = slabBytes;
    this.#maxBodyBytes = slabBytes / 8;
    this.#compactAbove = Math.max(4 * slabBytes, Math.floor(maxBytes / 32));
    this.#compactTo = Math.max(2 * slabBytes, Math.floor(maxBytes / 64));
  }

  /** Bytes of all the slabs held. */
  get total(): number {
    return this.#total;
  }

  /** Slab bytes holding no live body (dead space and the current slab's unused tail). */
  get free(): number {
    return this.#total - this.#live;
  }

  accepts(length: number): boolean {
    return length > 0 && length <= this.#maxBodyBytes;
  }

  /** Copies `body` into the current slab; `attach` the record that holds the view next. */
  place(body: Uint8Array): Uint8Array {
    const need = placementBytes(body.byteLength);
    let slab = this.#current;
    if (slab === undefined || slab.used + need > this.#slabBytes) slab = this.#open();
    const offset = slab.used;
    slab.slots[offset >>> 2] = slab.entries.length;
    slab.entries.push(undefined);
    slab.bytes.set(body, offset + 4);
    slab.used += need;
    slab.live += need;
    this.#live += need;
    return viewOf(body, slab.buffer, offset + 4, body.byteLength);
  }

  attach(entry: MutableEntry): void {
    const slab = this.#slabs.get(entry.body.buffer);
    if (slab !== undefined) slab.entries[slab.slots[(entry.body.byteOffset - 4) >>> 2]!] = entry;
  }

  /** The record's body is no longer needed (the record was evicted, replaced or deleted). */
  release(entry: CacheEntry): void {
    const body = entry.body;
    const slab = this.#slabs.get(body.buffer);
    if (slab === undefined) return;
    const slot = slab.slots[(body.byteOffset - 4) >>> 2]!;
    if (slab.entries[slot] !== entry) return;
    slab.entries[slot] = undefined;
    const need = placementBytes(body.byteLength);
    slab.live -= need;
    this.#live -= need;
    if (slab.live === 0 && slab !== this.#current) this.#drop(slab);
  }

  /**
   * Moves the live bodies of the emptiest slabs when dead space (not counting the current slab's
   * tail) has grown past its allowance. A slab is moved only when at least a quarter of it is
   * dead, which frees more than moving can cost (at most the tail of one filled slab).
   */
  compactIfFragmented(): void {
    if (this.#dead() <= this.#compactAbove) return;
    const candidates = [...this.#slabs.values()]
      .filter((slab) => slab !== this.#current)
      .sort((a, b) => a.live - b.live);
    for (const slab of candidates) {
      if (this.#dead() <= this.#compactTo) break;
      if (slab.live > (this.#slabBytes * 3) / 4) break;
      this.#evacuate(slab);
    }
  }

  clear(): void {
    this.#slabs.clear();
    this.#current = undefined;
    this.#total = 0;
    this.#live = 0;
  }

  #dead(): number {
    const tail = this.#current === undefined ? 0 : this.#slabBytes - this.#current.used;
    return this.#total - this.#live - tail;
  }

  #evacuate(slab: Slab): void {
    for (const entry of slab.entries) {
      if (entry === undefined) continue;
      const body = this.place(entry.body);
      this.release(entry);
      entry.body = body;
      this.attach(entry);
    }
  }

  #open(): Slab {
    const previous = this.#current;
    const buffer = new ArrayBuffer(this.#slabBytes);
    slabBuffers.add(buffer);
    const slab: Slab = {
      buffer,
      bytes: new Uint8Array(buffer),
      slots: new Uint32Array(buffer),
      entries: [],
      used: 0,
      live: 0,
    };
    this.#slabs.set(buffer, slab);
    this.#total += this.#slabBytes;
    this.#current = slab;
    if (previous !== undefined && previous.live === 0) this.#drop(previous);
    return slab;
  }

  #drop(slab: Slab): void {
    if (!this.#slabs.delete(slab.buffer)) return;
    this.#total -= this.#slabBytes;
    if (this.#current === slab) this.#current = undefined;
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
