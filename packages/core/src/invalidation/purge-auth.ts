import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { MaybePromise } from '../types.ts';

const encoder = new TextEncoder();

/** Compares two byte strings in time that depends on their length only. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Checks a presented bearer token against the configured ones. Both sides are hashed first, so
 * the comparison is over fixed-length digests and leaks neither content nor length; every
 * configured token is compared (no early exit) so rotation lists leak no position either.
 */
export function createTokenCheck(tokens: readonly string[]): (presented: string) => boolean {
  const digests = tokens.map((token) => sha256(encoder.encode(token)));
  return (presented) => {
    const candidate = sha256(encoder.encode(presented));
    let ok = false;
    for (const digest of digests) ok = constantTimeEqual(candidate, digest) || ok;
    return ok;
  };
}

/** Hex of HMAC-SHA256(secret, `${timestamp}.${body}`): what a sender puts in the signature field. */
export function signPurge(
  secret: string | Uint8Array,
  timestamp: number | string,
  body: Uint8Array | string,
): string {
  const key = typeof secret === 'string' ? encoder.encode(secret) : secret;
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  const prefix = encoder.encode(`${timestamp}.`);
  const message = new Uint8Array(prefix.length + bytes.length);
  message.set(prefix, 0);
  message.set(bytes, prefix.length);
  return toHex(hmac(sha256, key, message));
}

/** Verifies a signature (`sha256=<hex>` or bare hex) against each secret, in constant time. */
export function createSignatureCheck(
  secrets: readonly (string | Uint8Array)[],
): (signature: string, timestamp: string, body: Uint8Array) => boolean {
  return (signature, timestamp, body) => {
    const hex = signature.startsWith('sha256=') ? signature.slice(7) : signature;
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
    const presented = fromHex(hex.toLowerCase());
    let ok = false;
    for (const secret of secrets) {
      const expected = fromHex(signPurge(secret, timestamp, body));
      ok = constantTimeEqual(presented, expected) || ok;
    }
    return ok;
  };
}

/**
 * Remembers signatures seen within the replay window. `claim` returns false when the signature
 * was already used. The default is per process; share one (Redis `SET NX PX`) across a fleet so a
 * captured request cannot be replayed against another instance.
 */
export interface ReplayGuard {
  claim(signature: string, ttlMs: number): MaybePromise<boolean>;
}

/** A replay guard in memory, bounded: expired signatures go first, then the oldest. */
export function createMemoryReplayGuard(
  maxEntries = 100_000,
  now: () => number = Date.now,
): ReplayGuard {
  const seen = new Map<string, number>();
  return {
    claim(signature, ttlMs) {
      const t = now();
      const expires = seen.get(signature);
      if (expires !== undefined && expires > t) return false;
      if (seen.size >= maxEntries) {
        for (const [key, until] of seen) if (until <= t) seen.delete(key);
        while (seen.size >= maxEntries) {
          const oldest = seen.keys().next().value;
          if (oldest === undefined) break;
          seen.delete(oldest);
        }
      }
      seen.delete(signature);
      seen.set(signature, t + ttlMs);
      return true;
    },
  };
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
