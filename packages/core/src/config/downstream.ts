import type { DownstreamHeaders } from '../types.ts';

/** Presets of the `downstream` key; `public` needs the rule's TTL to fill in `max-age`. */
export type DownstreamPreset = 'public' | 'private' | 'no-store';

export const DOWNSTREAM_PRESETS: readonly DownstreamPreset[] = ['public', 'private', 'no-store'];

/**
 * Response directives a gateway may send downstream: RFC 9111 §5.2.2, RFC 5861, RFC 8246
 * (immutable). The list guards against typos such as `max_age`, which a cache downstream would
 * ignore silently.
 */
const KNOWN_DIRECTIVES: ReadonlySet<string> = new Set([
  'max-age',
  's-maxage',
  'public',
  'private',
  'no-cache',
  'no-store',
  'no-transform',
  'must-revalidate',
  'proxy-revalidate',
  'must-understand',
  'immutable',
  'stale-while-revalidate',
  'stale-if-error',
]);

const WITH_SECONDS: ReadonlySet<string> = new Set([
  'max-age',
  's-maxage',
  'stale-while-revalidate',
  'stale-if-error',
]);

const DIRECTIVE = /^([A-Za-z-]+)(?:=(\d+|"[^"]*"))?$/;

/**
 * Validates a Cache-Control style field value (also CDN-Cache-Control, RFC 9213, and
 * Surrogate-Control, which share the syntax) and returns it in normal form; throws a plain Error.
 */
export function normalizeDirectives(value: string): string {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) throw new Error('has an empty directive');
  const seen = new Set<string>();
  const out: string[] = [];
  for (const part of parts) {
    const match = DIRECTIVE.exec(part);
    if (match === null) throw new Error(`has a malformed directive "${part}"`);
    const name = (match[1] ?? '').toLowerCase();
    if (!KNOWN_DIRECTIVES.has(name)) throw new Error(`has an unknown directive "${name}"`);
    if (seen.has(name)) throw new Error(`repeats the directive "${name}"`);
    seen.add(name);
    if (WITH_SECONDS.has(name) && (match[2] === undefined || match[2].startsWith('"'))) {
      throw new Error(`needs "${name}=<seconds>"`);
    }
    out.push(match[2] === undefined ? name : `${name}=${match[2]}`);
  }
  if (seen.has('public') && seen.has('private'))
    throw new Error('says both "public" and "private"');
  return out.join(', ');
}

/**
 * Expands a preset. `public` is `public, max-age=<ttl>` (RFC 9111 §5.2.2.1, §5.2.2.9); `private` is
 * `private, no-cache`, so that shared caches never store it and browsers revalidate each use;
 * `no-store` is sent to browsers and CDNs alike.
 */
export function expandPreset(preset: DownstreamPreset, ttl: number | undefined): DownstreamHeaders {
  switch (preset) {
    case 'public':
      return { cacheControl: `public, max-age=${Math.floor(ttl ?? 0)}` };
    case 'private':
      return { cacheControl: 'private, no-cache' };
    case 'no-store':
      return {
        cacheControl: 'no-store',
        cdnCacheControl: 'no-store',
        surrogateControl: 'no-store',
      };
  }
}
