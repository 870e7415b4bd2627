import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRecordCodec } from '../src/codec/index.ts';
import { GatecacheError } from '../src/errors.ts';
import {
  createSealer,
  createSealerFromEnv,
  isPersonalKey,
  parseKey,
  revokeOnDelete,
  sealerKeysFromEnv,
  type SealerOptions,
} from '../src/security/index.ts';
import { createManualClock, expectSameRecord, makeEntry } from '../src/testing/index.ts';
import { buildPrimaryKey, variantKey } from '../src/key.ts';
import { createMemoryStore } from '../src/memory-store.ts';

const k1 = { id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) };
const k2 = { id: 'k2', signingKey: randomBytes(32), encryptionKey: randomBytes(32) };
const SHARED = 'gc1:default:api.example/items?page=2';
const PERSONAL = 'gc1:default:api.example/me p=Zm9vYmFyYmF6cXV4cXV1';
const SECRET_BODY = 'account-number-4711-0815-secret';

function sealerWith(options: Partial<SealerOptions> = {}, clock = createManualClock()) {
  return createSealer({ keys: [k1], clock, ...options });
}

function bytesContain(haystack: Uint8Array, needle: string): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle));
}

describe('sealer: signing and encryption', () => {
  it('round-trips shared and personal entries through the codec; only personal ones are encrypted', () => {
    const clock = createManualClock();
    const sealer = sealerWith({}, clock);
    const codec = createRecordCodec({ sealer, compression: 'none' });
    const body = new TextEncoder().encode(SECRET_BODY);
    const shared = makeEntry(SHARED, { body }, clock.now());
    const personal = makeEntry(
      PERSONAL,
      { body, headers: [['x-user-email', 'alice@example.org']] },
      clock.now(),
    );
    const sharedBytes = codec.encode(shared);
    const personalBytes = codec.encode(personal);
    expect(bytesContain(sharedBytes, SECRET_BODY)).toBe(true);
    // Body and header fields of a personal entry are never in the clear.
    expect(bytesContain(personalBytes, SECRET_BODY)).toBe(false);
    expect(bytesContain(personalBytes, 'alice@example.org')).toBe(false);
    expectSameRecord(codec.decode(sharedBytes, SHARED), shared);
    expectSameRecord(codec.decode(personalBytes, PERSONAL), personal);
    expect(sealer.stats).toMatchObject({ sealed: 2, encrypted: 1, opened: 2 });
  });

  it('encrypt "all" encrypts shared entries too; "none" only signs', () => {
    const body = new TextEncoder().encode(SECRET_BODY);
    const all = createRecordCodec({ sealer: sealerWith({ encrypt: 'all' }), compression: 'none' });
    expect(bytesContain(all.encode(makeEntry(SHARED, { body })), SECRET_BODY)).toBe(false);
    const none = createRecordCodec({
      sealer: sealerWith({ encrypt: 'none' }),
      compression: 'none',
    });
    expect(bytesContain(none.encode(makeEntry(PERSONAL, { body })), SECRET_BODY)).toBe(true);
  });

  it('an entry copied under another key, partition or tenant reads as a miss', () => {
    const clock = createManualClock();
    const sealer = sealerWith({}, clock);
    const codec = createRecordCodec({ sealer });
    const cases: Array<[string, string]> = [
      [SHARED, 'gc1:default:api.example/admin'],
      [PERSONAL, 'gc1:default:api.example/me p=QUJDREVGR0hJSktMTU5PUFFS'],
      ['gc1:default~tenantAAAAAAAAAAA:h/x', 'gc1:default~tenantBBBBBBBBBBB:h/x'],
      ['gc1:ns1:h/x', 'gc1:ns2:h/x'],
    ];
    for (const [from, to] of cases) {
      // The codec checks the key inside the metadata too: rewrite it so only the seal can tell.
      const bytes = codec.encode(makeEntry(from, {}, clock.now()));
      expect(codec.decode(bytes, to)).toBeUndefined();
    }
    expect(sealer.stats.rejected['bad-signature']).toBe(cases.length);
  });

  it('any flipped bit, a truncation or trailing bytes read as a miss', () => {
    const sealer = sealerWith();
    const codec = createRecordCodec({ sealer });
    for (const key of [SHARED, PERSONAL]) {
      const bytes = codec.encode(makeEntry(key));
      for (let i = 4; i < bytes.length; i += Math.max(1, Math.floor(bytes.length / 97))) {
        const copy = bytes.slice();
        copy[i] = copy[i]! ^ 0x01;
        expect(codec.decode(copy, key)).toBeUndefined();
      }
      expect(codec.decode(bytes.subarray(0, bytes.length - 1), key)).toBeUndefined();
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      expect(codec.decode(longer, key)).toBeUndefined();
    }
  });

  it('a forged entry (plain, or sealed with a key the sealer does not hold) reads as a miss', () => {
    const sealer = sealerWith();
    const plain = createRecordCodec();
    const codec = createRecordCodec({ sealer });
    expect(codec.decode(plain.encode(makeEntry(SHARED)), SHARED)).toBeUndefined();
    const attacker = createRecordCodec({
      sealer: createSealer({
        keys: [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }],
      }),
    });
    expect(codec.decode(attacker.encode(makeEntry(SHARED)), SHARED)).toBeUndefined();
    expect(codec.decode(attacker.encode(makeEntry(PERSONAL)), PERSONAL)).toBeUndefined();
    const stranger = createRecordCodec({
      sealer: createSealer({ keys: [{ id: 'kx', signingKey: randomBytes(32) }], encrypt: 'none' }),
    });
    expect(codec.decode(stranger.encode(makeEntry(SHARED)), SHARED)).toBeUndefined();
    expect(sealer.stats.rejected['bad-signature']).toBe(2);
    expect(sealer.stats.rejected['unknown-key']).toBe(1);
  });

  it('a personal entry signed but not encrypted (a downgrade) reads as a miss', () => {
    const signOnly = createRecordCodec({ sealer: sealerWith({ encrypt: 'none' }) });
    const sealer = sealerWith({ encrypt: 'personal' });
    const codec = createRecordCodec({ sealer });
    const bytes = signOnly.encode(makeEntry(PERSONAL));
    expect(codec.decode(bytes, PERSONAL)).toBeUndefined();
    expect(sealer.stats.rejected['not-encrypted']).toBe(1);
  });
});

describe('sealer: key rotation', () => {
  it('old key ids still open; new writes use the current key; retired ids read as misses', () => {
    const clock = createManualClock();
    const before = createRecordCodec({ sealer: createSealer({ keys: [k1], clock }) });
    const oldShared = before.encode(makeEntry(SHARED, {}, clock.now()));
    const oldPersonal = before.encode(makeEntry(PERSONAL, {}, clock.now()));

    const rotating = createSealer({ keys: [k1, k2], current: 'k2', clock });
    const during = createRecordCodec({ sealer: rotating });
    expect(rotating.currentKeyId).toBe('k2');
    expectSameRecord(during.decode(oldShared, SHARED), makeEntry(SHARED, {}, clock.now()));
    expectSameRecord(during.decode(oldPersonal, PERSONAL), makeEntry(PERSONAL, {}, clock.now()));
    clock.advance(1);
    const fresh = during.encode(makeEntry(SHARED, {}, clock.now()));
    // The key id travels in the record: the new one is sealed with k2.
    expect(bytesContain(fresh, 'k2')).toBe(true);

    const after = createRecordCodec({ sealer: createSealer({ keys: [k2], clock }) });
    expect(after.decode(oldShared, SHARED)).toBeUndefined();
    expectSameRecord(after.decode(fresh, SHARED), makeEntry(SHARED, {}, clock.now()));
  });
});

describe('sealer: replay and rollback', () => {
  it('an older entry written back over a newer one for the same key reads as a miss', () => {
    const clock = createManualClock();
    const sealer = sealerWith({}, clock);
    const codec = createRecordCodec({ sealer });
    const v1 = codec.encode(makeEntry(SHARED, { status: 200 }, clock.now()));
    clock.advance(10);
    const v2 = codec.encode(makeEntry(SHARED, { status: 203 }, clock.now()));
    expect(codec.decode(v2, SHARED)).toMatchObject({ status: 203 });
    expect(codec.decode(v1, SHARED)).toBeUndefined();
    expect(sealer.stats.rejected.rollback).toBe(1);

    // Another instance (same keys) that saw only v2 refuses v1 too.
    const other = createRecordCodec({ sealer: sealerWith({}, clock) });
    expect(other.decode(v2, SHARED)).toMatchObject({ status: 203 });
    expect(other.decode(v1, SHARED)).toBeUndefined();
  });

  it('bytes kept from before a delete, written back afterwards, read as a miss', async () => {
    const clock = createManualClock();
    const sealer = sealerWith({}, clock);
    const codec = createRecordCodec({ sealer });
    const inner = createMemoryStore({ clock });
    const store = revokeOnDelete(inner, sealer);
    const kept = codec.encode(makeEntry(SHARED, {}, clock.now()));
    await store.delete(SHARED);
    expect(codec.decode(kept, SHARED)).toBeUndefined();
    // A new entry written after the purge is accepted.
    clock.advance(1);
    const next = codec.encode(makeEntry(SHARED, { status: 203 }, clock.now()));
    expect(codec.decode(next, SHARED)).toMatchObject({ status: 203 });
    const other = codec.encode(makeEntry(PERSONAL, {}, clock.now()));
    await store.clear();
    expect(codec.decode(other, PERSONAL)).toBeUndefined();
    expect(codec.decode(next, SHARED)).toBeUndefined();
  });

  it('notBefore and maxAgeMs disown records sealed too long ago', () => {
    const clock = createManualClock();
    const writer = createRecordCodec({ sealer: sealerWith({}, clock) });
    const bytes = writer.encode(makeEntry(SHARED, {}, clock.now()));
    const floor = createRecordCodec({ sealer: sealerWith({ notBefore: clock.now() + 1 }, clock) });
    expect(floor.decode(bytes, SHARED)).toBeUndefined();
    const aged = sealerWith({ maxAgeMs: 1000 }, clock);
    const agedCodec = createRecordCodec({ sealer: aged });
    expect(agedCodec.decode(bytes, SHARED)).toBeDefined();
    clock.advance(1001);
    expect(agedCodec.decode(bytes, SHARED)).toBeUndefined();
    expect(aged.stats.rejected['too-old']).toBe(1);
  });

  it('reports each refusal with its reason and key id, never the store key', () => {
    const seen: Array<[string, string | undefined]> = [];
    const sealer = sealerWith({ onReject: (reason, id) => seen.push([reason, id]) });
    const codec = createRecordCodec({ sealer });
    const bytes = codec.encode(makeEntry(SHARED));
    expect(codec.decode(bytes, SHARED + 'x')).toBeUndefined();
    expect(seen).toEqual([['bad-signature', 'k1']]);
  });
});

describe('sealer: configuration', () => {
  it('rejects bad options, naming the option but never echoing key material', () => {
    const secret = Buffer.from('s'.repeat(31)).toString('base64');
    const bad: Array<[unknown, string]> = [
      [{ keys: [] }, 'keys'],
      [{ keys: [{ id: 'k1', signingKey: secret }] }, 'signingKey'],
      [{ keys: [{ id: 'bad id', signingKey: randomBytes(32) }] }, 'id'],
      [{ keys: [{ id: 'k1', signingKey: randomBytes(32) }] }, 'encryptionKey'],
      [{ keys: [k1], current: 'nope' }, 'current'],
      [{ keys: [k1], encrypt: 'some' }, 'encrypt'],
      [{ keys: [k1, k1] }, 'keys[1].id'],
      [{ keys: [{ id: 'k', signingKey: k1.signingKey, encryptionKey: k1.signingKey }] }, 'differ'],
    ];
    for (const [options, mention] of bad) {
      let error: unknown;
      try {
        createSealer(options as SealerOptions);
      } catch (caught) {
        error = caught;
      }
      expect(error, mention).toBeInstanceOf(GatecacheError);
      expect((error as GatecacheError).code).toBe('ERR_INVALID_OPTION');
      expect((error as Error).message).toContain(mention);
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).not.toContain(secret.slice(0, 12));
    }
  });

  it('reads keys from the environment, with a previous key for rotation', () => {
    const signing = randomBytes(32).toString('base64');
    const encryption = randomBytes(32).toString('base64');
    const previous = randomBytes(32).toString('base64');
    const keys = sealerKeysFromEnv({
      GATECACHE_SIGNING_KEY: signing,
      GATECACHE_ENCRYPTION_KEY: encryption,
      GATECACHE_PREVIOUS_SIGNING_KEY: previous,
    });
    expect(keys.map((key) => key.id)).toEqual(['k1', 'k0']);
    const oldCodec = createRecordCodec({
      sealer: createSealer({ keys: [{ id: 'k0', signingKey: previous }], encrypt: 'none' }),
    });
    const old = oldCodec.encode(makeEntry(SHARED));
    const sealer = createSealerFromEnv(
      {},
      {
        GATECACHE_SIGNING_KEY: signing,
        GATECACHE_ENCRYPTION_KEY: encryption,
        GATECACHE_PREVIOUS_SIGNING_KEY: previous,
      },
    );
    const codec = createRecordCodec({ sealer });
    expectSameRecord(codec.decode(old, SHARED), makeEntry(SHARED));
    const personal = codec.encode(makeEntry(PERSONAL));
    // The encrypted metadata carries the key and headers: none of it is readable in the store.
    expect(bytesContain(personal, '/me p=')).toBe(false);
    expect(bytesContain(personal, 'content-type')).toBe(false);
    expect(codec.decode(personal, PERSONAL)).toBeDefined();
    expect(() => sealerKeysFromEnv({})).toThrow(/GATECACHE_SIGNING_KEY/);
  });

  it('classifies keys: partitions and digested keys are personal; tenants are read from the namespace', () => {
    expect(isPersonalKey(PERSONAL)).toBe(true);
    expect(isPersonalKey(SHARED)).toBe(false);
    expect(isPersonalKey('gc1:default:h/' + 'x'.repeat(10) + ' h=abc')).toBe(true);
    // Variants: readable selecting values are not personal; digested ones may be credentials.
    const primary = buildPrimaryKey(
      { url: '/keyed', host: 'h', partitionHash: undefined },
      { namespace: 'default', includeHost: true, queryIgnore: [], sensitiveQuery: [] },
    );
    expect(
      isPersonalKey(variantKey(primary, 'abcd1234', ['accept'], { accept: 'text/html' })),
    ).toBe(false);
    expect(
      isPersonalKey(variantKey(primary, 'abcd1234', ['x-api-key'], { 'x-api-key': 'secret' })),
    ).toBe(true);
    expect(parseKey('gc1:ns~abcdef:h/x p=q')).toEqual({
      namespace: 'ns',
      tenant: 'abcdef',
      partitioned: true,
      digested: false,
    });
    expect(parseKey('other:key')).toBeUndefined();
  });
});
