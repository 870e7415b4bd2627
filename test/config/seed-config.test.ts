import { compilePolicies, loadConfigFile } from '@gatecache/core/config';
import { httpCache } from '@gatecache/express';
import express from 'express';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawGet } from '../../packages/express/test/harness.ts';
import { listen, manualClock } from '../support/http.ts';

const fixture = (name: string) =>
  fileURLToPath(new URL(`../../packages/core/test/fixtures/${name}`, import.meta.url));

/**
 * The seed's configuration examples, verbatim, in front of a real Express API whose handlers send
 * no caching headers of their own: what is cached, for how long and for whom comes from the file.
 */
describe('the seed gateway cache configuration behaves as written', () => {
  const calls = new Map<string, number>();
  const clock = manualClock();
  let base = '';
  let close: () => Promise<void>;
  const hit = (key: string) => {
    const n = (calls.get(key) ?? 0) + 1;
    calls.set(key, n);
    return n;
  };

  beforeAll(async () => {
    const config = await loadConfigFile(fixture('seed-gateway-cache.yaml'), {
      env: { REDIS_URL: 'redis://127.0.0.1:6379' },
    });
    const app = express();
    app.use(httpCache({ clock, policy: compilePolicies(config) }));
    app.get('/api/config/:a/:b', (req, res) => {
      res.json({ path: req.path, n: hit('config') });
    });
    app.get('/api/users/:id/profile', (req, res) => {
      res.json({ user: req.get('authorization'), n: hit(`profile:${req.get('authorization')}`) });
    });
    app.get('/api/search', (req, res) => {
      res.json({ q: req.query, n: hit('search') });
    });
    app.get('/api/payments/:id', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=600').json({ n: hit('payments') });
    });
    ({ base, close } = await listen(createServer(app)));
  });
  afterAll(() => close());

  it('/api/config/** is cached for a day with the tag config', async () => {
    const first = await rawGet(base + '/api/config/site/flags');
    expect(first.headers.get('cache-status')).toBe('gatecache; fwd=uri-miss; stored; ttl=86400');
    clock.advance(86_000_000);
    const second = await rawGet(base + '/api/config/site/flags');
    expect(second.headers.get('cache-status')).toContain('hit');
    expect(calls.get('config')).toBe(1);
    clock.advance(1_000_000);
    await rawGet(base + '/api/config/site/flags');
    expect(calls.get('config')).toBe(2);
  });

  it('/api/users/*/profile is private per user (by Authorization)', async () => {
    const alice = { authorization: 'Bearer alice' };
    const bob = { authorization: 'Bearer bob' };
    const a1 = (await (await rawGet(base + '/api/users/1/profile', alice)).json()) as {
      user: string;
    };
    const b1 = (await (await rawGet(base + '/api/users/1/profile', bob)).json()) as {
      user: string;
    };
    expect(a1.user).toBe('Bearer alice');
    expect(b1.user).toBe('Bearer bob');
    const a2 = await rawGet(base + '/api/users/1/profile', alice);
    expect(((await a2.json()) as { user: string }).user).toBe('Bearer alice');
    expect(a2.headers.get('cache-status')).toContain('hit');
    const anonymous = await rawGet(base + '/api/users/1/profile');
    expect(((await anonymous.json()) as { user?: string }).user).toBeUndefined();
    expect(calls.get('profile:Bearer alice')).toBe(1);
    expect(calls.get('profile:Bearer bob')).toBe(1);
  });

  it('/api/search varies on its query, page and sort parameters only', async () => {
    await rawGet(base + '/api/search?query=a&page=1&sort=x&ref=mail');
    await rawGet(base + '/api/search?sort=x&page=1&query=a&ref=web');
    expect(calls.get('search')).toBe(1);
    await rawGet(base + '/api/search?query=a&page=2&sort=x');
    expect(calls.get('search')).toBe(2);
  });

  it('/api/payments/** is never cached, whatever the origin says', async () => {
    const first = await rawGet(base + '/api/payments/7');
    expect(first.headers.get('cache-status')).toContain('fwd=bypass');
    await rawGet(base + '/api/payments/7');
    await rawGet(base + '/API/Payments/7');
    expect(calls.get('payments')).toBe(3);
  });
});

describe('the seed response_cache rules behave as written', () => {
  it('caches /api/products for 30 minutes per Accept-Language and X-Tenant-ID', async () => {
    const config = await loadConfigFile(fixture('seed-response-cache.yaml'));
    const clock = manualClock();
    let n = 0;
    const app = express();
    app.use(httpCache({ clock, policy: compilePolicies(config) }));
    app.get('/api/products', (req, res) => {
      res.json({ lang: req.get('accept-language'), tenant: req.get('x-tenant-id'), n: ++n });
    });
    const { base, close } = await listen(createServer(app));
    try {
      const en = { 'accept-language': 'en', 'x-tenant-id': 't1' };
      const first = await rawGet(base + '/api/products', en);
      expect(first.headers.get('cache-status')).toContain('ttl=1800');
      await rawGet(base + '/api/products', en);
      expect(n).toBe(1);
      const other = (await (
        await rawGet(base + '/api/products', { ...en, 'x-tenant-id': 't2' })
      ).json()) as {
        tenant: string;
      };
      expect(other.tenant).toBe('t2');
      await rawGet(base + '/api/products', { ...en, 'accept-language': 'fr' });
      expect(n).toBe(3);
      clock.advance(1_801_000);
      await rawGet(base + '/api/products', en);
      expect(n).toBe(4);
    } finally {
      await close();
    }
  });
});
