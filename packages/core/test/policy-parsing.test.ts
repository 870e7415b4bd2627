import { sha256 } from '@noble/hashes/sha2.js';
import etag from 'etag';
import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  DELTA_SECONDS_MAX,
  buildPrimaryKey,
  digest,
  generateETag,
  normalizeTarget,
  parseCacheControl,
  parseDeltaSeconds,
  parseHttpDate,
  parseRequestDirectives,
  splitList,
  varyFields,
} from '../src/index.ts';

describe('defaults', () => {
  it('are pinned', () => {
    expect(DEFAULTS).toMatchInlineSnapshot(`
      {
        "cacheStatusName": "gatecache",
        "coalesce": true,
        "deceptionDefence": true,
        "etag": true,
        "heuristicFraction": 0.1,
        "heuristicMaxSeconds": 86400,
        "ignoreRequestCacheControl": false,
        "keyHost": true,
        "leaseWaitMs": 5000,
        "maxBodyBytes": 5242880,
        "maxRequestHeaderBytes": 32768,
        "maxUrlLength": 8192,
        "memory": {
          "maxBytes": 67108864,
          "maxEntries": 10000,
        },
        "namespace": "default",
        "originTimeoutMs": 0,
        "queryIgnore": [],
        "refreshAhead": 0,
        "revalidationWindow": 300,
        "sensitiveQuery": [
          "token",
          "access_token",
          "id_token",
          "refresh_token",
          "api_key",
          "apikey",
          "key",
          "password",
          "secret",
          "signature",
          "sig",
          "auth",
          "session",
          "code",
        ],
        "stripTagHeaders": true,
        "tagHeaders": [
          "cache-tag",
          "surrogate-key",
        ],
        "targetedFields": [
          "gatecache-cache-control",
          "cdn-cache-control",
        ],
        "unkeyedHeaders": [
          "x-forwarded-host",
          "x-forwarded-server",
          "x-forwarded-scheme",
          "x-forwarded-proto",
          "x-forwarded-port",
          "x-forwarded-prefix",
          "x-original-url",
          "x-original-host",
          "x-rewrite-url",
          "x-host",
          "x-http-method-override",
          "x-http-method",
          "x-method-override",
          "forwarded",
        ],
      }
    `);
  });
});

describe('Cache-Control parsing (RFC 9111 §5.2)', () => {
  it('reads every line, lower-cases names, unquotes arguments and keeps unknown directives', () => {
    const cc = parseCacheControl(['Public, MAX-AGE="60"', 'x-ext=1, no-cache="Set-Cookie, X-A"']);
    expect(cc.directives.get('public')).toBe(true);
    expect(cc.directives.get('max-age')).toBe('60');
    expect(cc.directives.get('x-ext')).toBe('1');
    expect(cc.directives.get('no-cache')).toBe('Set-Cookie, X-A');
    expect(cc.conflicting.size).toBe(0);
  });

  it('flags directives repeated with different values (§4.2.1)', () => {
    expect(parseCacheControl(['max-age=1', 'max-age=2']).conflicting.has('max-age')).toBe(true);
    expect(parseCacheControl(['max-age=1, max-age=1']).conflicting.size).toBe(0);
  });

  it('never throws on garbage', () => {
    for (const line of ['', ',,,', '=', '"unterminated', 'a="b\\"c"', '\u0000', '==x']) {
      expect(() => parseCacheControl([line])).not.toThrow();
    }
  });

  it('splits lists on commas outside quoted strings (RFC 9110 §5.6.1)', () => {
    expect(splitList('a, "b, c", d')).toEqual(['a', '"b, c"', 'd']);
    expect(splitList(' , a ,, ')).toEqual(['a']);
  });
});

describe('delta-seconds (§1.2.2)', () => {
  it('accepts digits only and clamps overflow to 2^31', () => {
    expect(parseDeltaSeconds('0')).toBe(0);
    expect(parseDeltaSeconds('60')).toBe(60);
    expect(parseDeltaSeconds('2147483649')).toBe(DELTA_SECONDS_MAX);
    expect(parseDeltaSeconds('99999999999999999999999')).toBe(DELTA_SECONDS_MAX);
    for (const bad of ['-1', '1.5', ' 1', 'abc', '', '0x10'])
      expect(parseDeltaSeconds(bad)).toBeUndefined();
    expect(parseDeltaSeconds(true)).toBeUndefined();
  });
});

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  it('parses the three formats and rejects everything else', () => {
    const ms = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(ms);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(ms);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(ms);
    for (const bad of ['0', '-1', '2024-01-01', 'tomorrow', '', 'Sun, 06 Nov 1994 08:49:37 PST']) {
      expect(parseHttpDate(bad)).toBeUndefined();
    }
  });
});

describe('request directives (§5.2.1)', () => {
  it('reads max-age, max-stale (bare = unlimited), min-fresh, only-if-cached', () => {
    const d = parseRequestDirectives({
      'cache-control': 'max-age=5, max-stale, min-fresh=2, only-if-cached',
    });
    expect(d).toMatchObject({
      maxAge: 5,
      maxStale: Infinity,
      minFresh: 2,
      onlyIfCached: true,
      noCache: false,
    });
    expect(parseRequestDirectives({ 'cache-control': 'max-age=x' }).maxAge).toBe(0);
  });
});

describe('Vary (§4.1)', () => {
  it('collects, lower-cases and sorts field names; * wins', () => {
    expect(
      varyFields([
        ['vary', 'Accept-Language, accept'],
        ['vary', 'X-A'],
      ]),
    ).toEqual(['accept', 'accept-language', 'x-a']);
    expect(varyFields([['vary', 'accept, *']])).toEqual(['*']);
  });
});

describe('keys', () => {
  const settings = {
    namespace: 'ns',
    includeHost: true,
    queryIgnore: ['utm_*'],
    sensitiveQuery: ['token'],
  };

  it('normalization is idempotent and order-insensitive for query parameters', () => {
    const once = normalizeTarget('/p?b=2&a=1&a=0&utm_x=1', settings);
    expect(once).toBe('/p?a=1&a=0&b=2');
    expect(normalizeTarget(once, settings)).toBe(once);
  });

  it('hashes sensitive values and separates parts with characters a URL cannot hold', () => {
    const key = buildPrimaryKey({ url: '/x?token=abc', host: 'H', partitionHash: 'ph' }, settings);
    expect(key).not.toContain('abc');
    expect(key.startsWith('gc1:ns:h/x?token=~')).toBe(true);
    expect(key.endsWith(' p=ph')).toBe(true);
    const tricky = buildPrimaryKey(
      { url: '/x p=ph', host: 'h', partitionHash: undefined },
      settings,
    );
    expect(tricky).not.toBe(
      buildPrimaryKey({ url: '/x', host: 'h', partitionHash: 'ph' }, settings),
    );
  });

  it('keeps every key within 250 characters', () => {
    const key = buildPrimaryKey(
      { url: '/' + 'a'.repeat(1000), host: 'h', partitionHash: undefined },
      settings,
    );
    expect(key.length).toBeLessThanOrEqual(250);
    const other = buildPrimaryKey(
      { url: '/' + 'a'.repeat(999) + 'b', host: 'h', partitionHash: undefined },
      settings,
    );
    expect(other).not.toBe(key);
  });
});

describe('generated ETag', () => {
  it('is strong and depends on every byte', () => {
    const a = generateETag(new TextEncoder().encode('hello'));
    expect(a).toMatch(/^"5-[A-Za-z0-9+/]{27}"$/);
    expect(generateETag(new TextEncoder().encode('hellp'))).not.toBe(a);
    expect(generateETag(new Uint8Array(0))).toBe('"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"');
  });

  it('is the tag the etag package gives, byte for byte, for bodies of every size', () => {
    for (const size of [1, 5, 63, 64, 65, 1000, 4096, 100_000]) {
      const body = new Uint8Array(size);
      for (let i = 0; i < size; i += 1) body[i] = (i * 131 + size) % 256;
      expect(generateETag(body)).toBe(etag(Buffer.from(body)));
    }
  });
});

describe('digest', () => {
  it('is the first 22 base64url characters of the SHA-256 of the UTF-8 text', () => {
    for (const text of [
      '',
      'a',
      'tenant-42',
      'ünïcödé \u{1f600}',
      'x'.repeat(10_000),
      'lone \ud800',
    ]) {
      const expected = base64url(sha256(new TextEncoder().encode(text))).slice(0, 22);
      expect(digest(text)).toBe(expected);
      expect(digest(text)).toHaveLength(22);
    }
  });
});

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
