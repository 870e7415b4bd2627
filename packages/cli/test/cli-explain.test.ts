import { afterAll, describe, expect, it } from 'vitest';
import { cli, CONFIG_YAML, tempFiles } from './support.ts';

const files = tempFiles({ 'gatecache.yaml': CONFIG_YAML });
afterAll(() => files.dispose());
const config = files.path('gatecache.yaml');

interface Explained {
  rule: { name: string; origin: string } | undefined;
  key: string;
  private: boolean;
  decision: string;
  reasons: string[];
  first: string;
  second: string;
}

async function explain(...args: string[]): Promise<Explained> {
  const result = await cli(['explain', ...args, '--config', config, '--json']);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Explained;
}

describe('gatecache explain', () => {
  it('names the matching rule, the key and the decision, cold then warm', async () => {
    const e = await explain('GET', 'https://api.example.com/products/42?utm_source=x&b=2&a=1');
    expect(e.rule).toEqual({
      name: 'products',
      origin: 'cache.policies[0]',
      pattern: '/products/*',
    });
    expect(e.key).toBe('gc1:default:api.example.com/products/42?a=1&b=2&utm_source=x');
    expect(e.decision).toBe('cache');
    expect(e.reasons).toContain('ttl 60s when the origin sends no freshness of its own');
    expect(e.reasons).toContain('tags: products');
    expect(e.first).toBe('gatecache; fwd=uri-miss; stored; ttl=60');
    expect(e.second).toBe('gatecache; hit; ttl=59');
  });

  it('explains per-user storage without showing the credential', async () => {
    const result = await cli([
      'explain',
      'GET',
      '/me',
      '-H',
      'Authorization: Bearer very-secret',
      '--config',
      config,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('rule      me (cache.policies[1])');
    expect(result.stdout).toContain('key       gc1:default:/me p=<hash of the partition>');
    expect(result.stdout).toContain('private: stored per user');
    expect(result.stdout).not.toContain('very-secret');
  });

  it('bypasses sensitive routes and unsafe methods, saying why', async () => {
    const payments = await explain('GET', '/payments/cards/1');
    expect(payments.decision).toBe('bypass');
    expect(payments.reasons).toContain('classification "sensitive": never stored');
    expect(payments.first).toBe('gatecache; fwd=bypass; detail=policy');
    const post = await explain('POST', '/products/1');
    expect(post.decision).toBe('bypass');
    expect(post.reasons.join(' ')).toContain('RFC 9111 §4.4');
  });

  it('obeys what the origin says: no-store is never stored', async () => {
    const e = await explain('GET', '/products/1', '-R', 'Cache-Control: no-store');
    expect(e.first).toBe('gatecache; fwd=uri-miss; detail=no-store');
    expect(e.second).toBe('gatecache; fwd=uri-miss; detail=no-store');
  });

  it('reports a bad config and bad usage with exit codes', async () => {
    const missing = await cli(['explain', 'GET', '/x', '--config', files.path('nope.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot be read');
    expect((await cli(['explain', 'GET'])).code).toBe(2);
  });
});
