import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { CacheRequest } from '@gatecache/core';
import { compilePolicies, ConfigError, loadConfigFile, parseConfig } from '@gatecache/core/config';

const fixtures = join(import.meta.dirname, 'fixtures');
const env = { REDIS_URL: 'redis://cache:6379' };

function request(url: string, init: Partial<Omit<CacheRequest, 'url'>> = {}): CacheRequest {
  return { method: 'GET', headers: {}, ...init, url };
}

describe('the seed gateway configuration compiles to the expected policies', async () => {
  const policy = compilePolicies(
    await loadConfigFile(join(fixtures, 'seed-gateway-cache.yaml'), { env }),
  );

  it('/api/config/x/y: a day, tag "config", both layers', () => {
    expect(policy(request('/api/config/x/y'))).toEqual({
      name: '/api/config/**',
      ttl: 86_400,
      tags: ['config'],
      layers: ['l1', 'l2'],
    });
  });

  it('/api/users/42/profile: private, partitioned by the Authorization credential', () => {
    const result = policy(
      request('/api/users/42/profile', { headers: { authorization: 'Bearer alice' } }),
    );
    expect(result).toMatchObject({
      name: '/api/users/*/profile',
      ttl: 3600,
      private: true,
      layers: ['l1', 'l2'],
    });
    expect(result?.partition).toBe('Bearer alice');
    // Authorization is a partition, not a Vary field: the raw credential is never keyed or stored.
    expect(result?.varyHeaders).toBeUndefined();
    const other = policy(
      request('/api/users/42/profile', { headers: { authorization: 'Bearer bob' } }),
    );
    expect(other?.partition).toBe('Bearer bob');
    expect(policy(request('/api/users/42/profile'))?.partition).toBeUndefined();
  });

  it('/api/search: the key keeps query, page and sort only', () => {
    const result = policy(request('/api/search?query=a&page=2&sort=x&other=1'));
    expect(result).toMatchObject({
      ttl: 300,
      layers: ['l1'],
      queryAllow: ['query', 'page', 'sort'],
    });
    expect(result?.varyHeaders).toBeUndefined();
  });

  it('/api/payments/anything: no caching, whatever the method or spelling', () => {
    for (const url of [
      '/api/payments/anything',
      '/api/payments',
      '/API/Payments/1/',
      '/api/pay%6Dents/x',
    ]) {
      expect(policy(request(url))).toEqual({ name: '/api/payments/**', cache: false });
    }
    expect(policy(request('/api/payments/1', { method: 'POST' }))?.cache).toBe(false);
  });

  it('a request no rule matches gets the engine defaults', () => {
    expect(policy(request('/elsewhere'))).toBeUndefined();
  });

  it('static policies are computed once and frozen', () => {
    const a = policy(request('/api/config/a'));
    expect(policy(request('/api/config/b'))).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.tags)).toBe(true);
  });
});

describe('the seed response_cache rules', async () => {
  const policy = compilePolicies(await loadConfigFile(join(fixtures, 'seed-response-cache.yaml')));

  it('match by path and method, vary on the listed headers, default TTL elsewhere', () => {
    expect(policy(request('/api/products'))).toMatchObject({
      ttl: 1800,
      varyHeaders: ['accept-language', 'x-tenant-id'],
    });
    // methods: [GET] — a POST is not this rule's; it falls to the default policy.
    expect(policy(request('/api/products', { method: 'POST' }))).toEqual({
      name: 'cache.defaults',
      ttl: 300,
    });
    expect(
      policy(request('/api/users/7/profile', { headers: { authorization: 'Basic dTpw' } })),
    ).toMatchObject({
      ttl: 3600,
      private: true,
      partition: 'Basic dTpw',
    });
    expect(policy(request('/api/other'))).toEqual({ name: 'cache.defaults', ttl: 300 });
  });

  it('response_cache.enabled: false bypasses everything', () => {
    const off = compilePolicies(
      parseConfig('response_cache:\n  enabled: false\n  rules: [{ path: /a, ttl: 5 }]\n'),
    );
    expect(off(request('/a'))?.cache).toBe(false);
    expect(off(request('/b'))?.cache).toBe(false);
  });
});

describe('rule order: the first rule that matches wins, in file order', () => {
  it('a specific rule before a general one takes effect; after it, never', () => {
    const specificFirst = compilePolicies([
      { pattern: '/api/products/featured', ttl: 60 },
      { pattern: '/api/products/**', ttl: 600 },
    ]);
    expect(specificFirst(request('/api/products/featured'))?.ttl).toBe(60);
    expect(specificFirst(request('/api/products/1'))?.ttl).toBe(600);
    const generalFirst = compilePolicies([
      { pattern: '/api/products/**', ttl: 600 },
      { pattern: '/api/products/featured', ttl: 60 },
    ]);
    expect(generalFirst(request('/api/products/featured'))?.ttl).toBe(600);
  });

  it('cache.policies come before response_cache.rules', () => {
    const policy = compilePolicies(
      parseConfig(
        'cache:\n  policies: [{ pattern: "/api/**", ttl: 10 }]\nresponse_cache:\n  rules: [{ path: /api/x, ttl: 20 }]\n',
      ),
    );
    expect(policy(request('/api/x'))?.ttl).toBe(10);
  });

  it('a rule that does not match on method, host or header lets later rules match', () => {
    const policy = compilePolicies([
      { pattern: '/a', methods: ['POST'], name: 'post' },
      { pattern: '/a', host: '*.example.com', name: 'host' },
      { pattern: '/a', headers: { 'x-tenant': ['acme', 'globex'] }, name: 'tenant' },
      { pattern: '/a', headers: { 'x-debug': true }, name: 'debug' },
      { pattern: '/a', headers: { authorization: false }, name: 'anonymous' },
      { pattern: '/a', name: 'fallback' },
    ]);
    expect(policy(request('/a', { method: 'POST' }))?.name).toBe('post');
    expect(policy(request('/a', { host: 'api.example.com:8443' }))?.name).toBe('host');
    expect(policy(request('/a', { headers: { host: 'api.example.com' } }))?.name).toBe('host');
    expect(
      policy(request('/a', { headers: { 'x-tenant': 'globex', authorization: 'x' } }))?.name,
    ).toBe('tenant');
    expect(policy(request('/a', { headers: { 'x-tenant': 'other', 'x-debug': '1' } }))?.name).toBe(
      'debug',
    );
    expect(policy(request('/a'))?.name).toBe('anonymous');
    expect(policy(request('/a', { headers: { authorization: 'x' } }))?.name).toBe('fallback');
  });
});

describe('tags templated from the path', () => {
  it('named and positional captures fill tag templates, decoded', () => {
    const policy = compilePolicies([
      { pattern: '/api/users/{id}/profile', tags: ['user:{id}', 'profiles'] },
      { pattern: '/api/orgs/*/teams/*', tags: ['org:{1}', 'team:{1}/{2}'] },
    ]);
    const a = policy(request('/api/users/42/profile'));
    expect(a?.tags).toEqual(['user:42', 'profiles']);
    expect(Object.isFrozen(a)).toBe(true);
    expect(policy(request('/api/users/a%20b/profile'))?.tags).toEqual(['user:a b', 'profiles']);
    expect(policy(request('/api/orgs/acme/teams/web'))?.tags).toEqual([
      'org:acme',
      'team:acme/web',
    ]);
    // The static part of the policy is shared, the tags are per request.
    expect(policy(request('/api/users/1/profile'))?.tags).toEqual(['user:1', 'profiles']);
  });

  it('a template that names no capture fails at compile time, naming the tag', () => {
    expect(() => compilePolicies([{ pattern: '/api/users/*', tags: ['user:{id}'] }])).toThrow(
      /rules\[0\]\.tags\[0\].*\{id\}/,
    );
  });
});

describe('partition resolvers', () => {
  it('by cookie name, by header, by function, and combined', () => {
    const policy = compilePolicies([
      { pattern: '/cookie', private: true, partition: { cookie: 'sid' } },
      { pattern: '/header', partition: { header: 'X-User-Id' } },
      {
        pattern: '/fn',
        partition: (r) =>
          r.headers['x-user'] === undefined ? undefined : `u:${String(r.headers['x-user'])}`,
      },
      { pattern: '/both', partition: { cookie: 'sid' }, vary_by: ['Authorization'] },
    ]);
    expect(
      policy(request('/cookie', { headers: { cookie: 'a=1; sid=s-123; b=2' } }))?.partition,
    ).toBe('s-123');
    expect(policy(request('/cookie', { headers: { cookie: ['a=1', 'sid=s-9'] } }))?.partition).toBe(
      's-9',
    );
    expect(
      policy(request('/cookie', { headers: { cookie: 'sidx=1' } }))?.partition,
    ).toBeUndefined();
    expect(policy(request('/header', { headers: { 'x-user-id': '7' } }))).toMatchObject({
      private: true,
      partition: '7',
    });
    expect(policy(request('/fn', { headers: { 'x-user': 'z' } }))?.partition).toBe('u:z');
    const both = policy(
      request('/both', { headers: { cookie: 'sid=c', authorization: 'Bearer t' } }),
    )?.partition;
    const cookieOnly = policy(request('/both', { headers: { cookie: 'sid=c' } }))?.partition;
    expect(both).toContain('c');
    expect(both).toContain('Bearer t');
    expect(cookieOnly).not.toBe(both);
    expect(cookieOnly).not.toBe('c');
  });

  it('the raw credential is not in anything loggable', () => {
    const policy = compilePolicies([{ pattern: '/me', private: true }]);
    const result = policy(
      request('/me', { headers: { authorization: 'Bearer top-secret-token' } }),
    );
    expect(result?.partition).toBe('Bearer top-secret-token');
    expect(JSON.stringify(result)).not.toContain('top-secret');
    expect(JSON.parse(JSON.stringify(result)) as unknown).toMatchObject({
      partition: '[redacted]',
      private: true,
    });
    expect(inspect(result)).not.toContain('top-secret');
    expect(inspect(result)).toContain('[redacted]');
    expect(String(result?.name)).not.toContain('top-secret');
    expect(Object.isFrozen(result)).toBe(true);
    // A merge by Object.entries (how the engine layers policies) keeps the partition.
    expect(Object.fromEntries(Object.entries(result ?? {}))).toMatchObject({
      partition: 'Bearer top-secret-token',
    });
  });
});

describe('vary_by', () => {
  it("reads the seed's list form: headers by name, everything else query parameters", () => {
    const policy = compilePolicies([
      {
        pattern: '/list',
        vary_by: [
          'Accept-Language',
          'X-Tenant-ID',
          'accept',
          'query',
          'page',
          'query:x-y',
          'header:tenant',
        ],
      },
      { pattern: '/object', vary_by: { headers: ['Accept-Encoding'], query: ['page-size'] } },
      { pattern: '/headers-only', vary_by: ['Accept-Language'] },
      { pattern: '/cookie', vary_by: ['Cookie'] },
    ]);
    expect(policy(request('/list'))).toMatchObject({
      varyHeaders: ['accept-language', 'x-tenant-id', 'accept', 'tenant'],
      queryAllow: ['query', 'page', 'x-y'],
    });
    expect(policy(request('/object'))).toMatchObject({
      varyHeaders: ['accept-encoding'],
      queryAllow: ['page-size'],
    });
    expect(policy(request('/headers-only'))?.queryAllow).toBeUndefined();
    expect(policy(request('/cookie', { headers: { cookie: 'a=1' } }))).toMatchObject({
      private: true,
      partition: 'a=1',
    });
    expect(policy(request('/cookie'))?.varyHeaders).toBeUndefined();
  });

  it('query_params allow and ignore lists', () => {
    const policy = compilePolicies([
      {
        pattern: '/a',
        vary_by: ['page'],
        query_params: { allow: ['sort'], ignore: ['utm_*', 'fbclid'] },
      },
    ]);
    expect(policy(request('/a'))).toMatchObject({
      queryAllow: ['page', 'sort'],
      queryIgnore: ['utm_*', 'fbclid'],
    });
  });
});

describe('settings, defaults and classification', () => {
  it('every setting reaches the policy in engine units', () => {
    const policy = compilePolicies([
      {
        pattern: '/all',
        name: 'everything',
        ttl: '5m',
        override: true,
        stale_while_revalidate: '30s',
        stale_if_error: '1h',
        max_body_size: '1MB',
        statuses: [200, 404],
        content_types: ['application/json', 'text/*'],
        store_set_cookie: true,
        downstream: {
          cache_control: 'Public, MAX-AGE=60',
          cdn_cache_control: 'max-age=3600',
          surrogate_control: 'max-age=86400',
        },
      },
    ]);
    expect(policy(request('/all'))).toEqual({
      name: 'everything',
      ttl: 300,
      override: true,
      staleWhileRevalidate: 30,
      staleIfError: 3600,
      maxBodyBytes: 1024 * 1024,
      statuses: [200, 404],
      contentTypes: ['application/json', 'text/*'],
      storeSetCookie: true,
      downstream: {
        cacheControl: 'public, max-age=60',
        cdnCacheControl: 'max-age=3600',
        surrogateControl: 'max-age=86400',
      },
    });
  });

  it('downstream presets', () => {
    const policy = compilePolicies([
      { pattern: '/public', ttl: '10m', downstream: 'public' },
      { pattern: '/private', downstream: 'private' },
      { pattern: '/none', downstream: 'no-store' },
    ]);
    expect(policy(request('/public'))?.downstream).toEqual({ cacheControl: 'public, max-age=600' });
    expect(policy(request('/private'))?.downstream).toEqual({ cacheControl: 'private, no-cache' });
    expect(policy(request('/none'))?.downstream).toEqual({
      cacheControl: 'no-store',
      cdnCacheControl: 'no-store',
      surrogateControl: 'no-store',
    });
  });

  it('classification defaults: public long, personal short and per user, sensitive never stored', () => {
    const policy = compilePolicies([
      { pattern: '/public', classification: 'public' },
      { pattern: '/personal', classification: 'personal' },
      {
        pattern: '/personal-own-ttl',
        classification: 'personal',
        ttl: 30,
        partition: { cookie: 'sid' },
      },
      { pattern: '/sensitive', classification: 'sensitive', ttl: 60 },
    ]);
    expect(policy(request('/public'))).toMatchObject({ ttl: 3600, classification: 'public' });
    expect(policy(request('/public'))?.private).toBeUndefined();
    const personal = policy(request('/personal', { headers: { authorization: 'Bearer p' } }));
    expect(personal).toMatchObject({
      ttl: 60,
      private: true,
      partition: 'Bearer p',
      classification: 'personal',
      downstream: { cacheControl: 'private, no-cache' },
    });
    expect(policy(request('/personal-own-ttl', { headers: { cookie: 'sid=9' } }))).toMatchObject({
      ttl: 30,
      partition: '9',
    });
    expect(policy(request('/sensitive'))).toEqual({
      name: '/sensitive',
      cache: false,
      classification: 'sensitive',
      downstream: {
        cacheControl: 'no-store',
        cdnCacheControl: 'no-store',
        surrogateControl: 'no-store',
      },
    });
  });

  it('cache.defaults apply to every rule and to unmatched requests; rules replace them field by field', () => {
    const policy = compilePolicies({
      cache: {
        defaults: { ttl: '2m', query_params: { ignore: ['utm_*'] }, layers: ['l1'] },
        policies: [
          { pattern: '/a', ttl: 10 },
          { pattern: '/b', classification: 'public' },
        ],
      },
    });
    expect(policy(request('/a'))).toMatchObject({
      ttl: 10,
      queryIgnore: ['utm_*'],
      layers: ['l1'],
    });
    expect(policy(request('/b'))).toMatchObject({ ttl: 3600 });
    expect(policy(request('/z'))).toEqual({
      name: 'cache.defaults',
      ttl: 120,
      queryIgnore: ['utm_*'],
      layers: ['l1'],
    });
  });

  it('rules in code are validated when compiled, with paths into the array', () => {
    expect(() => compilePolicies([{ pattern: '/ok' }, { pattern: '/bad', ttl: 'soon' }])).toThrow(
      ConfigError,
    );
    expect(() => compilePolicies([{ pattern: '/ok' }, { pattern: '/bad', ttl: 'soon' }])).toThrow(
      /code: rules\[1\]\.ttl must be a duration.*"soon"/,
    );
    expect(() => compilePolicies([{ pattern: '/a', ttl: 1, bogus: true } as never])).toThrow(
      /rules\[0\]\.bogus/,
    );
  });
});
