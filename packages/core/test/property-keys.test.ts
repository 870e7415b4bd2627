import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../src/defaults.ts';
import { createHttpCache } from '../src/engine.ts';
import {
  buildPrimaryKey,
  MAX_KEY_LENGTH,
  normalizeTarget,
  variantKey,
  type KeySettings,
} from '../src/key.ts';
import { createMemoryStore } from '../src/memory-store.ts';
import type { Origin } from '../src/origin.ts';
import type { CacheStore, HeaderList } from '../src/types.ts';

const settings: KeySettings = {
  namespace: 'default',
  includeHost: true,
  queryIgnore: ['utm_*', 'fbclid'],
  sensitiveQuery: DEFAULTS.sensitiveQuery,
};

// What an HTTP/1.1 parser lets through in a request target (visible ASCII), without `?` and `#`,
// which structure it. Spaces and controls never reach an adapter from Node or a Web Request.
const PATH_CHARS = [...Array(0x7f - 0x21).keys()]
  .map((i) => String.fromCharCode(0x21 + i))
  .filter((c) => c !== '?' && c !== '#');
const pathSegment = fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 40 });
const path = pathSegment.map((text) => '/' + text);
const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz_-.0123456789%';
const paramName = fc.string({ unit: fc.constantFrom(...NAME_CHARS), minLength: 1, maxLength: 12 });
const VALUE_CHARS = [...PATH_CHARS.filter((c) => c !== '&'), '?'];
const paramValue = fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 40 });
const query = fc
  .array(fc.tuple(paramName, fc.option(paramValue, { nil: undefined })), { maxLength: 6 })
  .map((pairs) =>
    pairs.map(([name, value]) => (value === undefined ? name : `${name}=${value}`)).join('&'),
  );
const target = fc
  .tuple(path, fc.option(query, { nil: undefined }))
  .map(([p, q]) => (q === undefined ? p : `${p}?${q}`));
/** Host names as RFC 3986 allows them (reg-name and port); see the host tests in test/security. */
const host = fc
  .tuple(
    fc.stringMatching(
      /^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}$/,
    ),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([name, port]) => (port === undefined ? name : `${name}:${port}`));
/** Credential-like values: long enough that finding them in a key cannot be chance. */
const secret = fc.stringMatching(/^[A-Za-z0-9]{24,64}$/);
const hash = fc.stringMatching(/^[A-Za-z0-9_-]{22}$/);

describe('property: normalizeTarget', () => {
  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (url) => {
        normalizeTarget(url, settings);
        normalizeTarget(url, settings, ['a*'], ['b']);
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent (without sensitive parameters, whose values it replaces by a digest)', () => {
    const plain: KeySettings = { ...settings, sensitiveQuery: [] };
    fc.assert(
      fc.property(target, (url) => {
        const once = normalizeTarget(url, plain);
        expect(normalizeTarget(once, plain)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps the path byte for byte', () => {
    fc.assert(
      fc.property(path, fc.option(query, { nil: undefined }), (p, q) => {
        const normalized = normalizeTarget(q === undefined ? p : `${p}?${q}`, settings);
        expect(normalized.split('?')[0]).toBe(p);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: buildPrimaryKey', () => {
  const build = (
    url: string,
    h: string | undefined,
    partitionHash?: string,
    tenantHash?: string,
  ): string => buildPrimaryKey({ url, host: h, partitionHash, tenantHash }, settings);

  it(`never exceeds ${MAX_KEY_LENGTH} characters, whatever the input`, () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 2000 }),
        fc.option(fc.string({ unit: 'binary', maxLength: 300 }), { nil: undefined }),
        fc.option(hash, { nil: undefined }),
        fc.option(hash, { nil: undefined }),
        (url, h, p, t) => {
          expect(build(url, h, p, t).length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never holds the raw value of a sensitive query parameter', () => {
    fc.assert(
      fc.property(
        path,
        fc.constantFrom(...settings.sensitiveQuery, 'Token', 'ACCESS_TOKEN'),
        secret,
        query,
        (p, name, value, rest) => {
          const key = build(`${p}?${rest}&${name}=${value}`, 'api.example');
          expect(key).not.toContain(value);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('different paths, hosts, query values, partitions or tenants never share a key', () => {
    const variant = fc.constantFrom('path', 'host', 'query', 'partition', 'tenant');
    fc.assert(
      fc.property(
        variant,
        fc.tuple(path, path),
        fc.tuple(host, host),
        fc.tuple(paramValue, paramValue),
        fc.tuple(hash, hash),
        fc.tuple(hash, hash),
        (what, [p1, p2], [h1, h2], [v1, v2], [a1, a2], [t1, t2]) => {
          fc.pre(
            what === 'path'
              ? p1 !== p2
              : what === 'host'
                ? h1.toLowerCase() !== h2.toLowerCase()
                : what === 'query'
                  ? v1 !== v2
                  : what === 'partition'
                    ? a1 !== a2
                    : t1 !== t2,
          );
          const url = (p: string, v: string) => `${p}?id=${v}&utm_source=x`;
          const first = build(url(p1, v1), h1, a1, t1);
          const second = build(
            url(what === 'path' ? p2 : p1, what === 'query' ? v2 : v1),
            what === 'host' ? h2 : h1,
            what === 'partition' ? a2 : a1,
            what === 'tenant' ? t2 : t1,
          );
          expect(first).not.toBe(second);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a partition\u2019s key never equals the shared key of any request', () => {
    fc.assert(
      fc.property(target, target, host, host, hash, (u1, u2, h1, h2, p) => {
        expect(build(u1, h1, p)).not.toBe(build(u2, h2));
      }),
      { numRuns: 1000 },
    );
  });

  it('ignored parameters and parameter order do not change the key', () => {
    fc.assert(
      fc.property(path, paramValue, paramValue, (p, a, b) => {
        const key = build(`${p}?a=${a}&b=${b}`, 'h');
        expect(build(`${p}?b=${b}&utm_medium=x&a=${a}&fbclid=y`, 'h')).toBe(key);
      }),
      { numRuns: 500 },
    );
  });
});

describe('property: variantKey', () => {
  const fields = fc.uniqueArray(
    fc.constantFrom(
      'accept',
      'accept-encoding',
      'accept-language',
      'authorization',
      'cookie',
      'x-api-key',
    ),
    { minLength: 1, maxLength: 4 },
  );

  it('never exceeds the limit; different selecting values never share a key; secrets are digested', () => {
    fc.assert(
      fc.property(
        fields,
        fc.array(fc.option(secret, { nil: null }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.option(secret, { nil: null }), { minLength: 4, maxLength: 4 }),
        target,
        (names, first, second, url) => {
          const primary = buildPrimaryKey({ url, host: 'h', partitionHash: undefined }, settings);
          const values = (list: Array<string | null>) =>
            Object.fromEntries(names.map((name, i) => [name, list[i] ?? null]));
          const a = variantKey(primary, 'e1', names, values(first));
          const b = variantKey(primary, 'e1', names, values(second));
          expect(a.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
          if (names.some((name, i) => (first[i] ?? null) !== (second[i] ?? null))) {
            expect(a).not.toBe(b);
          } else {
            expect(a).toBe(b);
          }
          names.forEach((name, i) => {
            const value = first[i];
            if (value && ['authorization', 'cookie', 'x-api-key'].includes(name)) {
              expect(a).not.toContain(value);
            }
          });
          // Another epoch (a purge) never reaches the old variants.
          expect(variantKey(primary, 'e2', names, values(first))).not.toBe(a);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('property: keys the engine writes', () => {
  it('never hold a raw partition, tenant or sensitive value, and stay within the limit', async () => {
    const written: string[] = [];
    const memory = createMemoryStore();
    const store: CacheStore = {
      name: 'recording',
      get: (key) => memory.get(key),
      set: (key, record, ttl) => {
        written.push(key);
        memory.set(key, record, ttl);
      },
      delete: (key) => memory.delete(key),
      clear: () => memory.clear(),
    };
    const cache = createHttpCache({
      store,
      tenant: (request) => request.headers['x-tenant'] as string | undefined,
    });
    const origin: Origin = (call) => {
      const headers: HeaderList = [
        ['cache-control', 'private, max-age=60'],
        ['content-type', 'application/json'],
        ['vary', 'accept-language'],
      ];
      const body = new TextEncoder().encode('{}');
      call.head(200, headers, body);
      return Promise.resolve({ status: 200, headers, body, complete: true });
    };
    await fc.assert(
      fc.asyncProperty(target, secret, secret, secret, async (url, partition, tenant, token) => {
        written.length = 0;
        await cache.handle(
          {
            method: 'GET',
            url: `${url}${url.includes('?') ? '&' : '?'}access_token=${token}`,
            host: 'api.example',
            headers: { 'x-tenant': tenant, 'accept-language': 'en' },
            partition,
          },
          origin,
        );
        expect(written.length).toBeGreaterThan(0);
        for (const key of written) {
          expect(key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
          for (const raw of [partition, tenant, token]) expect(key).not.toContain(raw);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('engine: remembered keys', () => {
  it('every request finds its own entry, across hosts and targets and past the remembered set', async () => {
    const cache = createHttpCache({ store: createMemoryStore({ maxEntries: 5_000 }) });
    let calls = 0;
    let sent = '';
    const origin: Origin = (call) => {
      calls++;
      const headers: HeaderList = [['cache-control', 'public, max-age=600']];
      sent = `origin call ${calls}`;
      const body = new TextEncoder().encode(sent);
      call.head(200, headers, body);
      return Promise.resolve({ status: 200, headers, body, complete: true });
    };
    const hosts = ['a.example', 'A.example', 'b.example:8080', '[::1]:3000'];
    const targets = Array.from({ length: 400 }, (_, i) => `/items/${i % 97}?page=${i % 5}&n=${i}`);
    const requests = hosts.flatMap((host) => targets.map((url) => ({ host, url })));
    const text = async (host: string, url: string) => {
      const result = await cache.handle(
        { method: 'GET', url, host, headers: { host }, partition: undefined },
        origin,
      );
      // A miss is written by the origin itself ('done'); a hit is a plan to send.
      if (result.type === 'done') return sent;
      expect(result.type).toBe('send');
      const plan = result as { response: { body?: Uint8Array } };
      return new TextDecoder().decode(plan.response.body);
    };
    const first = new Map<string, string>();
    for (const { host, url } of requests) first.set(`${host} ${url}`, await text(host, url));
    const stored = calls;
    // Host names are case-insensitive: `a.example` and `A.example` share entries.
    expect(stored).toBe(3 * targets.length);
    // In another order, more requests than the engine remembers keys for: each gets its own body.
    for (let i = requests.length - 1; i >= 0; i -= 1) {
      const { host, url } = requests[(i * 7) % requests.length]!;
      expect(await text(host, url)).toBe(first.get(`${host} ${url}`));
    }
    expect(calls).toBe(stored);
  });
});
