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
  align8,
  canonicalName,
  EMPTY_TAGS,
  EMPTY_VARY,
  flagsId,
  isShareableField,
  isShared,
  markShared,
  nameId,
  nameOf,
  ownString,
  SharedTable,
  stringBytes,
} from './intern.ts';

export interface MemoryStoreOptions {
  /**
   * Upper bound on the bytes held: records (bodies, header fields, keys and the objects around
   * them), the header fields they share, and the free space of the slabs records are kept in.
   * Besides it, at most one emptied slab (1/128 of it, 1 MiB at most) is held for reuse while
   * records churn. Default 64 MiB.
   */
  readonly maxBytes?: number;
  /** Upper bound on the number of records. Default 10,000. */
  readonly maxEntries?: number;
  /** Records larger than this are not kept. Default: a tenth of `maxBytes`. */
  readonly maxEntryBytes?: number;
  /**
   * Upper bound on the bytes of decoded entries kept for records read recently (stores of 2 MiB
   * and more keep records encoded in slabs; see `MemoryStore`). Past it, the decoded entries read
   * least recently are let go: their records stay, encoded, and are decoded again on their next
   * read. Counted within `maxBytes`. 0 keeps none (every read decodes). Default: 4 MiB or an
   * eighth of `maxBytes`, whichever is less.
   */
  readonly maxDecodedBytes?: number;
  readonly clock?: Clock;
  /**
   * Called when a record is pushed out to make room (not when it expires or is replaced). The
   * record is decoded for a callback that declares the second parameter, and only then.
   */
  readonly onEvict?: (key: string, record: StoredRecord) => void;
}

/**
 * Bytes charged per record beyond its key, body and header text, for records kept as objects with
 * a body of their own (stores under 2 MiB, bodies too large for a slab): object shells, LRU links.
 * This is the estimate budgets have always been sized with; it is below what such a small record
 * really holds (its ArrayBuffer alone costs about 300 bytes besides its bytes).
 */
export const RECORD_OVERHEAD_BYTES = 256;

/*
 * What a record kept in a slab costs, measured with heap snapshots of Node (V8 on 64-bit without
 * pointer compression, which is how Node is built), rounded up so that the byte bound holds for
 * real memory.
 */

/**
 * A record while it is not decoded: its LRU slot (map entry and per-slot arrays, 96 bytes) and its
 * row in the record table (slab, offset, key, decoded entry, the two links and the mark of the
 * list of decoded entries: 33 bytes, taken as 40). Its bytes are in a slab.
 */
const ENCODED_RECORD_BYTES = 136;
/**
 * A record's decoded entry while it is kept, on top of that: the entry object (15 fields, 144
 * bytes), its five time fields (boxed numbers, 16 bytes each) and the body's view object (96).
 */
const DECODED_RECORD_BYTES = 144 + 80 + 96;
/** The most that `maxDecodedBytes` defaults to (else an eighth of `maxBytes`). */
const DEFAULT_MAX_DECODED_BYTES = 4 * 1024 * 1024;
/** A plain object (a vary selection, flags) without its properties. */
const OBJECT_BYTES = 24;
/** A header field pair: the array and its two-element backing store. */
const FIELD_BYTES = 64;

/** An estimate of the memory a record holds, used to bound the memory tier by bytes. */
export function sizeOfRecord(key: string, record: StoredRecord): number {
  if (record.kind === 'response' && slabBuffers.has(record.body.buffer)) {
    return encodedBytes(key, record) + decodedBytes(key, record);
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

/** What a record kept in a slab holds while it is not decoded. */
function encodedBytes(key: string, record: CacheEntry): number {
  return ENCODED_RECORD_BYTES + stringBytes(key) + encodedLength(record, record.key !== key);
}

/** What keeping the decoded entry of a record kept in a slab adds: the entry and its strings. */
function decodedBytes(key: string, record: CacheEntry): number {
  let size = DECODED_RECORD_BYTES + arrayBytes(record.headers.length);
  if (record.key !== key) size += stringBytes(record.key);
  for (const field of record.headers) {
    if (!isShared(field)) size += FIELD_BYTES + stringBytes(field[1]);
  }
  if (!isShared(record.tags)) {
    size += arrayBytes(record.tags.length);
    for (const tag of record.tags) size += stringBytes(tag);
  }
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
  const maxDecodedBytes =
    options.maxDecodedBytes ?? Math.min(DEFAULT_MAX_DECODED_BYTES, Math.floor(maxBytes / 8));
  if (!Number.isSafeInteger(maxDecodedBytes) || maxDecodedBytes < 0 || maxDecodedBytes > maxBytes) {
    throw invalidOption(
      'maxDecodedBytes',
      options.maxDecodedBytes,
      `an integer from 0 to maxBytes (${maxBytes})`,
    );
  }
  return new MemoryStore(
    maxBytes,
    maxEntries,
    maxEntryBytes,
    maxDecodedBytes,
    options.clock ?? systemClock,
    options.onEvict,
  );
}

/** How the store's bytes divide (see `MemoryStore.footprint`). */
export interface MemoryFootprint {
  /**
   * What the records are charged (`MemoryStore.bytesOf` of each): `sizeOfRecord` of each record
   * kept as an object or with its decoded entry, less that entry for a record kept encoded only.
   */
  readonly records: number;
  /** The part of `records` that is decoded entries kept (at most `maxDecodedBytes`). */
  readonly decoded: number;
  /** Header fields, flags, tag and vary sets that records share, each counted once. */
  readonly shared: number;
  /** Slab space that holds no live record: freed records not yet compacted, the unused tail. */
  readonly slabFree: number;
  /** Bytes of all the slabs held. */
  readonly slabs: number;
  /** An emptied slab held to be written over by the next one opened; not counted in `bytes`. */
  readonly spare: number;
}

type MutableEntry = { -readonly [K in keyof CacheEntry]: CacheEntry[K] };

/** In the LRU: a record as an object, or the row number of a record encoded in a slab. */
type Held = StoredRecord | number;

/**
 * The memory tier. A response record is encoded into a slab (a large shared ArrayBuffer): its
 * time fields, status and header text next to its body, and numbers for the parts it shares with
 * other records (header fields, flags, tag and vary sets, field names). Encoded, it costs its
 * bytes there and its LRU slot. A read decodes it into a `CacheEntry` whose body is a view on the
 * slab, and keeps that entry for the reads that follow, which return the same object (nothing
 * decoded, nothing allocated), as long as the entries kept fit in `maxDecodedBytes`: past it, the
 * entry not read for longest is let go (second chance: one read since it was last considered
 * spares it), and its record is decoded again on its next read. Records that cannot be encoded
 * (bodies too large for a slab, stores too small for slabs, parts that cannot be shared) are kept
 * as objects.
 */
export class MemoryStore implements CacheStore {
  readonly name = 'memory';
  readonly local = true;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly maxDecodedBytes: number;
  readonly #lru: LRUCache<string, Held>;
  readonly #maxEntryBytes: number;
  readonly #shared: SharedParts;
  readonly #slabs: RecordSlabs | undefined;
  readonly #onEvict: ((key: string, record: StoredRecord) => void) | undefined;
  #evictions = 0;

  constructor(
    maxBytes: number,
    maxEntries: number,
    maxEntryBytes: number,
    maxDecodedBytes: number,
    clock: Clock,
    onEvict: ((key: string, record: StoredRecord) => void) | undefined,
  ) {
    this.maxBytes = maxBytes;
    this.maxEntries = maxEntries;
    this.maxDecodedBytes = maxDecodedBytes;
    this.#maxEntryBytes = maxEntryBytes;
    this.#onEvict = onEvict;
    this.#shared = new SharedParts(Math.floor(maxBytes / 32));
    this.#slabs = RecordSlabs.forStore(maxBytes, maxDecodedBytes, this.#shared);
    this.#lru = new LRUCache<string, Held>({
      max: maxEntries,
      maxSize: maxBytes,
      maxEntrySize: maxEntryBytes,
      ttlAutopurge: false,
      // Expiry is checked against the injected clock so tests and the engine agree on "now".
      perf: { now: () => clock.now() },
      ttlResolution: 0,
      dispose: (held, key, reason) => this.#dispose(held, key, reason),
    });
  }

  /**
   * The stored record. A read of an encoded record whose decoded entry is kept returns that
   * entry and allocates nothing; otherwise it decodes the record and keeps the entry (within
   * `maxDecodedBytes`).
   */
  get(key: string): StoredRecord | undefined {
    const held = this.#lru.get(key);
    if (typeof held !== 'number') return held;
    return this.#slabs!.kept(held) ?? this.#decodeToKeep(held);
  }

  /**
   * The record without making it recently used: the decoded entry kept for it, else one decoded
   * for this call and not kept.
   */
  peek(key: string): StoredRecord | undefined {
    const held = this.#lru.peek(key);
    return typeof held === 'number' ? this.#slabs!.peek(held) : held;
  }

  set(key: string, record: StoredRecord, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    const ttl = Math.ceil(ttlMs);
    const ownKey = this.#ownKey(key);
    if (record.kind === 'response') {
      const row = this.#slabs?.encode(ownKey, record);
      if (row !== undefined) {
        this.#setEncoded(ownKey, row, ttl);
        return;
      }
    }
    const stored = record.kind === 'response' ? this.#compact(ownKey, record) : record;
    const size = sizeOfRecord(ownKey, stored);
    if (size > this.#maxEntryBytes) {
      this.#refuse(key, stored);
      return;
    }
    this.#lru.set(ownKey, stored, { ttl, size });
    this.#afterChange();
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

  /**
   * Bytes held: records (with the decoded entries kept), the parts they share, and free slab
   * space. Never above `maxBytes`.
   */
  get bytes(): number {
    const slabs = this.#slabs;
    const inSlabs = slabs === undefined ? 0 : slabs.decoded + slabs.free;
    return this.#lru.calculatedSize + this.#shared.bytes + inSlabs;
  }

  get footprint(): MemoryFootprint {
    const decoded = this.#slabs?.decoded ?? 0;
    return {
      records: this.#lru.calculatedSize + decoded,
      decoded,
      shared: this.#shared.bytes,
      slabFree: this.#slabs?.free ?? 0,
      slabs: this.#slabs?.total ?? 0,
      spare: this.#slabs?.spare ?? 0,
    };
  }

  /**
   * What the record under `key` is charged now (0 when there is none), without reading it:
   * `sizeOfRecord` of it, less its decoded entry for an encoded record that has none kept.
   */
  bytesOf(key: string): number {
    const held = this.#lru.peek(key, { allowStale: true });
    if (held === undefined) return 0;
    if (typeof held !== 'number') return sizeOfRecord(key, held);
    const slabs = this.#slabs!;
    return slabs.encodedBytes(held) + (slabs.isKept(held) ? slabs.decodedBytes(held) : 0);
  }

  get evictions(): number {
    return this.#evictions;
  }

  /** lru-cache keeps the first key string of a slot: reuse it rather than hold two copies. */
  #ownKey(key: string): string {
    const held = this.#lru.peek(key, { allowStale: true });
    if (held === undefined) return ownString(key);
    if (typeof held === 'number') return this.#slabs!.keyOf(held);
    return held.key === key ? held.key : ownString(key);
  }

  #setEncoded(key: string, row: number, ttl: number): void {
    const slabs = this.#slabs!;
    // A record is refused when it would not fit decoded (what `sizeOfRecord` says of it).
    if (slabs.encodedBytes(row) + slabs.decodedBytes(row) > this.#maxEntryBytes) {
      slabs.release(row);
      this.#lru.delete(key);
      return;
    }
    this.#lru.set(key, row, { ttl, size: slabs.encodedBytes(row) });
    this.#afterChange();
  }

  /**
   * Decodes an encoded record and keeps the entry for the next reads when it fits the decoded
   * budget (letting older entries go); the bytes it adds may push out least recently used records.
   */
  #decodeToKeep(row: number): CacheEntry {
    const slabs = this.#slabs!;
    const entry = slabs.decode(row);
    if (slabs.keep(row, entry)) this.#trim();
    return entry;
  }

  #dispose(held: Held, key: string, reason: LRUCache.DisposeReason): void {
    let record: StoredRecord | undefined;
    if (typeof held === 'number') {
      const slabs = this.#slabs!;
      if (reason === 'evict' && this.#wantsRecord()) record = slabs.peek(held);
      slabs.release(held);
    } else {
      record = held;
      if (held.kind === 'response') this.#shared.release(held);
    }
    if (reason === 'evict') {
      this.#evictions++;
      if (this.#onEvict !== undefined) this.#onEvict(key, record!);
    }
  }

  #wantsRecord(): boolean {
    return this.#onEvict !== undefined && this.#onEvict.length >= 2;
  }

  #refuse(key: string, stored: StoredRecord): void {
    // Refused, as lru-cache refuses it: what was there goes, what was taken for it is given back.
    if (stored.kind === 'response') this.#shared.release(stored);
    this.#lru.delete(key);
  }

  #afterChange(): void {
    this.#slabs?.compactIfFragmented();
    this.#trim();
  }

  /**
   * Shared parts and slab space count towards the bound too: evict the least recently used
   * records until everything fits. Each eviction lowers the total (a record is charged more than
   * the slab space it frees), so this ends.
   */
  #trim(): void {
    while (this.bytes > this.maxBytes && this.#lru.size > 0) this.#lru.pop();
  }

  /**
   * A record kept as an object: one flat copy of each string, a body with an ArrayBuffer of its
   * own, and header fields, flags, tags and vary sets shared with the other records that have
   * the same ones.
   */
  #compact(key: string, record: CacheEntry): CacheEntry {
    return {
      kind: 'response',
      // As given: a record of another envelope version must still read as one (a miss).
      v: record.v,
      key: record.key === key ? key : ownString(record.key),
      status: record.status,
      headers: this.#shared.headers(record.headers),
      body: ownBody(record.body),
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
  }
}

/** Reference-counted tables of the parts records share, with one byte budget between them. */
class SharedParts {
  readonly fields: SharedTable<[string, string]>;
  readonly flagSets: SharedTable<EntryFlags>;
  readonly tagSets: SharedTable<readonly string[]>;
  readonly varySets: SharedTable<Readonly<Record<string, string | null>>>;

  constructor(budget: number) {
    // Header fields repeat the most; the other tables are small.
    this.fields = new SharedTable(Math.floor(budget * 0.7));
    this.flagSets = new SharedTable(Math.floor(budget * 0.05));
    this.tagSets = new SharedTable(Math.floor(budget * 0.15));
    this.varySets = new SharedTable(Math.floor(budget * 0.1));
  }

  get bytes(): number {
    return this.fields.bytes + this.flagSets.bytes + this.tagSets.bytes + this.varySets.bytes;
  }

  /** The slot of a shared field equal to `name: value`, or 0 (keep it with the record). */
  fieldSlot(name: string, value: string): number {
    if (!isShareableField(name, value)) return 0;
    return this.fields.acquireSlot(
      fieldId(name, value),
      () => [canonicalName(name), ownString(value)],
      FIELD_BYTES + stringBytes(name) + stringBytes(value),
    );
  }

  flagsSlot(flags: EntryFlags): number {
    return this.flagSets.acquireSlot(
      flagsId(flags),
      () => Object.freeze({ ...flags }),
      OBJECT_BYTES + 4 * 8,
    );
  }

  tagsSlot(tags: readonly string[]): number {
    let bytes = arrayBytes(tags.length);
    for (const tag of tags) bytes += stringBytes(tag);
    return this.tagSets.acquireSlot(tagsId(tags), () => Object.freeze(tags.map(ownString)), bytes);
  }

  varySlot(vary: Readonly<Record<string, string | null>>): number {
    return this.varySets.acquireSlot(JSON.stringify(vary), () => ownVary(vary), varyBytes(vary));
  }

  headers(headers: HeaderList): HeaderList {
    const out: HeaderList = new Array<[string, string]>(headers.length);
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i]!;
      const slot = this.fieldSlot(name, value);
      out[i] = slot === 0 ? [canonicalName(name), ownString(value)] : this.fields.valueOf(slot);
    }
    return out;
  }

  flags(flags: EntryFlags): EntryFlags {
    const slot = this.flagsSlot(flags);
    return slot === 0 ? { ...flags } : this.flagSets.valueOf(slot);
  }

  tags(tags: readonly string[]): readonly string[] {
    if (tags.length === 0) return EMPTY_TAGS;
    const slot = this.tagsSlot(tags);
    return slot === 0 ? Object.freeze(tags.map(ownString)) : this.tagSets.valueOf(slot);
  }

  vary(vary: Readonly<Record<string, string | null>>): Readonly<Record<string, string | null>> {
    if (isEmptyVary(vary)) return EMPTY_VARY;
    const slot = this.varySlot(vary);
    return slot === 0 ? ownVary(vary) : this.varySets.valueOf(slot);
  }

  /** Gives back the shared parts of a record kept as an object. */
  release(entry: CacheEntry): void {
    for (const field of entry.headers) this.fields.release(fieldId(field[0], field[1]), field);
    this.flagSets.release(flagsId(entry.flags), entry.flags);
    if (entry.tags.length > 0) this.tagSets.release(tagsId(entry.tags), entry.tags);
    if (entry.vary !== EMPTY_VARY) this.varySets.release(JSON.stringify(entry.vary), entry.vary);
  }

  clear(): void {
    this.fields.clear();
    this.flagSets.clear();
    this.tagSets.clear();
    this.varySets.clear();
  }
}

function fieldId(name: string, value: string): string {
  return `${name}\n${value}`;
}

function tagsId(tags: readonly string[]): string {
  return tags.join('\n');
}

function isEmptyVary(vary: Readonly<Record<string, string | null>>): boolean {
  return vary === EMPTY_VARY || Object.keys(vary).length === 0;
}

function ownVary(vary: Readonly<Record<string, string | null>>): Record<string, string | null> {
  const copy: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(vary)) {
    copy[ownString(name)] = value === null ? null : ownString(value);
  }
  return Object.freeze(copy);
}

/** Marks the ArrayBuffers of slabs, so that `sizeOfRecord` charges a record by where it lives. */
const slabBuffers = new WeakSet<ArrayBufferLike>();

interface NodeBufferClass {
  isBuffer(value: unknown): boolean;
  from(buffer: ArrayBuffer, byteOffset: number, length: number): Uint8Array & NodeBytes;
  allocUnsafeSlow(size: number): Uint8Array;
  alloc(size: number): Uint8Array;
}

interface NodeBytes {
  toString(encoding: 'latin1' | 'utf16le', start: number, end: number): string;
}

/** Node's Buffer where there is one: a body stays the kind of view it was stored as. */
const NodeBuffer = (globalThis as { Buffer?: NodeBufferClass }).Buffer;

function isNodeBuffer(bytes: Uint8Array): boolean {
  return NodeBuffer !== undefined && NodeBuffer.isBuffer(bytes);
}

const EMPTY_BYTES = markShared(new Uint8Array(0));
const EMPTY_BUFFER = NodeBuffer === undefined ? EMPTY_BYTES : markShared(NodeBuffer.alloc(0));

/**
 * A body kept with a record object has an ArrayBuffer of exactly its size: as it is when it
 * already has one, copied when it is a view into something larger (a pooled Buffer would keep
 * its pool).
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

/*
 * A record in a slab, from an 8-aligned offset (little-endian words of the platform; a slab never
 * leaves the process):
 *
 *   0  u32 row           8 f64 storedAt, fetchedAt, initialAge, staleAt, deleteAt (to 48)
 *   4  u32 length       48 u16 status   50 u8 bits   51 u8 envelope version
 *  52  u32 flags slot   56 u32 tags slot (0: none; OWN_TAGS: the record's own, after its fields)
 *  60  u32 vary slot (0: none)
 *  64  u32 fields       68 u32 body length           72 u32 body offset in the record
 *  76  fields, each a u32 word: a shared field (SHARED_FIELD | slot), or a field name number
 *      (| UTF16 when the value has code units above 0xff) then a u32 length and the value's code
 *      units (one byte each, or two), padded to 4
 *      then its own tags when it has tags that are not shared: a u32 count, each tag as a field
 *      value (with no name)
 *      then the record's own key when it is not the key it is stored under, the same way
 *      then the body
 */
const HEADER_BYTES = 76;
const SHARED_FIELD = 0x80000000;
const OWN_TAGS = 0xffffffff;
const UTF16 = 0x10000;
const BIT_GENERATED_ETAG = 1;
const BIT_OWN_KEY = 2;
const BIT_NODE_BUFFER = 4;

/** Bytes a record takes in a slab (8-aligned, so that the next one's time fields are too). */
function encodedLength(record: CacheEntry, ownKey: boolean): number {
  let length = HEADER_BYTES;
  for (const field of record.headers) {
    length += isShared(field) ? 4 : 8 + align4(charBytes(field[1]));
  }
  if (!isShared(record.tags)) length += ownTagsLength(record.tags);
  if (ownKey) length += 8 + align4(charBytes(record.key));
  return align8(length + record.body.byteLength);
}

function ownTagsLength(tags: readonly string[]): number {
  let length = 4;
  for (const tag of tags) length += 8 + align4(charBytes(tag));
  return length;
}

/** Bytes of the code units of a string kept in a slab, from its head word and length. */
function unitBytes(head: number, length: number): number {
  return (head & UTF16) !== 0 ? length * 2 : length;
}

function align4(bytes: number): number {
  return (bytes + 3) & ~3;
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

function charBytes(text: string): number {
  return isLatin1(text) ? text.length : text.length * 2;
}

interface Slab {
  readonly index: number;
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  /** A Buffer on the slab where Node has one, to decode strings natively. */
  readonly node: (Uint8Array & NodeBytes) | undefined;
  used: number;
  live: number;
  /** A view on this slab has left the store (a decoded body): it is never written again. */
  escaped: boolean;
}

/** The shared parts a record takes before it is written, given back if it is not. */
interface Taken {
  flags: number;
  tags: number;
  vary: number;
  readonly fields: number[];
}

/**
 * Records encoded into slabs, and the table of rows that says where each one is. A slab is
 * written once, so a body view handed out on a hit stays valid whatever the store does next; a
 * slab whose records are all gone is dropped for the GC. One exception keeps memory flat while
 * records churn: an emptied slab that no view ever left (none of its records was read) is kept
 * as the spare, and the next slab opened is written over it, rather than waiting for a GC to free
 * it while a new one is allocated (a store overfilled by writes would otherwise hold up to its
 * size again in dropped slabs). When freed
 * records leave too much dead space in partly used slabs, the live records of the emptiest ones
 * are moved into the current slab (a decoded entry kept gets a view on the new place; same bytes).
 *
 * The decoded entries kept, at most `maxDecoded` bytes of them, are in a circular list threaded
 * through the rows (row 0 is its head), oldest first. A read of a kept entry only marks its row;
 * to make room the oldest entry is let go, unless it is marked: then it is unmarked and goes to
 * the end (a second chance), so that an entry read again and again stays.
 */
class RecordSlabs {
  readonly #shared: SharedParts;
  readonly #slabBytes: number;
  readonly #maxRecordBytes: number;
  readonly #compactAbove: number;
  readonly #compactTo: number;
  readonly #slabs: Array<Slab | undefined> = [];
  readonly #freeSlabs: number[] = [];
  #current: Slab | undefined;
  /** An emptied slab no view ever left, to be written over by the next slab opened. */
  #spare: Slab | undefined;
  #total = 0;
  #live = 0;
  // The record table, by row (row 0 unused).
  #slabOf = new Int32Array(1024);
  #offsetOf = new Int32Array(1024);
  readonly #keys: Array<string | undefined> = [undefined];
  readonly #kept: Array<MutableEntry | undefined> = [undefined];
  readonly #freeRows: number[] = [];
  // The list of kept entries, by row: links (0 is the head) and the mark of a read.
  #next = new Int32Array(1024);
  #previous = new Int32Array(1024);
  #read = new Uint8Array(1024);
  readonly #maxDecoded: number;
  #decoded = 0;

  /** Slabs of up to 1 MiB, at most 1/128 of the store; stores under 2 MiB keep no slabs. */
  static forStore(
    maxBytes: number,
    maxDecoded: number,
    shared: SharedParts,
  ): RecordSlabs | undefined {
    let slabBytes = 1024 * 1024;
    while (slabBytes > maxBytes / 128) slabBytes /= 2;
    if (slabBytes < 16 * 1024) return undefined;
    return new RecordSlabs(slabBytes, maxBytes, maxDecoded, shared);
  }

  private constructor(
    slabBytes: number,
    maxBytes: number,
    maxDecoded: number,
    shared: SharedParts,
  ) {
    this.#shared = shared;
    this.#maxDecoded = maxDecoded;
    this.#slabBytes = slabBytes;
    this.#maxRecordBytes = slabBytes / 8;
    this.#compactAbove = Math.max(4 * slabBytes, Math.floor(maxBytes / 32));
    this.#compactTo = Math.max(2 * slabBytes, Math.floor(maxBytes / 64));
  }

  /** Bytes of all the slabs held. */
  get total(): number {
    return this.#total;
  }

  /** Bytes of the emptied slab held for reuse (not in `total`). */
  get spare(): number {
    return this.#spare === undefined ? 0 : this.#slabBytes;
  }

  /** Slab bytes holding no live record (dead space and the current slab's unused tail). */
  get free(): number {
    return this.#total - this.#live;
  }

  /** Bytes of the decoded entries kept (`decodedBytes` of each). */
  get decoded(): number {
    return this.#decoded;
  }

  /**
   * Writes `record` into a slab and returns its row, or undefined when it is not one to encode
   * (too large, a part that cannot be shared or numbered); then nothing was taken.
   */
  encode(key: string, record: CacheEntry): number | undefined {
    if (record.body.byteLength > this.#maxRecordBytes) return undefined;
    if (!isByte(record.v) || !isUint16(record.status)) return undefined;
    const taken = this.#take(record);
    if (taken === undefined) return undefined;
    const ownKey = record.key !== key;
    let length = HEADER_BYTES;
    for (let i = 0; i < record.headers.length; i++) {
      length += taken.fields[i]! !== 0 ? 4 : 8 + align4(charBytes(record.headers[i]![1]));
    }
    if (taken.tags === OWN_TAGS) length += ownTagsLength(record.tags);
    if (ownKey) length += 8 + align4(charBytes(record.key));
    const bodyOffset = length;
    length = align8(length + record.body.byteLength);
    if (length > this.#maxRecordBytes + 1024) {
      this.#giveBack(taken);
      return undefined;
    }
    const row = this.#newRow(key);
    const slab = this.#place(row, length);
    const at = this.#offsetOf[row]!;
    this.#write(slab, at, row, length, record, taken, ownKey, bodyOffset);
    return row;
  }

  /** The record in `row` as a `CacheEntry`; its body is a view on the slab. */
  decode(row: number): MutableEntry {
    const slab = this.#slabs[this.#slabOf[row]!]!;
    const at = this.#offsetOf[row]!;
    const { u32, f64, bytes } = slab;
    const word = at >>> 2;
    const bits = bytes[at + 50]!;
    const count = u32[word + 16]!;
    const headers: HeaderList = new Array<[string, string]>(count);
    let position = at + HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      const head = u32[position >>> 2]!;
      if (head >= SHARED_FIELD) {
        headers[i] = this.#shared.fields.valueOf(head - SHARED_FIELD);
        position += 4;
        continue;
      }
      const length = u32[(position >>> 2) + 1]!;
      const wide = (head & UTF16) !== 0;
      headers[i] = [nameOf(head & 0xffff), readString(slab, position + 8, length, wide)];
      position += 8 + align4(wide ? length * 2 : length);
    }
    const tagsSlot = u32[word + 14]!;
    let tags = EMPTY_TAGS;
    if (tagsSlot === OWN_TAGS) {
      const own = new Array<string>(u32[position >>> 2]!);
      position += 4;
      for (let i = 0; i < own.length; i++) {
        const head = u32[position >>> 2]!;
        const length = u32[(position >>> 2) + 1]!;
        const wide = (head & UTF16) !== 0;
        own[i] = readString(slab, position + 8, length, wide);
        position += 8 + align4(wide ? length * 2 : length);
      }
      tags = own;
    } else if (tagsSlot !== 0) {
      tags = this.#shared.tagSets.valueOf(tagsSlot);
    }
    let key = this.#keys[row]!;
    if ((bits & BIT_OWN_KEY) !== 0) {
      const head = u32[position >>> 2]!;
      key = readString(slab, position + 8, u32[(position >>> 2) + 1]!, (head & UTF16) !== 0);
    }
    const flagsSlot = u32[word + 13]!;
    const varySlot = u32[word + 15]!;
    const base = at >>> 3;
    return {
      kind: 'response',
      v: bytes[at + 51]! as 1,
      key,
      status: slab.u16[(at + 48) >>> 1]!,
      headers,
      body: bodyView(slab, at + u32[word + 18]!, u32[word + 17]!, (bits & BIT_NODE_BUFFER) !== 0),
      storedAt: f64[base + 1]!,
      fetchedAt: f64[base + 2]!,
      initialAge: f64[base + 3]!,
      staleAt: f64[base + 4]!,
      deleteAt: f64[base + 5]!,
      vary: varySlot === 0 ? EMPTY_VARY : this.#shared.varySets.valueOf(varySlot),
      tags,
      generatedETag: (bits & BIT_GENERATED_ETAG) !== 0,
      flags: this.#shared.flagSets.valueOf(flagsSlot),
    };
  }

  /** What decoding the record in `row` will add (`decodedBytes` of `sizeOfRecord`, from its bytes). */
  decodedBytes(row: number): number {
    const slab = this.#slabs[this.#slabOf[row]!]!;
    const at = this.#offsetOf[row]!;
    const u32 = slab.u32;
    const count = u32[(at >>> 2) + 16]!;
    let size = DECODED_RECORD_BYTES + arrayBytes(count);
    let position = at + HEADER_BYTES;
    // A string kept with the record takes 8 bytes and its code units (padded to 4) in the slab;
    // decoded, it is a string of those code units (as `stringBytes` counts it).
    for (let i = 0; i < count; i++) {
      const head = u32[position >>> 2]!;
      if (head >= SHARED_FIELD) {
        position += 4;
        continue;
      }
      const units = unitBytes(head, u32[(position >>> 2) + 1]!);
      position += 8 + align4(units);
      size += FIELD_BYTES + 16 + align8(units);
    }
    if (u32[(at >>> 2) + 14] === OWN_TAGS) {
      const tags = u32[position >>> 2]!;
      position += 4;
      size += arrayBytes(tags);
      for (let i = 0; i < tags; i++) {
        const units = unitBytes(u32[position >>> 2]!, u32[(position >>> 2) + 1]!);
        position += 8 + align4(units);
        size += 16 + align8(units);
      }
    }
    if ((slab.bytes[at + 50]! & BIT_OWN_KEY) !== 0) {
      size += 16 + align8(unitBytes(u32[position >>> 2]!, u32[(position >>> 2) + 1]!));
    }
    return size;
  }

  /** What the LRU charges an encoded record before it is read. */
  encodedBytes(row: number): number {
    const slab = this.#slabs[this.#slabOf[row]!]!;
    return (
      ENCODED_RECORD_BYTES + stringBytes(this.#keys[row]!) + slab.u32[this.#offsetOf[row]! / 4 + 1]!
    );
  }

  keyOf(row: number): string {
    return this.#keys[row]!;
  }

  /** The decoded entry kept for `row`, marked as read; undefined when none is kept. */
  kept(row: number): MutableEntry | undefined {
    const entry = this.#kept[row];
    if (entry !== undefined) this.#read[row] = 1;
    return entry;
  }

  /** The decoded entry kept for `row`, else one decoded now (not kept, not marked as read). */
  peek(row: number): MutableEntry {
    return this.#kept[row] ?? this.decode(row);
  }

  isKept(row: number): boolean {
    return this.#kept[row] !== undefined;
  }

  /**
   * Keeps `entry`, just decoded from `row` (which has none kept), as its decoded record (it moves
   * with the row), letting older entries go to stay within the budget. False when it is not kept:
   * an entry larger than the whole budget (any entry when the budget is 0).
   */
  keep(row: number, entry: MutableEntry): boolean {
    const size = this.decodedBytes(row);
    if (size > this.#maxDecoded) return false;
    const next = this.#next;
    while (this.#decoded + size > this.#maxDecoded) {
      const oldest = next[0]!;
      this.#unlink(oldest);
      if (this.#read[oldest] === 1) {
        this.#read[oldest] = 0;
        this.#append(oldest);
      } else {
        this.#letGo(oldest);
      }
    }
    this.#kept[row] = entry;
    this.#read[row] = 0;
    this.#append(row);
    this.#decoded += size;
    return true;
  }

  /** The record in `row` is gone: its shared parts, its slab space and the row are given back. */
  release(row: number): void {
    if (this.#kept[row] !== undefined) {
      this.#unlink(row);
      this.#letGo(row);
    }
    const slab = this.#slabs[this.#slabOf[row]!]!;
    const at = this.#offsetOf[row]!;
    this.#giveBack(this.#takenBy(slab, at));
    const length = slab.u32[(at >>> 2) + 1]!;
    slab.live -= length;
    this.#live -= length;
    if (slab.live === 0 && slab !== this.#current) this.#drop(slab);
    this.#keys[row] = undefined;
    // A freed row points nowhere, so that a walk of its old slab sees its record as dead.
    this.#slabOf[row] = -1;
    this.#freeRows.push(row);
  }

  /**
   * Moves the live records of the emptiest slabs when dead space (not counting the current slab's
   * tail) has grown past its allowance. A slab is moved only when at least a quarter of it is
   * dead, which frees more than moving can cost (at most the tail of one filled slab).
   */
  compactIfFragmented(): void {
    if (this.#dead() <= this.#compactAbove) return;
    const candidates = this.#slabs
      .filter((slab): slab is Slab => slab !== undefined && slab !== this.#current)
      .sort((a, b) => a.live - b.live);
    for (const slab of candidates) {
      if (this.#dead() <= this.#compactTo) break;
      if (slab.live > (this.#slabBytes * 3) / 4) break;
      this.#evacuate(slab);
    }
  }

  clear(): void {
    this.#slabs.length = 0;
    this.#freeSlabs.length = 0;
    this.#current = undefined;
    this.#spare = undefined;
    this.#total = 0;
    this.#live = 0;
    this.#keys.length = 1;
    this.#kept.length = 1;
    this.#freeRows.length = 0;
    this.#next[0] = 0;
    this.#previous[0] = 0;
    this.#decoded = 0;
  }

  /** Adds `row` at the end of the list of kept entries (before the head). */
  #append(row: number): void {
    const last = this.#previous[0]!;
    this.#next[last] = row;
    this.#previous[row] = last;
    this.#next[row] = 0;
    this.#previous[0] = row;
  }

  #unlink(row: number): void {
    const previous = this.#previous[row]!;
    const next = this.#next[row]!;
    this.#next[previous] = next;
    this.#previous[next] = previous;
  }

  /** Lets the decoded entry of `row` go (already out of the list); the record stays encoded. */
  #letGo(row: number): void {
    this.#decoded -= this.decodedBytes(row);
    this.#kept[row] = undefined;
  }

  /** The shared parts of `record`, or undefined (nothing taken) when one cannot be shared. */
  #take(record: CacheEntry): Taken | undefined {
    const shared = this.#shared;
    const taken: Taken = { flags: 0, tags: 0, vary: 0, fields: [] };
    taken.flags = shared.flagsSlot(record.flags);
    let ok = taken.flags !== 0;
    // Tags particular to a record (`product:42`) are kept with it once the table is full.
    if (ok && record.tags.length > 0) taken.tags = shared.tagsSlot(record.tags) || OWN_TAGS;
    if (ok && !isEmptyVary(record.vary)) ok = (taken.vary = shared.varySlot(record.vary)) !== 0;
    for (let i = 0; ok && i < record.headers.length; i++) {
      const [name, value] = record.headers[i]!;
      const slot = shared.fieldSlot(name, value);
      taken.fields.push(slot);
      // A field kept with the record needs a name number.
      if (slot === 0 && nameId(name) < 0) ok = false;
    }
    if (ok) return taken;
    this.#giveBack(taken);
    return undefined;
  }

  #giveBack(taken: Taken): void {
    const shared = this.#shared;
    if (taken.flags !== 0) shared.flagSets.releaseSlot(taken.flags);
    if (taken.tags !== 0 && taken.tags !== OWN_TAGS) shared.tagSets.releaseSlot(taken.tags);
    if (taken.vary !== 0) shared.varySets.releaseSlot(taken.vary);
    for (const slot of taken.fields) if (slot !== 0) shared.fields.releaseSlot(slot);
  }

  /** The shared parts the record at `at` holds, read back from its bytes. */
  #takenBy(slab: Slab, at: number): Taken {
    const u32 = slab.u32;
    const word = at >>> 2;
    const fields: number[] = [];
    let position = at + HEADER_BYTES;
    for (let i = u32[word + 16]!; i > 0; i--) {
      const head = u32[position >>> 2]!;
      if (head >= SHARED_FIELD) {
        fields.push(head - SHARED_FIELD);
        position += 4;
      } else {
        const length = u32[(position >>> 2) + 1]!;
        position += 8 + align4((head & UTF16) !== 0 ? length * 2 : length);
      }
    }
    return { flags: u32[word + 13]!, tags: u32[word + 14]!, vary: u32[word + 15]!, fields };
  }

  #write(
    slab: Slab,
    at: number,
    row: number,
    length: number,
    record: CacheEntry,
    taken: Taken,
    ownKey: boolean,
    bodyOffset: number,
  ): void {
    const { u32, f64, bytes } = slab;
    const word = at >>> 2;
    const base = at >>> 3;
    u32[word] = row;
    u32[word + 1] = length;
    f64[base + 1] = record.storedAt;
    f64[base + 2] = record.fetchedAt;
    f64[base + 3] = record.initialAge;
    f64[base + 4] = record.staleAt;
    f64[base + 5] = record.deleteAt;
    slab.u16[(at + 48) >>> 1] = record.status;
    bytes[at + 50] =
      (record.generatedETag ? BIT_GENERATED_ETAG : 0) |
      (ownKey ? BIT_OWN_KEY : 0) |
      (isNodeBuffer(record.body) ? BIT_NODE_BUFFER : 0);
    bytes[at + 51] = record.v;
    u32[word + 13] = taken.flags;
    u32[word + 14] = taken.tags;
    u32[word + 15] = taken.vary;
    u32[word + 16] = record.headers.length;
    u32[word + 17] = record.body.byteLength;
    u32[word + 18] = bodyOffset;
    let position = at + HEADER_BYTES;
    for (let i = 0; i < record.headers.length; i++) {
      const slot = taken.fields[i]!;
      if (slot !== 0) {
        u32[position >>> 2] = SHARED_FIELD + slot;
        position += 4;
        continue;
      }
      const [name, value] = record.headers[i]!;
      position = writeString(slab, position, nameId(name), value);
    }
    if (taken.tags === OWN_TAGS) {
      u32[position >>> 2] = record.tags.length;
      position += 4;
      for (const tag of record.tags) position = writeString(slab, position, 0, tag);
    }
    if (ownKey) position = writeString(slab, position, 0, record.key);
    bytes.set(record.body, at + bodyOffset);
  }

  #newRow(key: string): number {
    const row = this.#freeRows.pop() ?? this.#keys.length;
    if (row >= this.#slabOf.length) {
      this.#slabOf = grown(this.#slabOf, new Int32Array(this.#slabOf.length * 2));
      this.#offsetOf = grown(this.#offsetOf, new Int32Array(this.#offsetOf.length * 2));
      this.#next = grown(this.#next, new Int32Array(this.#next.length * 2));
      this.#previous = grown(this.#previous, new Int32Array(this.#previous.length * 2));
      this.#read = grown(this.#read, new Uint8Array(this.#read.length * 2));
    }
    this.#keys[row] = key;
    this.#kept[row] = undefined;
    return row;
  }

  /** Room for `length` bytes at the end of the current slab (a new one when it is full). */
  #place(row: number, length: number): Slab {
    let slab = this.#current;
    if (slab === undefined || slab.used + length > this.#slabBytes) slab = this.#open();
    this.#slabOf[row] = slab.index;
    this.#offsetOf[row] = slab.used;
    slab.used += length;
    slab.live += length;
    this.#live += length;
    return slab;
  }

  #dead(): number {
    const tail = this.#current === undefined ? 0 : this.#slabBytes - this.#current.used;
    return this.#total - this.#live - tail;
  }

  #evacuate(slab: Slab): void {
    const u32 = slab.u32;
    for (let at = 0; at < slab.used;) {
      const row = u32[at >>> 2]!;
      const length = u32[(at >>> 2) + 1]!;
      if (this.#slabOf[row] === slab.index && this.#offsetOf[row] === at && slab.live > 0) {
        this.#move(slab, at, row, length);
      }
      at += length;
    }
  }

  #move(from: Slab, at: number, row: number, length: number): void {
    const to = this.#place(row, length);
    const offset = this.#offsetOf[row]!;
    to.bytes.set(from.bytes.subarray(at, at + length), offset);
    from.live -= length;
    this.#live -= length;
    const kept = this.#kept[row];
    if (kept !== undefined) {
      // The entry may have been handed out: its old slab was marked when it was decoded, and
      // the new view marks the new one.
      const word = offset >>> 2;
      kept.body = bodyView(
        to,
        offset + to.u32[word + 18]!,
        to.u32[word + 17]!,
        isNodeBuffer(kept.body),
      );
    }
    if (from.live === 0) this.#drop(from);
  }

  #open(): Slab {
    const previous = this.#current;
    const spare = this.#spare;
    this.#spare = undefined;
    const buffer = spare?.buffer ?? new ArrayBuffer(this.#slabBytes);
    slabBuffers.add(buffer);
    const index = this.#freeSlabs.pop() ?? this.#slabs.length;
    // Nothing is read past `used`, so a spare's old bytes need no clearing.
    const slab: Slab = {
      index,
      buffer,
      bytes: spare?.bytes ?? new Uint8Array(buffer),
      u16: spare?.u16 ?? new Uint16Array(buffer),
      u32: spare?.u32 ?? new Uint32Array(buffer),
      f64: spare?.f64 ?? new Float64Array(buffer),
      node: spare === undefined ? NodeBuffer?.from(buffer, 0, buffer.byteLength) : spare.node,
      used: 0,
      live: 0,
      escaped: false,
    };
    this.#slabs[index] = slab;
    this.#total += this.#slabBytes;
    this.#current = slab;
    if (previous !== undefined && previous.live === 0) this.#drop(previous);
    return slab;
  }

  #drop(slab: Slab): void {
    if (this.#slabs[slab.index] !== slab) return;
    this.#slabs[slab.index] = undefined;
    this.#freeSlabs.push(slab.index);
    this.#total -= this.#slabBytes;
    if (this.#current === slab) this.#current = undefined;
    if (!slab.escaped && this.#spare === undefined) this.#spare = slab;
  }
}

/** `larger` with `table` copied into its start. */
function grown<T extends Int32Array | Uint8Array>(table: T, larger: T): T {
  larger.set(table);
  return larger;
}

function isByte(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xff;
}

function isUint16(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

/** A view on a record's body in `slab`, which from now on is never written over. */
function bodyView(slab: Slab, offset: number, length: number, nodeBuffer: boolean): Uint8Array {
  slab.escaped = true;
  return nodeBuffer
    ? NodeBuffer!.from(slab.buffer, offset, length)
    : new Uint8Array(slab.buffer, offset, length);
}

/** Writes a name number (or 0) and `text`'s code units at `position`; returns the next position. */
function writeString(slab: Slab, position: number, name: number, text: string): number {
  const wide = !isLatin1(text);
  slab.u32[position >>> 2] = name | (wide ? UTF16 : 0);
  slab.u32[(position >>> 2) + 1] = text.length;
  const start = position + 8;
  if (wide) {
    // 4-aligned, so the 16-bit view lines up.
    const u16 = slab.u16;
    for (let i = 0; i < text.length; i++) u16[(start >>> 1) + i] = text.charCodeAt(i);
    return start + align4(text.length * 2);
  }
  const bytes = slab.bytes;
  for (let i = 0; i < text.length; i++) bytes[start + i] = text.charCodeAt(i);
  return start + align4(text.length);
}

function readString(slab: Slab, start: number, length: number, wide: boolean): string {
  if (slab.node !== undefined) {
    return slab.node.toString(
      wide ? 'utf16le' : 'latin1',
      start,
      start + (wide ? 2 * length : length),
    );
  }
  const units = wide
    ? slab.u16.subarray(start >>> 1, (start >>> 1) + length)
    : slab.bytes.subarray(start, start + length);
  let text = '';
  for (let i = 0; i < units.length; i += 8192) {
    text += String.fromCharCode(...units.subarray(i, i + 8192));
  }
  return text;
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
