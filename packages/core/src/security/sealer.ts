import { Buffer } from 'node:buffer';
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { systemClock } from '../clock.ts';
import type { RecordSealer } from '../codec/record-codec.ts';
import { GatecacheError, invalidOption } from '../errors.ts';
import type { Clock } from '../types.ts';
import { isPersonalKey } from './key-parts.ts';

/**
 * A `RecordSealer` for the codec of byte stores (Redis, memcached): every record is signed with
 * HMAC-SHA256, and records of personal entries (or all of them) are encrypted with AES-256-GCM.
 *
 * Sealed layout (what the codec stores after its own 4-byte envelope header):
 *
 * ```
 * 0        1      2       3          3+L            11+L
 * | format | mode | idLen L | key id | sealedAt u64 BE | body … | HMAC-SHA256 (32) |
 * mode 0 (signed):    body = payload
 * mode 1 (encrypted): body = IV (12) | AES-256-GCM ciphertext of payload | GCM tag (16)
 * ```
 *
 * The HMAC covers the codec's context (its envelope header and the store key), the sealer header
 * (format, mode, key id, sealedAt) and the body, so an entry copied under another key, another
 * partition, another tenant or another namespace fails to verify; the GCM additional data binds
 * the same context. Encrypt-then-MAC: an encryption key alone cannot forge an entry.
 */
export interface SealerKey {
  /** Short id written into every sealed record (1–32 of `A-Z a-z 0-9 . _ -`). Not secret. */
  readonly id: string;
  /** 32 bytes (a Uint8Array, or base64 of 32 bytes): the HMAC-SHA256 key. */
  readonly signingKey: Uint8Array | string;
  /** 32 bytes (a Uint8Array, or base64 of 32 bytes): the AES-256-GCM key. Needed to encrypt. */
  readonly encryptionKey?: Uint8Array | string | undefined;
}

/** What is encrypted: entries of personal keys (default), every entry, or none (signed only). */
export type EncryptionScope = 'personal' | 'all' | 'none';

/** Why an entry read from the store was refused (each is a miss). */
export type SealRejectReason =
  /** Not in the sealer's format, or truncated. */
  | 'malformed'
  /** Sealed with a key id this sealer does not hold (retired, or never configured). */
  | 'unknown-key'
  /** The HMAC does not verify: altered, forged, or copied from another key. */
  | 'bad-signature'
  /** The signature verified but the ciphertext did not decrypt (missing encryption key, GCM tag). */
  | 'decrypt-failed'
  /** A personal entry stored unencrypted while this sealer requires encryption. */
  | 'not-encrypted'
  /** Sealed earlier than an entry this instance already saw or wrote for the same key. */
  | 'rollback'
  /** Sealed before `notBefore`, or longer ago than `maxAgeMs`. */
  | 'too-old';

export interface SealerStats {
  sealed: number;
  encrypted: number;
  opened: number;
  rejected: Record<SealRejectReason, number>;
}

export interface SealerOptions {
  /** Every key the sealer can open with; the one named by `current` seals new records. */
  readonly keys: readonly SealerKey[];
  /** Id of the key that seals new records. Default: the first key. */
  readonly current?: string;
  /** Default `'personal'`. */
  readonly encrypt?: EncryptionScope;
  /**
   * Which store keys hold personal data. Default `isPersonalKey`: keys of a partition (` p=`),
   * and keys shortened to a digest (` h=`), whose partition can no longer be seen.
   */
  readonly isPersonal?: (key: string) => boolean;
  /**
   * Records sealed before this time (epoch ms, or a function read on each open) are refused: set
   * it to the time of an incident, a deploy or a global purge to disown everything older.
   */
  readonly notBefore?: number | (() => number);
  /** Records sealed longer ago than this many ms are refused, whatever their own expiry. */
  readonly maxAgeMs?: number;
  /**
   * Rollback detection: the newest `sealedAt` seen or written per key, for up to this many keys
   * (an LRU in this process). 0 turns it off. Default 10,000.
   */
  readonly rollbackKeys?: number;
  /** Milliseconds an entry may be older than the newest one seen for its key (clock skew between writers). Default 0. */
  readonly rollbackToleranceMs?: number;
  /** Called for each refused record; never receives key material or the store key. */
  readonly onReject?: (reason: SealRejectReason, keyId: string | undefined) => void;
  readonly clock?: Clock;
}

export interface Sealer extends RecordSealer {
  /** Counters since creation (a refused record is a miss and counted here). */
  readonly stats: SealerStats;
  /** Id of the key that seals new records. */
  readonly currentKeyId: string;
  /**
   * Refuses, in this process, every record of this key sealed until now: call it when the key is
   * deleted (a purge), so an attacker who kept the old bytes cannot put them back.
   */
  revoke(key: string): void;
  /** Refuses, in this process, every record sealed until now (after a clear). */
  revokeAll(): void;
}

const FORMAT = 1;
const MODE_SIGNED = 0;
const MODE_ENCRYPTED = 1;
const MAC_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const ID_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

interface ResolvedKey {
  readonly id: string;
  readonly idBytes: Uint8Array;
  readonly signing: Buffer;
  readonly encryption: Buffer | undefined;
}

const textDecoder = new TextDecoder();

/** Validates options once; the returned sealer never throws on open. */
export function createSealer(options: SealerOptions): Sealer {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', options, 'an object with keys');
  }
  if (!Array.isArray(options.keys) || options.keys.length === 0) {
    throw invalidOption(
      'keys',
      options.keys,
      'a non-empty array of { id, signingKey, encryptionKey? }',
    );
  }
  const given: readonly SealerKey[] = options.keys;
  const keys = new Map<string, ResolvedKey>();
  for (const [index, key] of given.entries()) {
    const resolved = resolveKey(key, index);
    if (keys.has(resolved.id)) throw invalidOption(`keys[${index}].id`, resolved.id, 'unique');
    keys.set(resolved.id, resolved);
  }
  const currentId = options.current ?? given[0]!.id;
  const current = keys.get(currentId);
  if (current === undefined) {
    throw invalidOption(
      'current',
      currentId,
      `the id of one of the keys (${[...keys.keys()].join(', ')})`,
    );
  }
  const scope = options.encrypt ?? 'personal';
  if (scope !== 'personal' && scope !== 'all' && scope !== 'none') {
    throw invalidOption('encrypt', scope, '"personal", "all" or "none"');
  }
  if (scope !== 'none' && current.encryption === undefined) {
    throw new GatecacheError(
      'ERR_INVALID_OPTION',
      `[gatecache] option "keys" must give key "${current.id}" an encryptionKey (32 bytes) when encrypt is "${scope}"; or set encrypt: "none"`,
    );
  }
  const isPersonal = options.isPersonal ?? isPersonalKey;
  if (typeof isPersonal !== 'function') throw invalidOption('isPersonal', isPersonal, 'a function');
  const notBefore = options.notBefore;
  if (notBefore !== undefined && typeof notBefore !== 'function' && !Number.isFinite(notBefore)) {
    throw invalidOption('notBefore', notBefore, 'epoch milliseconds or a function returning them');
  }
  const maxAgeMs = options.maxAgeMs;
  if (maxAgeMs !== undefined && !(typeof maxAgeMs === 'number' && maxAgeMs > 0)) {
    throw invalidOption('maxAgeMs', maxAgeMs, 'a positive number of milliseconds');
  }
  const rollbackKeys = options.rollbackKeys ?? 10_000;
  if (!Number.isSafeInteger(rollbackKeys) || rollbackKeys < 0) {
    throw invalidOption('rollbackKeys', rollbackKeys, 'a non-negative integer');
  }
  const tolerance = options.rollbackToleranceMs ?? 0;
  if (!(typeof tolerance === 'number' && tolerance >= 0 && Number.isFinite(tolerance))) {
    throw invalidOption('rollbackToleranceMs', tolerance, 'a number of 0 or more');
  }
  if (options.onReject !== undefined && typeof options.onReject !== 'function') {
    throw invalidOption('onReject', options.onReject, 'a function');
  }
  const clock = options.clock ?? systemClock;
  let revokedBefore = 0;
  /** The latest sealedAt this sealer wrote (sealedAt may run ahead of the clock by a few ms). */
  let latestSealed = 0;
  const newest =
    rollbackKeys === 0 ? undefined : new LRUCache<string, number>({ max: rollbackKeys });

  const stats: SealerStats = {
    sealed: 0,
    encrypted: 0,
    opened: 0,
    rejected: {
      malformed: 0,
      'unknown-key': 0,
      'bad-signature': 0,
      'decrypt-failed': 0,
      'not-encrypted': 0,
      rollback: 0,
      'too-old': 0,
    },
  };

  const reject = (reason: SealRejectReason, keyId: string | undefined): undefined => {
    stats.rejected[reason]++;
    try {
      options.onReject?.(reason, keyId);
    } catch {
      // A faulty listener must not turn a miss into an error.
    }
    return undefined;
  };

  const mustEncrypt = (storeKey: string): boolean =>
    scope === 'all' || (scope === 'personal' && isPersonal(storeKey));

  /** The newest sealedAt seen for a key never goes back: a later, older entry is a replay. */
  const remember = (storeKey: string, sealedAt: number): void => {
    if (newest === undefined) return;
    const seen = newest.get(storeKey);
    if (seen === undefined || sealedAt > seen) newest.set(storeKey, sealedAt);
  };

  function seal(payload: Uint8Array, context: Uint8Array): Uint8Array {
    const storeKey = storeKeyOf(context);
    // Monotonic per key within this process, so two writes in one millisecond stay ordered.
    let sealedAt = Math.max(clock.now(), revokedBefore);
    const seen = newest?.get(storeKey);
    if (seen !== undefined && sealedAt <= seen) sealedAt = seen + 1;
    const encrypted = mustEncrypt(storeKey);
    const key = current!;
    const header = sealerHeader(encrypted ? MODE_ENCRYPTED : MODE_SIGNED, key.idBytes, sealedAt);
    let body: Uint8Array;
    if (encrypted) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key.encryption!, iv);
      cipher.setAAD(additionalData(context, header));
      const ciphertext = Buffer.concat([cipher.update(payload), cipher.final()]);
      body = Buffer.concat([iv, ciphertext, cipher.getAuthTag()]);
    } else {
      body = payload;
    }
    const mac = sign(key.signing, context, header, body);
    const out = new Uint8Array(header.byteLength + body.byteLength + MAC_BYTES);
    out.set(header, 0);
    out.set(body, header.byteLength);
    out.set(mac, header.byteLength + body.byteLength);
    stats.sealed++;
    if (encrypted) stats.encrypted++;
    if (sealedAt > latestSealed) latestSealed = sealedAt;
    remember(storeKey, sealedAt);
    return out;
  }

  function open(sealed: Uint8Array, context: Uint8Array): Uint8Array | undefined {
    try {
      return openUnsafe(sealed, context);
    } catch {
      return reject('malformed', undefined);
    }
  }

  function openUnsafe(sealed: Uint8Array, context: Uint8Array): Uint8Array | undefined {
    if (sealed.byteLength < 3 || sealed[0] !== FORMAT) return reject('malformed', undefined);
    const mode = sealed[1];
    const idLength = sealed[2]!;
    const headerLength = 3 + idLength + 8;
    if ((mode !== MODE_SIGNED && mode !== MODE_ENCRYPTED) || idLength === 0) {
      return reject('malformed', undefined);
    }
    if (sealed.byteLength < headerLength + MAC_BYTES) return reject('malformed', undefined);
    const keyId = textDecoder.decode(sealed.subarray(3, 3 + idLength));
    const key = keys.get(keyId);
    if (key === undefined) return reject('unknown-key', ID_PATTERN.test(keyId) ? keyId : undefined);
    const header = sealed.subarray(0, headerLength);
    const body = sealed.subarray(headerLength, sealed.byteLength - MAC_BYTES);
    const mac = sealed.subarray(sealed.byteLength - MAC_BYTES);
    const expected = sign(key.signing, context, header, body);
    if (!timingSafeEqual(mac, expected)) return reject('bad-signature', keyId);

    const storeKey = storeKeyOf(context);
    // Downgrade: a personal entry must be encrypted even if a sealer with the same signing key
    // (another fleet, an older configuration) wrote it in the clear.
    if (mode === MODE_SIGNED && mustEncrypt(storeKey)) return reject('not-encrypted', keyId);

    const sealedAt = Number(
      new DataView(header.buffer, header.byteOffset, header.byteLength).getBigUint64(3 + idLength),
    );
    const now = clock.now();
    const configured = typeof notBefore === 'function' ? notBefore() : notBefore;
    const floor = Math.max(configured ?? 0, revokedBefore);
    if (sealedAt < floor || (maxAgeMs !== undefined && now - sealedAt > maxAgeMs)) {
      return reject('too-old', keyId);
    }
    const seen = newest?.get(storeKey);
    if (seen !== undefined && sealedAt + tolerance < seen) return reject('rollback', keyId);

    let payload: Uint8Array;
    if (mode === MODE_ENCRYPTED) {
      if (key.encryption === undefined || body.byteLength < IV_BYTES + TAG_BYTES) {
        return reject('decrypt-failed', keyId);
      }
      try {
        const decipher = createDecipheriv(
          'aes-256-gcm',
          key.encryption,
          body.subarray(0, IV_BYTES),
        );
        decipher.setAAD(additionalData(context, header));
        decipher.setAuthTag(body.subarray(body.byteLength - TAG_BYTES));
        payload = Buffer.concat([
          decipher.update(body.subarray(IV_BYTES, body.byteLength - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        return reject('decrypt-failed', keyId);
      }
    } else {
      payload = body;
    }
    remember(storeKey, sealedAt);
    stats.opened++;
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  return {
    seal,
    open,
    stats,
    currentKeyId: current.id,
    revoke(key: string): void {
      // The next record sealed for the key is newer than anything sealed until now.
      newest?.set(key, Math.max(newest.get(key) ?? 0, clock.now()) + 1);
    },
    revokeAll(): void {
      revokedBefore = Math.max(clock.now(), latestSealed) + 1;
      newest?.clear();
    },
  };
}

function sealerHeader(mode: number, idBytes: Uint8Array, sealedAt: number): Uint8Array {
  const header = new Uint8Array(3 + idBytes.byteLength + 8);
  header[0] = FORMAT;
  header[1] = mode;
  header[2] = idBytes.byteLength;
  header.set(idBytes, 3);
  new DataView(header.buffer).setBigUint64(
    3 + idBytes.byteLength,
    BigInt(Math.max(0, Math.floor(sealedAt))),
  );
  return header;
}

/** Length-prefixed so that no split of (context, header, body) can be read as another. */
function sign(key: Buffer, context: Uint8Array, header: Uint8Array, body: Uint8Array): Buffer {
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32BE(context.byteLength, 0);
  lengths.writeUInt32BE(header.byteLength, 4);
  return createHmac('sha256', key)
    .update(lengths)
    .update(context)
    .update(header)
    .update(body)
    .digest();
}

function additionalData(context: Uint8Array, header: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(context.byteLength, 0);
  return Buffer.concat([length, context, header]);
}

/** The codec's context is its 4-byte envelope header followed by the UTF-8 store key. */
function storeKeyOf(context: Uint8Array): string {
  return textDecoder.decode(context.subarray(4));
}

function resolveKey(key: SealerKey, index: number): ResolvedKey {
  if (key === null || typeof key !== 'object') {
    throw invalidOption(`keys[${index}]`, key, 'an object { id, signingKey, encryptionKey? }');
  }
  if (typeof key.id !== 'string' || !ID_PATTERN.test(key.id)) {
    throw invalidOption(`keys[${index}].id`, key.id, '1 to 32 of A-Z a-z 0-9 . _ -');
  }
  const signing = keyBytes(key.signingKey, `keys[${index}].signingKey`);
  if (signing === undefined) {
    throw secretError(`keys[${index}].signingKey`, 'is required');
  }
  const encryption = keyBytes(key.encryptionKey, `keys[${index}].encryptionKey`);
  if (encryption !== undefined && timingSafeEqual(encryption, signing)) {
    throw secretError(`keys[${index}].encryptionKey`, 'must differ from the signingKey');
  }
  return { id: key.id, idBytes: new TextEncoder().encode(key.id), signing, encryption };
}

/** 32 bytes from bytes or base64. The value never appears in an error message: it is a secret. */
function keyBytes(value: Uint8Array | string | undefined, name: string): Buffer | undefined {
  if (value === undefined) return undefined;
  let bytes: Buffer;
  if (typeof value === 'string') {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) throw secretError(name, 'is not base64');
    bytes = Buffer.from(value.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  } else if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  } else {
    throw secretError(name, 'must be a Uint8Array or a base64 string');
  }
  if (bytes.byteLength !== KEY_BYTES) {
    throw secretError(name, `must be ${KEY_BYTES} bytes; got ${bytes.byteLength} bytes`);
  }
  return bytes;
}

function secretError(name: string, problem: string): GatecacheError {
  return new GatecacheError(
    'ERR_INVALID_OPTION',
    `[gatecache] option "${name}" ${problem} (generate one with: openssl rand -base64 32)`,
  );
}

/**
 * Sealer keys from the environment: `GATECACHE_SIGNING_KEY` and `GATECACHE_ENCRYPTION_KEY`
 * (base64 of 32 bytes) under the id `GATECACHE_KEY_ID` (default `"k1"`), plus the key being
 * rotated out, when set: `GATECACHE_PREVIOUS_SIGNING_KEY`, `GATECACHE_PREVIOUS_ENCRYPTION_KEY`,
 * `GATECACHE_PREVIOUS_KEY_ID` (default `"k0"`). The current key is first.
 */
export function sealerKeysFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SealerKey[] {
  const signingKey = env.GATECACHE_SIGNING_KEY;
  if (signingKey === undefined || signingKey === '') {
    throw new GatecacheError(
      'ERR_INVALID_OPTION',
      '[gatecache] environment variable GATECACHE_SIGNING_KEY must hold base64 of 32 bytes (openssl rand -base64 32)',
    );
  }
  const keys: SealerKey[] = [
    withOptional({ id: env.GATECACHE_KEY_ID ?? 'k1', signingKey }, env.GATECACHE_ENCRYPTION_KEY),
  ];
  const previous = env.GATECACHE_PREVIOUS_SIGNING_KEY;
  if (previous !== undefined && previous !== '') {
    keys.push(
      withOptional(
        { id: env.GATECACHE_PREVIOUS_KEY_ID ?? 'k0', signingKey: previous },
        env.GATECACHE_PREVIOUS_ENCRYPTION_KEY,
      ),
    );
  }
  return keys;
}

function withOptional(
  key: { id: string; signingKey: string },
  encryptionKey: string | undefined,
): SealerKey {
  return encryptionKey === undefined || encryptionKey === '' ? key : { ...key, encryptionKey };
}

/** A sealer from the environment (see `sealerKeysFromEnv`); encrypts what `encrypt` says. */
export function createSealerFromEnv(
  options: Omit<SealerOptions, 'keys' | 'current'> = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): Sealer {
  const keys = sealerKeysFromEnv(env);
  const encrypt = options.encrypt ?? (keys[0]!.encryptionKey === undefined ? 'none' : 'personal');
  return createSealer({ ...options, keys, encrypt });
}
