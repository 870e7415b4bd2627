import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

/**
 * The runtime's native hashes where it has them (Node, Bun and Deno through
 * `process.getBuiltinModule`): a pure-JS SHA-1 of a 1 KB body costs more than the rest of a miss.
 * Elsewhere (Workers) the same digests come from @noble/hashes, so the request path needs no
 * Node-only import and every runtime computes identical values.
 */
interface NativeHash {
  update(data: Uint8Array): NativeHash;
  digest(encoding: 'base64' | 'base64url'): string;
}
type CreateHash = (algorithm: string) => NativeHash;
/** Node's one-shot `crypto.hash` (Node 20.12+): no Hash object per digest. */
type OneShotHash = (
  algorithm: string,
  data: Uint8Array,
  encoding: 'base64' | 'base64url',
) => string;

const ABC_SHA1 = 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=';

const nativeHash: OneShotHash | undefined = (() => {
  try {
    const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
      ?.getBuiltinModule;
    if (typeof get !== 'function') return undefined;
    const crypto = get('node:crypto') as { createHash?: unknown; hash?: unknown } | undefined;
    const abc = new Uint8Array([97, 98, 99]);
    const oneShot = crypto?.hash;
    if (
      typeof oneShot === 'function' &&
      (oneShot as OneShotHash)('sha1', abc, 'base64') === ABC_SHA1
    ) {
      return oneShot as OneShotHash;
    }
    const createHash = crypto?.createHash;
    if (typeof createHash !== 'function') return undefined;
    // A runtime that names the module but cannot hash (a stub) falls back too.
    if ((createHash as CreateHash)('sha1').update(abc).digest('base64') !== ABC_SHA1) {
      return undefined;
    }
    return (algorithm, data, encoding) =>
      (createHash as CreateHash)(algorithm).update(data).digest(encoding);
  } catch {
    return undefined;
  }
})();

/** Which implementation computes digests in this runtime. */
export const HASH_BACKEND: 'native' | 'portable' = nativeHash === undefined ? 'portable' : 'native';

const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A one-way, fixed-length digest of a string (SHA-256, 22 base64url characters = 132 bits). */
export function digest(text: string): string {
  const bytes = encoder.encode(text);
  const encoded =
    nativeHash === undefined ? base64url(sha256(bytes)) : nativeHash('sha256', bytes, 'base64url');
  return encoded.slice(0, 22);
}

/**
 * A strong entity tag in the format of the `etag` package (`"<length hex>-<sha1 base64 27>"`), so
 * tags stay stable whichever generator produced them.
 */
export function generateETag(body: Uint8Array): string {
  if (body.byteLength === 0) return '"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  const encoded =
    nativeHash === undefined ? base64(sha1(body)) : nativeHash('sha1', body, 'base64');
  return `"${body.byteLength.toString(16)}-${encoded.slice(0, 27)}"`;
}
