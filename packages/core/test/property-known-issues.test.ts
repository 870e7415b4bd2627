/**
 * Properties found broken by the attack tests, now held: each names the file and the change that
 * fixed it, and fails if that change is undone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDeltaSeconds } from '../src/cache-control.ts';
import { DEFAULTS } from '../src/defaults.ts';
import { createHttpCache } from '../src/engine.ts';
import { buildPrimaryKey, type KeySettings } from '../src/key.ts';
import { createMemoryStore } from '../src/memory-store.ts';
import type { Origin } from '../src/origin.ts';
import type { HeaderList } from '../src/types.ts';

const settings: KeySettings = {
  namespace: 'default',
  includeHost: true,
  queryIgnore: [],
  sensitiveQuery: DEFAULTS.sensitiveQuery,
};

describe('formerly known issues', () => {
  // cache-control.ts parseDeltaSeconds: `value.length > 10` clamps before leading zeros are
  // dropped, so `max-age=00000000060` reads as 2^31 s (68 years) instead of 60 s. Fix: strip
  // leading zeros (`value.replace(/^0+(?=\d)/, '')`) before the length test.
  it('delta-seconds with leading zeros keeps its value (RFC 9111 \u00a71.2.2)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 20 }),
        (n, zeros) => {
          expect(parseDeltaSeconds('0'.repeat(zeros) + String(n))).toBe(n);
        },
      ),
    );
  });

  // key.ts buildPrimaryKey: the host is put in the key as it came, and Node accepts any visible
  // character in Host — `/` included — so `GET /x` with `Host: victim.example/admin` has the key of
  // `GET /admin/x` on `victim.example`: a client can store the answer for one path under another
  // path's key (test/security/host-header.test.ts shows it through Express). Fix (engine): bypass
  // the cache (reason `invalid-host`) when the host is not `reg-name / IP-literal [":" port]`
  // (RFC 3986 §3.2.2), or percent-encode every host character outside `[a-z0-9.:\-[\]]`.
  it('a host can never borrow part of another request\u2019s path', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{1,10}\.example$/),
        fc.stringMatching(/^\/[a-z]{1,10}$/),
        fc.stringMatching(/^\/[a-z]{1,10}$/),
        (h, prefix, rest) => {
          const legit = buildPrimaryKey(
            { url: prefix + rest, host: h, partitionHash: undefined },
            settings,
          );
          const forged = buildPrimaryKey(
            { url: rest, host: h + prefix, partitionHash: undefined },
            settings,
          );
          expect(forged).not.toBe(legit);
        },
      ),
    );
  });

  // key.ts buildPrimaryKey: control characters and spaces are percent-encoded but `%` is not, so a
  // target holding a raw space (possible only from an adapter that does not take it off the wire:
  // Node and Web Requests refuse or encode it) shares the key of its encoded form. Fix: encode `%`
  // too in `safeTarget` (`/[\x00-\x20%]/g`), which makes the escaping injective.
  it('a raw space and its percent-encoding never share a key', () => {
    const raw = buildPrimaryKey({ url: '/a b', host: 'h', partitionHash: undefined }, settings);
    const encoded = buildPrimaryKey(
      { url: '/a%20b', host: 'h', partitionHash: undefined },
      settings,
    );
    expect(raw).not.toBe(encoded);
  });

  // engine.ts (#store → selectingValues): a response that varies on a credential (Authorization,
  // Cookie, X-Api-Key) gets a digested variant key, but the entry keeps the raw value in its
  // `vary` metadata, so the credential sits in memory and — unencrypted for a shared entry — in
  // Redis. (The sealer encrypts such variants: `isPersonalKey` treats digested variant keys as
  // personal.) Fix: for the SECRET_FIELDS of key.ts, store and compare `digest(value)` in
  // `entry.vary` instead of the value.
  it('a stored entry never holds the raw value of a credential it varies on', async () => {
    const memory = createMemoryStore();
    const cache = createHttpCache({ store: memory });
    const origin: Origin = (call) => {
      const headers: HeaderList = [
        ['cache-control', 'public, max-age=60'],
        ['vary', 'x-api-key'],
      ];
      const body = new TextEncoder().encode('{}');
      call.head(200, headers, body);
      return Promise.resolve({ status: 200, headers, body, complete: true });
    };
    const credential = 'key-0123456789abcdef0123456789';
    await cache.handle(
      { method: 'GET', url: '/keyed', host: 'h', headers: { 'x-api-key': credential } },
      origin,
    );
    const stored = [...memory.keys()].map((key) => JSON.stringify(memory.get(key)));
    expect(stored.length).toBeGreaterThan(0);
    for (const text of stored) expect(text).not.toContain(credential);
  });
});
