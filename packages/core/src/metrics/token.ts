/**
 * Admin authentication: a bearer token compared in constant time. Only the `Authorization` header
 * (or `X-Gatecache-Token`) counts; cookies never authenticate, so a page on another site cannot
 * make a browser act on the admin endpoint with ambient credentials (CSRF).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { invalidOption } from '../errors.ts';
import { requestHeader } from '../headers.ts';
import type { RequestHeaders } from '../types.ts';

const encoder = new TextEncoder();

/** Shortest token accepted: 16 characters (at least 96 bits when random base64). */
export const MIN_TOKEN_LENGTH = 16;

export function checkToken(name: string, token: unknown): string {
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw invalidOption(
      name,
      token === undefined ? undefined : '[redacted]',
      `a secret of at least ${MIN_TOKEN_LENGTH} characters without spaces (the admin endpoint is off without one)`,
    );
  }
  return token;
}

/**
 * Equal in time independent of where the inputs differ: both sides are hashed first, so even
 * their lengths are not revealed, and the digests are compared without an early exit.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return equalDigests(sha256(encoder.encode(a)), sha256(encoder.encode(b)));
}

function equalDigests(x: Uint8Array, y: Uint8Array): boolean {
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i] ?? 0);
  return diff === 0;
}

/** The token a request presents, from `Authorization: Bearer …` or `X-Gatecache-Token`. */
export function presentedToken(headers: RequestHeaders): string | undefined {
  const authorization = requestHeader(headers, 'authorization');
  if (authorization !== undefined) {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    return match?.[1];
  }
  return requestHeader(headers, 'x-gatecache-token')?.trim();
}

/** A verifier for one token; the token is kept only as its digest. */
export function tokenVerifier(token: string): (headers: RequestHeaders) => boolean {
  const expected = sha256(encoder.encode(token));
  return (headers) => {
    const presented = presentedToken(headers);
    // Compare even when absent so a missing token costs the same as a wrong one.
    const ok = equalDigests(sha256(encoder.encode(presented ?? '')), expected);
    return presented !== undefined && ok;
  };
}
