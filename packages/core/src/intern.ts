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

/** One string per header field name, for every record that has the field. */
const names = new Map<string, string>();
const MAX_NAMES = 1024;

/** The shared copy of a field name (past `MAX_NAMES` distinct names, an own copy). */
export function canonicalName(name: string): string {
  const known = names.get(name);
  if (known !== undefined) return known;
  const own = ownString(name);
  if (names.size < MAX_NAMES) names.set(own, own);
  return own;
}

/** Whether `name` is one of the shared field names (and costs a record nothing). */
export function isCanonicalName(name: string): boolean {
  return names.has(name);
}

interface Slot<T extends object> {
  readonly value: T;
  readonly bytes: number;
  refs: number;
}

/**
 * A table of shared values with reference counts, so that their memory is accounted exactly: a
 * value costs its bytes once while any record uses it, and nothing after the last one goes.
 * `budget` bounds the bytes the table may hold; past it, callers keep values of their own (and
 * charge them to the record).
 */
export class SharedTable<T extends object> {
  readonly #slots = new Map<string, Slot<T>>();
  readonly #budget: number;
  #bytes = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  /** Bytes held by the shared values in use. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The shared value for `id` (counted as one more use), or undefined when the table is full. */
  acquire(id: string, make: () => T, bytes: number): T | undefined {
    const slot = this.#slots.get(id);
    if (slot !== undefined) {
      slot.refs++;
      return slot.value;
    }
    const cost = bytes + SLOT_BYTES + stringBytes(id);
    if (this.#bytes + cost > this.#budget) return undefined;
    const value = markShared(make());
    this.#slots.set(id, { value, bytes: cost, refs: 1 });
    this.#bytes += cost;
    return value;
  }

  /** Counts one use of `value` gone, when it is the shared value for `id`. */
  release(id: string, value: T): void {
    const slot = this.#slots.get(id);
    if (slot === undefined || slot.value !== value) return;
    if (--slot.refs > 0) return;
    this.#slots.delete(id);
    this.#bytes -= slot.bytes;
  }

  clear(): void {
    this.#slots.clear();
    this.#bytes = 0;
  }
}

/** A slot object, its map entry and the weak-set entry that marks the value as shared. */
const SLOT_BYTES = 112;

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
