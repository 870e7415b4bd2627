import type { EntryFlags, HeaderList } from './types.ts';

/**
 * Header fields whose value is particular to one response: sharing them saves nothing and only
 * fills the tables, so they are never interned.
 */
const PER_RESPONSE_FIELDS: ReadonlySet<string> = new Set([
  'etag',
  'content-md5',
  'digest',
  'content-digest',
  'repr-digest',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'traceparent',
  'set-cookie',
]);

/** Values longer than this are not worth a table slot: they rarely repeat. */
const MAX_SHARED_VALUE_LENGTH = 128;

/** Whether a field is worth sharing across entries. */
export function isShareableField(name: string, value: string): boolean {
  return value.length <= MAX_SHARED_VALUE_LENGTH && !PER_RESPONSE_FIELDS.has(name);
}

/**
 * Shares the parts that repeat across thousands of entries (header fields such as
 * `content-type: application/json`, directive summaries), so an entry costs its body and little
 * more. Bounded: a table that fills up is started over, so fields that keep repeating are shared
 * again at once while one-off values never pin the table for good.
 */
export class Interner {
  #fields = new Map<string, [string, string]>();
  #flags = new Map<string, EntryFlags>();
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  /** The same pair object for the same field, for fields worth sharing. */
  headers(headers: HeaderList): HeaderList {
    const out: HeaderList = new Array<[string, string]>(headers.length);
    for (let i = 0; i < headers.length; i++) {
      const field = headers[i]!;
      if (!isShareableField(field[0], field[1])) {
        out[i] = field;
        continue;
      }
      const id = `${field[0]}\n${field[1]}`;
      let shared = this.#fields.get(id);
      if (shared === undefined) {
        shared = field;
        if (this.#fields.size >= this.#limit) this.#fields = new Map();
        this.#fields.set(id, shared);
      }
      out[i] = shared;
    }
    return out;
  }

  flags(flags: EntryFlags): EntryFlags {
    const id = flagsId(flags);
    const shared = this.#flags.get(id);
    if (shared !== undefined) return shared;
    const frozen = Object.freeze({ ...flags });
    if (this.#flags.size >= this.#limit) this.#flags = new Map();
    this.#flags.set(id, frozen);
    return frozen;
  }
}

export function flagsId(flags: EntryFlags): string {
  return `${+flags.mustRevalidate}${+flags.noCache}:${flags.staleWhileRevalidate}:${flags.staleIfError}`;
}

export const EMPTY_VARY: Readonly<Record<string, string | null>> = Object.freeze({});
export const EMPTY_TAGS: readonly string[] = Object.freeze([]);

/**
 * Objects that many records point at (a shared header field, a flags summary, the empty vary and
 * tag sets). A record is charged nothing for them: whoever shares them accounts for them once.
 */
const sharedObjects = new WeakSet<object>([EMPTY_VARY, EMPTY_TAGS]);

export function isShared(value: object): boolean {
  return sharedObjects.has(value);
}

/** Marks a value that many records point at (see `isShared`). */
export function markShared<T extends object>(value: T): T {
  sharedObjects.add(value);
  return value;
}

/** One string per header field name, for every record that has the field, with a number. */
const names = new Map<string, number>();
const nameList: string[] = [];
const MAX_NAMES = 1024;

/**
 * The number of the shared copy of a field name, or -1 past `MAX_NAMES` distinct names. Names
 * are never dropped: there are few, and a number stays valid for good.
 */
export function nameId(name: string): number {
  const known = names.get(name);
  if (known !== undefined) return known;
  if (nameList.length >= MAX_NAMES) return -1;
  const own = ownString(name);
  names.set(own, nameList.length);
  nameList.push(own);
  return nameList.length - 1;
}

export function nameOf(id: number): string {
  return nameList[id]!;
}

/** The shared copy of a field name (past `MAX_NAMES` distinct names, an own copy). */
export function canonicalName(name: string): string {
  const id = nameId(name);
  return id < 0 ? ownString(name) : nameList[id]!;
}

/** Whether `name` is one of the shared field names (and costs a record nothing). */
export function isCanonicalName(name: string): boolean {
  return names.has(name);
}

interface Slot<T extends object> {
  readonly id: string;
  readonly value: T;
  readonly bytes: number;
  refs: number;
}

/**
 * A table of shared values with reference counts, so that their memory is accounted exactly: a
 * value costs its bytes once while any record uses it, and nothing after the last one goes.
 * `budget` bounds the bytes the table may hold; past it, callers keep values of their own (and
 * charge them to the record). Each value has a slot number (from 1) that records may keep
 * instead of the value.
 */
export class SharedTable<T extends object> {
  readonly #slotOf = new Map<string, number>();
  readonly #slots: Array<Slot<T> | undefined> = [undefined];
  readonly #free: number[] = [];
  readonly #budget: number;
  #bytes = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  /** Bytes held by the shared values in use. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The slot of the shared value for `id` (counted as one more use), or 0 when the table is full. */
  acquireSlot(id: string, make: () => T, bytes: number): number {
    const known = this.#slotOf.get(id);
    if (known !== undefined) {
      this.#slots[known]!.refs++;
      return known;
    }
    const cost = bytes + SLOT_BYTES + stringBytes(id);
    if (this.#bytes + cost > this.#budget) return 0;
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = { id, value: markShared(make()), bytes: cost, refs: 1 };
    this.#slotOf.set(id, slot);
    this.#bytes += cost;
    return slot;
  }

  /** The shared value for `id` (counted as one more use), or undefined when the table is full. */
  acquire(id: string, make: () => T, bytes: number): T | undefined {
    const slot = this.acquireSlot(id, make, bytes);
    return slot === 0 ? undefined : this.#slots[slot]!.value;
  }

  valueOf(slot: number): T {
    return this.#slots[slot]!.value;
  }

  /** Counts one use of the value in `slot` gone. */
  releaseSlot(slot: number): void {
    const held = this.#slots[slot];
    if (held === undefined || --held.refs > 0) return;
    this.#slots[slot] = undefined;
    this.#slotOf.delete(held.id);
    this.#free.push(slot);
    this.#bytes -= held.bytes;
  }

  /** Counts one use of `value` gone, when it is the shared value for `id`. */
  release(id: string, value: T): void {
    const slot = this.#slotOf.get(id);
    if (slot !== undefined && this.#slots[slot]!.value === value) this.releaseSlot(slot);
  }

  clear(): void {
    this.#slotOf.clear();
    this.#slots.length = 1;
    this.#free.length = 0;
    this.#bytes = 0;
  }
}

/** A slot object, its map entry and the weak-set entry that marks the value as shared. */
const SLOT_BYTES = 120;

/** Heap bytes of a string kept on its own (V8: 16-byte header, one or two bytes per character). */
export function stringBytes(text: string): number {
  let perChar = 1;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) {
      perChar = 2;
      break;
    }
  }
  return 16 + align8(text.length * perChar);
}

export function align8(bytes: number): number {
  return (bytes + 7) & ~7;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const scratch = new Uint8Array(4096);

/**
 * A copy of `text` as one flat string. Strings built by concatenation are trees of pieces (V8 cons
 * strings) and substrings can keep a much larger parent alive; a long-lived cache entry should
 * hold exactly its characters. Falls back to `text` itself when it does not survive UTF-8 (a lone
 * surrogate).
 */
export function ownString(text: string): string {
  if (text.length === 0) return '';
  const copy =
    text.length * 3 <= scratch.length
      ? decoder.decode(scratch.subarray(0, encoder.encodeInto(text, scratch).written))
      : decoder.decode(encoder.encode(text));
  return copy === text ? copy : text;
}
