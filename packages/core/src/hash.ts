import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

// Pure-JS hashes keep the request path free of Node-only APIs (Bun, Deno and Workers run it too).

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A one-way, fixed-length digest of a string (SHA-256, 22 base64url characters = 132 bits). */
export function digest(text: string): string {
  return base64url(sha256(encoder.encode(text))).slice(0, 22);
}

/**
 * A strong entity tag in the format of the `etag` package (`"<length hex>-<sha1 base64 27>"`), so
 * tags stay stable whichever generator produced them.
 */
export function generateETag(body: Uint8Array): string {
  if (body.byteLength === 0) return '"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  let binary = '';
  for (const byte of sha1(body)) binary += String.fromCharCode(byte);
  return `"${body.byteLength.toString(16)}-${btoa(binary).slice(0, 27)}"`;
}
