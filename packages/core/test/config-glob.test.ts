import { describe, expect, it } from 'vitest';
import {
  compileHostPattern,
  compilePathPattern,
  normalizePathForMatch,
} from '@gatecache/core/config';

function matches(pattern: string, path: string): boolean {
  return compilePathPattern(pattern).regex.test(normalizePathForMatch(path));
}

describe('path patterns', () => {
  it('"*" is exactly one segment', () => {
    expect(matches('/api/users/*/profile', '/api/users/42/profile')).toBe(true);
    expect(matches('/api/users/*/profile', '/api/users/42/x/profile')).toBe(false);
    expect(matches('/api/users/*/profile', '/api/users//profile')).toBe(false);
    expect(matches('/api/users/*', '/api/users')).toBe(false);
  });

  it('"**" is any depth, including none', () => {
    expect(matches('/api/config/**', '/api/config')).toBe(true);
    expect(matches('/api/config/**', '/api/config/')).toBe(true);
    expect(matches('/api/config/**', '/api/config/x/y')).toBe(true);
    expect(matches('/api/config/**', '/api/configuration')).toBe(false);
    expect(matches('/api/**/items', '/api/items')).toBe(true);
    expect(matches('/api/**/items', '/api/a/b/items')).toBe(true);
    expect(matches('/api/**/items', '/api/a/b/items/1')).toBe(false);
  });

  it('literal patterns match the path exactly, ignoring case and one trailing slash', () => {
    expect(matches('/api/search', '/api/search')).toBe(true);
    expect(matches('/api/search', '/api/search/')).toBe(true);
    expect(matches('/api/search', '/API/Search')).toBe(true);
    expect(matches('/api/search', '/api/search/x')).toBe(false);
    expect(matches('/api/search', '/api/searches')).toBe(false);
    expect(matches('/', '/')).toBe(true);
    expect(matches('/', '/x')).toBe(false);
  });

  it('escapes regex characters and supports "*" inside a segment', () => {
    expect(matches('/files/*.json', '/files/a.json')).toBe(true);
    expect(matches('/files/*.json', '/files/a.xml')).toBe(false);
    expect(matches('/v1.0/x', '/v1.0/x')).toBe(true);
    expect(matches('/v1.0/x', '/v100/x')).toBe(false);
    expect(matches('/api/v*/items', '/api/v2/items')).toBe(true);
  });

  it('decodes percent-encoded unreserved characters before matching (RFC 3986 §6.2.2.2)', () => {
    expect(matches('/api/payments/**', '/api/pay%6Dents/1')).toBe(true);
    expect(matches('/api/payments/**', '/api/pay%6dents/1')).toBe(true);
    // %2F is reserved: an encoded slash is not a segment boundary.
    expect(normalizePathForMatch('/a%2Fb')).toBe('/a%2Fb');
  });

  it('captures named and positional segments', () => {
    const compiled = compilePathPattern('/api/users/{id}/orders/*');
    expect(compiled.captures).toEqual(['id', '1']);
    expect(compiled.regex.exec('/api/users/42/orders/7')?.slice(1)).toEqual(['42', '7']);
  });

  it('rejects malformed patterns', () => {
    expect(() => compilePathPattern('api/x')).toThrow(/start with/);
    expect(() => compilePathPattern('/api/x?y=1')).toThrow(/query/);
    expect(() => compilePathPattern('/api/a**')).toThrow(/whole segment/);
    expect(() => compilePathPattern('/api/{id')).toThrow(/unclosed/);
    expect(() => compilePathPattern('/api/{id}/{id}')).toThrow(/twice/);
    expect(() => compilePathPattern('/api//x')).toThrow(/empty segment/);
  });
});

describe('host patterns', () => {
  it('matches names and "*" labels, any port unless given', () => {
    const re = compileHostPattern('*.example.com');
    expect(re.test('api.example.com')).toBe(true);
    expect(re.test('API.Example.com:8443')).toBe(true);
    expect(re.test('example.com')).toBe(false);
    expect(re.test('a.b.example.com')).toBe(false);
    expect(compileHostPattern('localhost:3000').test('localhost:3001')).toBe(false);
    expect(() => compileHostPattern('bad host')).toThrow(/host name/);
  });
});
