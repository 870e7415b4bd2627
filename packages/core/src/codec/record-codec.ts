import {
  brotliCompressSync,
  brotliDecompressSync,
  constants,
  gunzipSync,
  gzipSync,
} from 'node:zlib';
import { Buffer } from 'node:buffer';
import { invalidOption } from '../errors.ts';
import type { CacheEntry, EntryFlags, HeaderList, StoredRecord, VaryRecord } from '../types.ts';

/**
 * Binary envelope for records kept by stores that hold bytes (Redis, memcached):
 *
 * ```
 * 0      2        3       4
 * | "GC" | version | flags | payload …
 * payload (plain, or the output of a sealer):
 * | u32 BE meta length M | meta: UTF-8 JSON, M bytes | body bytes (compressed when flagged) |
 * ```
 *
 * The body is never base64'd and never inside the JSON, so a 1 MiB body costs 1 MiB plus a few
 * hundred bytes. Anything that does not parse as exactly this shape, for exactly the key asked for,
 * decodes as `undefined` (DESIGN.md: a corrupt or foreign entry is a miss, never an error).
 */
export const ENVELOPE_MAGIC = Uint8Array.of(0x47, 0x43);
export const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 4;
const META_LENGTH_BYTES = 4;

const FLAG_GZIP = 0b0000_0001;
const FLAG_BROTLI = 0b0000_0010;
const FLAG_SEALED = 0b0000_0100;
const KNOWN_FLAGS = FLAG_GZIP | FLAG_BROTLI | FLAG_SEALED;

export type CompressionAlgorithm = 'gzip' | 'brotli' | 'none';

/**
 * Extension point for encryption (AES-256-GCM) and signing (HMAC) of stored records. The codec
 * hands the sealer the whole payload (metadata and body) and a context made of the envelope
 * header and the store key, which the sealer must bind to its output (as AEAD additional data or
 * inside the MAC) so that a sealed record copied under another key fails to open. The sealer
 * writes its own key id into its output, so keys can rotate while old entries remain readable.
 */
export interface RecordSealer {
  seal(payload: Uint8Array, context: Uint8Array): Uint8Array;
  /** The payload, or `undefined` when the input is altered, foreign or sealed by an unknown key. Must not throw. */
  open(sealed: Uint8Array, context: Uint8Array): Uint8Array | undefined;
}

export interface RecordCodecOptions {
  /** Body compression. Default `'gzip'`. */
  readonly compression?: CompressionAlgorithm;
  /** Bodies smaller than this many bytes are stored as they are. Default 1024. */
  readonly compressionThreshold?: number;
  /** gzip level (1–9) or brotli quality (0–11). Defaults favour speed: gzip 1, brotli 4. */
  readonly compressionLevel?: number;
  /**
   * Seals every record written and requires every record read to be sealed: with a sealer set,
   * a plain record reads as a miss, so an attacker with write access to the store cannot plant one.
   */
  readonly sealer?: RecordSealer;
  /** A record whose body decodes larger than this reads as a miss (guards against compression bombs). Default 64 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * Bytes of recently decoded records kept by `createRecordCodec`, so that reading the same stored
   * bytes again (a hot key in Redis) skips parsing: the record is reused only when the bytes read
   * are identical to the bytes it was decoded from, under the same key. Off with a sealer (a
   * revoked key must stop opening records at once). Default 4 MiB; 0 turns it off.
   */
  readonly decodedCacheBytes?: number;
}

export interface RecordCodec {
  encode(record: StoredRecord): Uint8Array;
  decode(bytes: Uint8Array, expectedKey: string): StoredRecord | undefined;
}

interface ResolvedCodecOptions {
  readonly compression: CompressionAlgorithm;
  readonly compressionThreshold: number;
  readonly compressionLevel: number | undefined;
  readonly sealer: RecordSealer | undefined;
  readonly maxBodyBytes: number;
}

/** Validates options once and returns an encoder/decoder pair bound to them. */
export function createRecordCodec(options: RecordCodecOptions = {}): RecordCodec {
  const resolved = resolveCodecOptions(options);
  const cacheBytes = options.decodedCacheBytes ?? DEFAULT_DECODED_CACHE_BYTES;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
    throw invalidOption('decodedCacheBytes', cacheBytes, 'a non-negative integer (bytes)');
  }
  const decode =
    cacheBytes === 0 || resolved.sealer !== undefined
      ? (bytes: Uint8Array, expectedKey: string) => decodeWith(bytes, expectedKey, resolved)
      : decodeThrough(new DecodedRecords(cacheBytes), resolved);
  return { encode: (record) => encodeWith(record, resolved), decode };
}

const DEFAULT_DECODED_CACHE_BYTES = 4 * 1024 * 1024;

/** Records whose stored bytes are larger than this share of the budget are never kept. */
const DECODED_CACHE_MAX_SHARE = 16;

function decodeThrough(
  recent: DecodedRecords,
  options: ResolvedCodecOptions,
): (bytes: Uint8Array, expectedKey: string) => StoredRecord | undefined {
  return (bytes, expectedKey) => {
    const known = recent.get(expectedKey, bytes);
    if (known !== undefined) return known;
    if (!(bytes instanceof Uint8Array) || bytes.byteLength > recent.maxItemBytes) {
      recent.delete(expectedKey);
      return decodeWith(bytes, expectedKey, options);
    }
    // A copy of its own: the bytes a client hands over are often a view of a much larger socket
    // buffer, which the record's body (a view of these bytes) would otherwise keep alive.
    const own = Uint8Array.prototype.slice.call(bytes) as Uint8Array;
    const record = decodeWith(own, expectedKey, options);
    if (record === undefined) recent.delete(expectedKey);
    else recent.set(expectedKey, own, record);
    return record;
  };
}

/**
 * A byte-bounded cache of decoded records, each with the exact bytes it came from. A read only
 * marks its item (no Map change, nothing allocated: a hot key read thousands of times a second
 * must not churn the Map's table); eviction gives a marked item a second chance, so what is read
 * again stays while what was read once ages out.
 */
class DecodedRecords {
  readonly maxItemBytes: number;
  readonly #maxBytes: number;
  readonly #items = new Map<string, DecodedItem>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
    this.maxItemBytes = Math.floor(maxBytes / DECODED_CACHE_MAX_SHARE);
  }

  get(key: string, bytes: Uint8Array): StoredRecord | undefined {
    const item = this.#items.get(key);
    if (item === undefined) return undefined;
    if (!(bytes instanceof Uint8Array) || !sameBytes(item.bytes, bytes)) return undefined;
    item.used = true;
    return item.record;
  }

  set(key: string, bytes: Uint8Array, record: StoredRecord): void {
    this.delete(key);
    this.#items.set(key, { bytes, record, used: false });
    this.#bytes += bytes.byteLength + key.length * 2;
    for (const [oldest, item] of this.#items) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#items.delete(oldest);
      if (item.used && oldest !== key) {
        // Read since it was stored or last spared: moved to the young end, unmarked.
        item.used = false;
        this.#items.set(oldest, item);
      } else {
        this.#bytes -= item.bytes.byteLength + oldest.length * 2;
      }
    }
  }

  delete(key: string): void {
    const item = this.#items.get(key);
    if (item === undefined) return;
    this.#items.delete(key);
    this.#bytes -= item.bytes.byteLength + key.length * 2;
  }
}

interface DecodedItem {
  readonly bytes: Uint8Array;
  readonly record: StoredRecord;
  /** Read since it was stored, or since eviction last spared it. */
  used: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

export function encodeRecord(record: StoredRecord, options: RecordCodecOptions = {}): Uint8Array {
  return encodeWith(record, resolveCodecOptions(options));
}

/** The record stored in `bytes` for `expectedKey`, or `undefined` for anything else. Never throws. */
export function decodeRecord(
  bytes: Uint8Array,
  expectedKey: string,
  options: Pick<RecordCodecOptions, 'sealer' | 'maxBodyBytes'> = {},
): StoredRecord | undefined {
  return decodeWith(bytes, expectedKey, resolveCodecOptions(options));
}

function resolveCodecOptions(options: RecordCodecOptions): ResolvedCodecOptions {
  const compression = options.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'brotli' && compression !== 'none') {
    throw invalidOption('compression', compression, '"gzip", "brotli" or "none"');
  }
  const compressionThreshold = options.compressionThreshold ?? 1024;
  if (!Number.isSafeInteger(compressionThreshold) || compressionThreshold < 0) {
    throw invalidOption(
      'compressionThreshold',
      options.compressionThreshold,
      'a non-negative integer (bytes)',
    );
  }
  const level = options.compressionLevel;
  if (level !== undefined) {
    const max = compression === 'brotli' ? 11 : 9;
    const min = compression === 'brotli' ? 0 : 1;
    if (!Number.isInteger(level) || level < min || level > max) {
      throw invalidOption(
        'compressionLevel',
        level,
        `an integer from ${min} to ${max} for ${compression}`,
      );
    }
  }
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0) {
    throw invalidOption('maxBodyBytes', options.maxBodyBytes, 'a non-negative integer (bytes)');
  }
  const sealer = options.sealer;
  if (
    sealer !== undefined &&
    (typeof sealer.seal !== 'function' || typeof sealer.open !== 'function')
  ) {
    throw invalidOption('sealer', sealer, 'an object with seal() and open() functions');
  }
  return { compression, compressionThreshold, compressionLevel: level, sealer, maxBodyBytes };
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function encodeWith(record: StoredRecord, options: ResolvedCodecOptions): Uint8Array {
  let flags = 0;
  let body: Uint8Array = record.kind === 'response' ? record.body : new Uint8Array(0);
  // Every field but the body goes into the JSON as it is, so fields the engine adds later
  // round-trip without a codec change; decode validates the fields it knows.
  const { body: _body, ...fields } = record as StoredRecord & { body?: Uint8Array };
  const meta: { r: Record<string, unknown>; n: number; s?: number } = {
    r: fields,
    n: body.byteLength,
  };

  if (
    record.kind === 'response' &&
    options.compression !== 'none' &&
    body.byteLength > 0 &&
    body.byteLength >= options.compressionThreshold &&
    // An origin-encoded body (gzip, br, zstd) would only grow.
    !hasContentCoding(record.headers)
  ) {
    const compressed = compress(body, options.compression, options.compressionLevel);
    if (compressed.byteLength < body.byteLength) {
      body = compressed;
      flags |= options.compression === 'gzip' ? FLAG_GZIP : FLAG_BROTLI;
    }
  }

  // The stored length lets decode reject trailing bytes, which zlib would silently ignore.
  meta.s = body.byteLength;
  const metaBytes = textEncoder.encode(JSON.stringify(meta));
  const payload = new Uint8Array(META_LENGTH_BYTES + metaBytes.byteLength + body.byteLength);
  new DataView(payload.buffer).setUint32(0, metaBytes.byteLength);
  payload.set(metaBytes, META_LENGTH_BYTES);
  payload.set(body, META_LENGTH_BYTES + metaBytes.byteLength);

  if (options.sealer) flags |= FLAG_SEALED;
  const header = Uint8Array.of(ENVELOPE_MAGIC[0]!, ENVELOPE_MAGIC[1]!, ENVELOPE_VERSION, flags);
  const sealed = options.sealer
    ? options.sealer.seal(payload, sealContext(header, record.key))
    : payload;
  const out = new Uint8Array(HEADER_BYTES + sealed.byteLength);
  out.set(header, 0);
  out.set(sealed, HEADER_BYTES);
  return out;
}

function decodeWith(
  bytes: Uint8Array,
  expectedKey: string,
  options: ResolvedCodecOptions,
): StoredRecord | undefined {
  try {
    return decodeUnsafe(bytes, expectedKey, options);
  } catch {
    // Every failure mode (bad JSON, bad UTF-8, a zlib error, a throwing sealer) is a miss.
    return undefined;
  }
}

function decodeUnsafe(
  bytes: Uint8Array,
  expectedKey: string,
  options: ResolvedCodecOptions,
): StoredRecord | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < HEADER_BYTES + META_LENGTH_BYTES)
    return undefined;
  if (bytes[0] !== ENVELOPE_MAGIC[0] || bytes[1] !== ENVELOPE_MAGIC[1]) return undefined;
  // DESIGN.md: an unknown envelope version reads as a miss, so old and new fleets can overlap.
  if (bytes[2] !== ENVELOPE_VERSION) return undefined;
  const flags = bytes[3]!;
  if ((flags & ~KNOWN_FLAGS) !== 0) return undefined;
  if ((flags & FLAG_GZIP) !== 0 && (flags & FLAG_BROTLI) !== 0) return undefined;
  const sealed = (flags & FLAG_SEALED) !== 0;
  // With a sealer configured only sealed records are trusted; without one, sealed ones are unreadable.
  if (sealed !== (options.sealer !== undefined)) return undefined;

  let payload = bytes.subarray(HEADER_BYTES);
  if (options.sealer) {
    const opened = options.sealer.open(
      payload,
      sealContext(bytes.subarray(0, HEADER_BYTES), expectedKey),
    );
    if (!(opened instanceof Uint8Array)) return undefined;
    payload = opened;
  }
  if (payload.byteLength < META_LENGTH_BYTES) return undefined;
  const metaLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(
    0,
  );
  if (metaLength > payload.byteLength - META_LENGTH_BYTES) return undefined;
  const metaEnd = META_LENGTH_BYTES + metaLength;
  const meta: unknown = JSON.parse(
    textDecoder.decode(payload.subarray(META_LENGTH_BYTES, metaEnd)),
  );
  if (!isObject(meta) || !isObject(meta.r)) return undefined;
  const fields = meta.r;
  if (fields.key !== expectedKey || fields.v !== 1) return undefined;
  const bodyLength = meta.n;
  if (!isNonNegativeInteger(bodyLength) || bodyLength > options.maxBodyBytes) return undefined;
  const stored = payload.subarray(metaEnd);
  if (meta.s !== stored.byteLength) return undefined;

  if (fields.kind === 'vary') {
    if (stored.byteLength !== 0 || bodyLength !== 0 || (flags & (FLAG_GZIP | FLAG_BROTLI)) !== 0) {
      return undefined;
    }
    return toVaryRecord(fields, expectedKey);
  }
  if (fields.kind !== 'response') return undefined;

  let body: Uint8Array;
  if ((flags & FLAG_GZIP) !== 0) {
    body = asUint8Array(gunzipSync(stored, { maxOutputLength: Math.max(bodyLength, 1) }));
  } else if ((flags & FLAG_BROTLI) !== 0) {
    body = asUint8Array(brotliDecompressSync(stored, { maxOutputLength: Math.max(bodyLength, 1) }));
  } else {
    body = asUint8Array(stored);
  }
  if (body.byteLength !== bodyLength) return undefined;
  return toCacheEntry(fields, expectedKey, body);
}

function toCacheEntry(
  fields: Record<string, unknown>,
  key: string,
  body: Uint8Array,
): CacheEntry | undefined {
  const { status, headers, storedAt, fetchedAt, initialAge, staleAt, deleteAt, vary, tags } =
    fields;
  if (!isNonNegativeInteger(status) || status < 100 || status > 999) return undefined;
  if (!isHeaderList(headers)) return undefined;
  if (
    !isFiniteNumber(storedAt) ||
    !isFiniteNumber(fetchedAt) ||
    !isFiniteNumber(initialAge) ||
    !isFiniteNumber(staleAt) ||
    !isFiniteNumber(deleteAt)
  ) {
    return undefined;
  }
  if (!isVaryValues(vary) || !isStringArray(tags)) return undefined;
  if (typeof fields.generatedETag !== 'boolean') return undefined;
  const flags = toEntryFlags(fields.flags);
  if (!flags) return undefined;
  return {
    ...fields,
    kind: 'response',
    v: 1,
    key,
    status,
    headers,
    body,
    storedAt,
    fetchedAt,
    initialAge,
    staleAt,
    deleteAt,
    vary,
    tags,
    generatedETag: fields.generatedETag,
    flags,
  };
}

function toVaryRecord(fields: Record<string, unknown>, key: string): VaryRecord | undefined {
  const { fields: varyFields, epoch, deleteAt } = fields;
  if (!isStringArray(varyFields) || typeof epoch !== 'string' || !isFiniteNumber(deleteAt)) {
    return undefined;
  }
  return { ...fields, kind: 'vary', v: 1, key, fields: varyFields, epoch, deleteAt };
}

function toEntryFlags(value: unknown): EntryFlags | undefined {
  if (!isObject(value)) return undefined;
  const { mustRevalidate, noCache, staleWhileRevalidate, staleIfError } = value;
  if (typeof mustRevalidate !== 'boolean' || typeof noCache !== 'boolean') return undefined;
  if (!isFiniteNumber(staleWhileRevalidate) || !isFiniteNumber(staleIfError)) return undefined;
  return { mustRevalidate, noCache, staleWhileRevalidate, staleIfError };
}

function compress(
  body: Uint8Array,
  algorithm: 'gzip' | 'brotli',
  level: number | undefined,
): Uint8Array {
  if (algorithm === 'gzip') return asUint8Array(gzipSync(body, { level: level ?? 1 }));
  return asUint8Array(
    brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: level ?? 4,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
      },
    }),
  );
}

function hasContentCoding(headers: HeaderList): boolean {
  for (const [name, value] of headers) {
    if (
      name === 'content-encoding' &&
      value.trim().toLowerCase() !== 'identity' &&
      value.trim() !== ''
    )
      return true;
  }
  return false;
}

function sealContext(header: Uint8Array, key: string): Uint8Array {
  const keyBytes = textEncoder.encode(key);
  const context = new Uint8Array(header.byteLength + keyBytes.byteLength);
  context.set(header, 0);
  context.set(keyBytes, header.byteLength);
  return context;
}

/** A plain Uint8Array view (not a Buffer) so records compare equal whatever store produced them. */
function asUint8Array(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isHeaderList(value: unknown): value is HeaderList {
  return (
    Array.isArray(value) &&
    value.every(
      (pair) =>
        Array.isArray(pair) &&
        pair.length === 2 &&
        typeof pair[0] === 'string' &&
        typeof pair[1] === 'string',
    )
  );
}

function isVaryValues(value: unknown): value is Record<string, string | null> {
  return (
    isObject(value) &&
    Object.values(value).every((item) => item === null || typeof item === 'string')
  );
}

/** The codec's own options out of a store's options (which carry connection settings too). */
export function pickCodecOptions(options: RecordCodecOptions): RecordCodecOptions {
  const picked: { -readonly [K in keyof RecordCodecOptions]: RecordCodecOptions[K] } = {};
  if (options.compression !== undefined) picked.compression = options.compression;
  if (options.compressionThreshold !== undefined)
    picked.compressionThreshold = options.compressionThreshold;
  if (options.compressionLevel !== undefined) picked.compressionLevel = options.compressionLevel;
  if (options.sealer !== undefined) picked.sealer = options.sealer;
  if (options.maxBodyBytes !== undefined) picked.maxBodyBytes = options.maxBodyBytes;
  if (options.decodedCacheBytes !== undefined) picked.decodedCacheBytes = options.decodedCacheBytes;
  return picked;
}
