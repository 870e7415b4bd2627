import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createRecordCodec,
  decodeRecord,
  encodeRecord,
  ENVELOPE_VERSION,
  type RecordSealer,
} from '../src/codec/index.ts';
import {
  expectSameRecord,
  incompressibleBytes,
  makeEntry,
  makeVaryRecord,
} from '../src/testing/index.ts';
import type { CacheEntry } from '../src/types.ts';

const json = (text: string) => new TextEncoder().encode(text);
const compressibleBody = json('{"id":1,"name":"widget","price":9.99},'.repeat(2000));

function entry(overrides: Parameters<typeof makeEntry>[1] = {}): CacheEntry {
  return makeEntry(
    'GET:/api/items',
    {
      headers: [
        ['content-type', 'application/json'],
        ['x-dup', 'a'],
        ['x-dup', 'b'],
        ['x-latin1', 'caf\u00e9 \u00ff'],
      ],
      vary: { accept: 'application/json', 'accept-language': null },
      tags: ['items', '\u00e9t\u00e9'],
      flags: { mustRevalidate: true, noCache: false, staleWhileRevalidate: 10, staleIfError: 60 },
      ...overrides,
    },
    1_700_000_000_000,
  );
}

/** HMAC signing in the shape issue 9 will give the sealer: key id byte, payload, 32-byte tag. */
function hmacSealer(keys: Record<number, string>, current: number): RecordSealer {
  const mac = (id: number, payload: Uint8Array, context: Uint8Array) =>
    createHmac('sha256', keys[id]!).update(context).update(payload).digest();
  return {
    seal(payload, context) {
      const tag = mac(current, payload, context);
      const out = new Uint8Array(1 + payload.byteLength + tag.byteLength);
      out[0] = current;
      out.set(payload, 1);
      out.set(tag, 1 + payload.byteLength);
      return out;
    },
    open(sealed, context) {
      if (sealed.byteLength < 33) return undefined;
      const id = sealed[0]!;
      if (keys[id] === undefined) return undefined;
      const payload = sealed.subarray(1, sealed.byteLength - 32);
      const tag = sealed.subarray(sealed.byteLength - 32);
      return timingSafeEqual(mac(id, payload, context), tag) ? payload : undefined;
    },
  };
}

describe('record codec: round trips', () => {
  it('round-trips a response entry with a small body uncompressed', () => {
    const record = entry();
    const bytes = encodeRecord(record);
    expect(bytes[3]).toBe(0);
    expectSameRecord(decodeRecord(bytes, record.key), record);
  });

  it('returns a plain Uint8Array body even when given a Buffer', () => {
    const record = entry();
    const decoded = decodeRecord(Buffer.from(encodeRecord(record)), record.key);
    expect(decoded?.kind === 'response' && decoded.body.constructor).toBe(Uint8Array);
  });

  it('round-trips an empty body and a vary record', () => {
    const empty = entry({ status: 204, body: new Uint8Array(0) });
    expectSameRecord(decodeRecord(encodeRecord(empty), empty.key), empty);
    const vary = makeVaryRecord('GET:/api/items', ['accept', 'accept-encoding']);
    expect(decodeRecord(encodeRecord(vary), vary.key)).toEqual(vary);
  });

  it('stores the body as raw bytes: the envelope is the body plus a small header', () => {
    const body = incompressibleBytes(100_000);
    const record = entry({ body });
    const bytes = encodeRecord(record);
    expect(bytes.byteLength).toBeLessThan(body.byteLength + 1_000);
    expectSameRecord(decodeRecord(bytes, record.key), record);
  });

  it('gzips a compressible body above the threshold and flags it', () => {
    const record = entry({ body: compressibleBody });
    const bytes = encodeRecord(record);
    expect(bytes[3]! & 0b11).toBe(0b01);
    expect(bytes.byteLength).toBeLessThan(compressibleBody.byteLength / 10);
    expectSameRecord(decodeRecord(bytes, record.key), record);
  });

  it('compresses with brotli when asked', () => {
    const record = entry({ body: compressibleBody });
    const bytes = encodeRecord(record, { compression: 'brotli' });
    expect(bytes[3]! & 0b11).toBe(0b10);
    expectSameRecord(decodeRecord(bytes, record.key), record);
  });

  it('leaves bodies below the threshold, incompressible bodies and origin-encoded bodies alone', () => {
    const small = entry({ body: compressibleBody.subarray(0, 500) });
    expect(encodeRecord(small, { compressionThreshold: 1024 })[3]).toBe(0);
    const random = entry({ body: incompressibleBytes(10_000) });
    expect(encodeRecord(random)[3]).toBe(0);
    const encoded = entry({
      body: compressibleBody,
      headers: [['content-encoding', 'gzip']],
    });
    expect(encodeRecord(encoded)[3]).toBe(0);
    expect(encodeRecord(entry({ body: compressibleBody }), { compression: 'none' })[3]).toBe(0);
  });

  it('a codec created once behaves like the free functions', () => {
    const codec = createRecordCodec({ compression: 'brotli', compressionThreshold: 0 });
    const record = entry({ body: compressibleBody });
    expectSameRecord(codec.decode(codec.encode(record), record.key), record);
    expectSameRecord(decodeRecord(codec.encode(record), record.key), record);
  });

  it('rejects bad options naming the option', () => {
    expect(() => createRecordCodec({ compression: 'zstd' as never })).toThrow(/compression/);
    expect(() => createRecordCodec({ compressionThreshold: -1 })).toThrow(/compressionThreshold/);
    expect(() => createRecordCodec({ compressionLevel: 12 })).toThrow(/compressionLevel/);
    expect(() => createRecordCodec({ sealer: {} as never })).toThrow(/sealer/);
  });
});

describe('record codec: anything but a record for this key is a miss', () => {
  const record = entry({ body: compressibleBody });
  const good = encodeRecord(record);
  const plain = encodeRecord(entry({ body: incompressibleBytes(4096) }));

  it('reads a record stored for another key as undefined', () => {
    expect(decodeRecord(good, 'GET:/api/other')).toBeUndefined();
    expect(decodeRecord(good, record.key + ' ')).toBeUndefined();
  });

  it('reads an unknown envelope version or unknown flags as undefined', () => {
    const future = good.slice();
    future[2] = ENVELOPE_VERSION + 1;
    expect(decodeRecord(future, record.key)).toBeUndefined();
    const flagged = good.slice();
    flagged[3] = flagged[3]! | 0b1000_0000;
    expect(decodeRecord(flagged, record.key)).toBeUndefined();
    const both = good.slice();
    both[3] = 0b11;
    expect(decodeRecord(both, record.key)).toBeUndefined();
  });

  it('keeps fields it does not know, so later record fields round-trip', () => {
    const extended = { ...entry(), surrogate: ['a'] } as CacheEntry;
    expect(decodeRecord(encodeRecord(extended), extended.key)).toMatchObject({ surrogate: ['a'] });
  });

  it('reads a record of an unknown entry version as undefined', () => {
    const future = { ...entry(), v: 2 } as unknown as CacheEntry;
    expect(decodeRecord(encodeRecord(future), future.key)).toBeUndefined();
  });

  it('reads foreign formats as undefined', () => {
    const inputs = [
      new Uint8Array(0),
      json('GC'),
      json('hello'),
      json(JSON.stringify(record)),
      new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]),
    ];
    for (const input of inputs) expect(decodeRecord(input, record.key)).toBeUndefined();
    expect(decodeRecord('GC' as unknown as Uint8Array, record.key)).toBeUndefined();
  });

  it('reads every truncation of a record as undefined', () => {
    for (const source of [good, plain]) {
      for (let cut = 0; cut < source.byteLength; cut += cut < 64 ? 1 : 97) {
        expect(
          decodeRecord(source.subarray(0, cut), record.key === '' ? '' : record.key),
        ).toBeUndefined();
      }
    }
  });

  it('reads a record with trailing garbage as undefined', () => {
    const longer = new Uint8Array(good.byteLength + 3);
    longer.set(good);
    expect(decodeRecord(longer, record.key)).toBeUndefined();
    const longerPlain = new Uint8Array(plain.byteLength + 3);
    longerPlain.set(plain);
    expect(decodeRecord(longerPlain, record.key)).toBeUndefined();
  });

  it('reads metadata of the wrong shape as undefined', () => {
    const withMeta = (meta: unknown, body = new Uint8Array(0)) => {
      const metaBytes = json(JSON.stringify(meta));
      const out = new Uint8Array(8 + metaBytes.byteLength + body.byteLength);
      out.set([0x47, 0x43, 1, 0]);
      new DataView(out.buffer).setUint32(4, metaBytes.byteLength);
      out.set(metaBytes, 8);
      out.set(body, 8 + metaBytes.byteLength);
      return out;
    };
    const fields = {
      kind: 'response',
      v: 1,
      key: 'k',
      status: 200,
      headers: [['a', 'b']],
      storedAt: 1,
      fetchedAt: 1,
      initialAge: 0,
      staleAt: 2,
      deleteAt: 3,
      vary: {},
      tags: [],
      generatedETag: false,
      flags: { mustRevalidate: false, noCache: false, staleWhileRevalidate: 0, staleIfError: 0 },
    };
    const base = { r: fields, n: 0, s: 0 };
    const varyFields = { kind: 'vary', v: 1, key: 'k', fields: ['a'], epoch: 'e', deleteAt: 1 };
    expect(decodeRecord(withMeta(base), 'k')).toBeDefined();
    expect(decodeRecord(withMeta({ r: varyFields, n: 0, s: 0 }), 'k')).toBeDefined();
    const withFields = (changes: Record<string, unknown>) => ({
      ...base,
      r: { ...fields, ...changes },
    });
    const broken: unknown[] = [
      null,
      [],
      'text',
      fields,
      { ...base, r: null },
      withFields({ kind: 'other' }),
      withFields({ v: 2 }),
      withFields({ key: 'j' }),
      withFields({ status: 42 }),
      withFields({ status: '200' }),
      withFields({ headers: [['a']] }),
      withFields({ headers: [['a', 1]] }),
      withFields({ headers: 'a: b' }),
      withFields({ staleAt: null }),
      withFields({ fetchedAt: undefined }),
      withFields({ generatedETag: 'yes' }),
      withFields({ vary: { a: 1 } }),
      withFields({ tags: [1] }),
      withFields({ flags: { mustRevalidate: 'no' } }),
      withFields({ flags: undefined }),
      { ...base, n: -1 },
      { ...base, n: 5 },
      { ...base, s: 1 },
      { ...base, s: undefined },
      { r: { ...varyFields, fields: [1] }, n: 0, s: 0 },
      { r: { ...varyFields, epoch: 3 }, n: 0, s: 0 },
      { r: { ...varyFields, deleteAt: 'soon' }, n: 0, s: 0 },
    ];
    for (const meta of broken) expect(decodeRecord(withMeta(meta), 'k')).toBeUndefined();
    // A length prefix that points past the end.
    const bad = withMeta(base);
    new DataView(bad.buffer).setUint32(4, 0xffffffff);
    expect(decodeRecord(bad, 'k')).toBeUndefined();
  });

  it('reads a compressed body that inflates past its declared length as undefined', () => {
    const bomb = encodeRecord(entry({ body: new Uint8Array(1_000_000) }));
    expect(decodeRecord(bomb, entry().key)).toBeDefined();
    expect(decodeRecord(bomb, entry().key, { maxBodyBytes: 999_999 })).toBeUndefined();
  });

  it('never throws on random mutations of valid records (fuzz)', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    let decoded = 0;
    for (let round = 0; round < 3000; round++) {
      const source = round % 2 === 0 ? good : plain;
      const mutated = source.slice();
      const flips = 1 + (random() % 4);
      for (let i = 0; i < flips; i++) {
        const at =
          random() % Math.min(mutated.byteLength, round % 3 === 0 ? 64 : mutated.byteLength);
        mutated[at] = random() & 0xff;
      }
      const cut = round % 5 === 0 ? random() % mutated.byteLength : mutated.byteLength;
      let result: unknown;
      expect(() => {
        result = decodeRecord(mutated.subarray(0, cut), record.key);
      }).not.toThrow();
      if (result !== undefined) {
        decoded++;
        // Whatever survives a mutation must still be a well-formed record for this key.
        const r = result as CacheEntry;
        expect(r.key).toBe(record.key);
        expect(r.body).toBeInstanceOf(Uint8Array);
        expect(Array.isArray(r.headers)).toBe(true);
      }
    }
    // Mutations in an uncompressed body keep the record readable; most others do not.
    expect(decoded).toBeGreaterThan(0);
    expect(decoded).toBeLessThan(3000);
  });

  it('never throws on random byte strings', () => {
    for (let i = 0; i < 500; i++) {
      const bytes = incompressibleBytes(i % 200, i + 1);
      if (bytes.byteLength >= 3) bytes.set([0x47, 0x43, 1], 0);
      expect(decodeRecord(bytes, 'k')).toBeUndefined();
    }
  });
});

describe('record codec: sealer extension point', () => {
  const sealer = hmacSealer({ 1: 'old secret', 2: 'new secret' }, 2);
  const record = entry({ body: compressibleBody });

  it('round-trips through the sealer and flags the envelope as sealed', () => {
    const bytes = encodeRecord(record, { sealer });
    expect(bytes[3]! & 0b100).toBe(0b100);
    expectSameRecord(decodeRecord(bytes, record.key, { sealer }), record);
  });

  it('reads sealed records by an older key id after rotation', () => {
    const old = hmacSealer({ 1: 'old secret' }, 1);
    expectSameRecord(
      decodeRecord(encodeRecord(record, { sealer: old }), record.key, { sealer }),
      record,
    );
  });

  it('reads a sealed record under another key, an altered one, or an unknown key id as undefined', () => {
    const bytes = encodeRecord(record, { sealer });
    expect(decodeRecord(bytes, 'GET:/api/other', { sealer })).toBeUndefined();
    const altered = bytes.slice();
    altered[40] = altered[40]! ^ 1;
    expect(decodeRecord(altered, record.key, { sealer })).toBeUndefined();
    const stranger = hmacSealer({ 3: 'other secret' }, 3);
    expect(decodeRecord(bytes, record.key, { sealer: stranger })).toBeUndefined();
  });

  it('with a sealer, a plain record is a miss; without one, a sealed record is a miss', () => {
    expect(decodeRecord(encodeRecord(record), record.key, { sealer })).toBeUndefined();
    expect(decodeRecord(encodeRecord(record, { sealer }), record.key)).toBeUndefined();
  });

  it('a sealer that throws on open reads as a miss', () => {
    const throwing: RecordSealer = {
      seal: (payload) => payload,
      open: () => {
        throw new Error('bad key');
      },
    };
    expect(
      decodeRecord(encodeRecord(record, { sealer: throwing }), record.key, { sealer: throwing }),
    ).toBeUndefined();
  });
});

describe('record codec: recently decoded records', () => {
  it('reuses the record decoded from identical bytes under the same key, and only then', () => {
    const codec = createRecordCodec();
    const record = entry();
    const first = codec.decode(Buffer.from(codec.encode(record)), record.key);
    expectSameRecord(first, record);
    // Fresh copies of the same bytes (what Redis returns on every GET) give the same record.
    expect(codec.decode(Buffer.from(codec.encode(record)), record.key)).toBe(first);
    // Other bytes under the same key (the entry was replaced): decoded anew.
    const replaced = entry({ body: json('{"changed":true}') });
    const second = codec.decode(codec.encode(replaced), replaced.key);
    expect(second).not.toBe(first);
    expectSameRecord(second, replaced);
    // The same bytes read under another key are foreign, whatever was decoded before.
    expect(codec.decode(codec.encode(replaced), 'GET:/api/other')).toBeUndefined();
    // A byte changed under the known key: decoded from those bytes, not the remembered record.
    const altered = Buffer.from(codec.encode(replaced));
    altered[altered.byteLength - 1] = altered[altered.byteLength - 1]! ^ 0x01;
    const third = codec.decode(altered, replaced.key) as CacheEntry;
    expect(third).not.toBe(second);
    expect(third.body).not.toEqual(replaced.body);
  });

  it('does not keep the buffer the bytes were a view of', () => {
    const codec = createRecordCodec();
    const record = entry();
    const encoded = codec.encode(record);
    const socketChunk = new Uint8Array(64 * 1024);
    socketChunk.set(encoded, 100);
    const view = socketChunk.subarray(100, 100 + encoded.byteLength);
    const decoded = codec.decode(view, record.key) as CacheEntry;
    expectSameRecord(decoded, record);
    expect(decoded.body.buffer).not.toBe(socketChunk.buffer);
    expect(decoded.body.buffer.byteLength).toBeLessThan(socketChunk.byteLength);
  });

  it('stays within its byte budget and can be turned off', () => {
    const codec = createRecordCodec({ decodedCacheBytes: 64 * 1024 });
    const records = Array.from({ length: 40 }, (_, i) =>
      makeEntry(`GET:/api/items/${i}`, { body: incompressibleBytes(2000, i + 1) }),
    );
    const bytes = records.map((record) => Buffer.from(codec.encode(record)));
    const decoded = records.map((record, i) => codec.decode(bytes[i]!, record.key));
    // 40 records of ~2 KB do not fit in 64 KiB: the first ones were dropped, the last ones kept.
    expect(codec.decode(Buffer.from(bytes[0]!), records[0]!.key)).not.toBe(decoded[0]);
    expect(codec.decode(Buffer.from(bytes[39]!), records[39]!.key)).toBe(decoded[39]);

    const off = createRecordCodec({ decodedCacheBytes: 0 });
    const once = off.decode(off.encode(records[1]!), records[1]!.key);
    expect(off.decode(off.encode(records[1]!), records[1]!.key)).not.toBe(once);
    expect(() => createRecordCodec({ decodedCacheBytes: -1 })).toThrow(/decodedCacheBytes/);
  });

  it('keeps a record that is read again while records read once age out', () => {
    const codec = createRecordCodec({ decodedCacheBytes: 64 * 1024 });
    const records = Array.from({ length: 80 }, (_, i) =>
      makeEntry(`GET:/api/items/${i}`, { body: incompressibleBytes(2000, i + 1) }),
    );
    const bytes = records.map((record) => Buffer.from(codec.encode(record)));
    const hot = codec.decode(Buffer.from(bytes[0]!), records[0]!.key);
    const once = codec.decode(Buffer.from(bytes[1]!), records[1]!.key);
    for (let i = 2; i < 80; i += 1) {
      codec.decode(Buffer.from(bytes[i]!), records[i]!.key);
      // The hot record is read between the others, as a popular URL is.
      if (i % 8 === 0) expect(codec.decode(Buffer.from(bytes[0]!), records[0]!.key)).toBe(hot);
    }
    expect(codec.decode(Buffer.from(bytes[0]!), records[0]!.key)).toBe(hot);
    const again = codec.decode(Buffer.from(bytes[1]!), records[1]!.key);
    expect(again).not.toBe(once);
    expectSameRecord(again, records[1]!);
  });

  it('is off with a sealer: a key removed from the sealer stops opening records at once', () => {
    const keys: Record<number, string> = { 1: 'first-secret' };
    const codec = createRecordCodec({ sealer: hmacSealer(keys, 1) });
    const record = entry();
    const sealed = codec.encode(record);
    expectSameRecord(codec.decode(sealed, record.key), record);
    delete keys[1];
    expect(codec.decode(sealed, record.key)).toBeUndefined();
  });
});
