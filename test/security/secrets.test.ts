/**
 * No secret in a key, an event, a log line or a response header: traffic carrying credentials in
 * Authorization, cookies and query strings runs through Express with a sealed Redis tier, and every
 * key written, every event and every response header is searched for them.
 */
import { createHttpCache, type CacheEvent, type CacheStore } from '@gatecache/core';
import { createSealer } from '@gatecache/core/security';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { startApp } from './harness.ts';
import { redisStack } from './redis-stack.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

const secret = (label: string) => `${label}${randomBytes(12).toString('hex')}`;

describe('secrets never leave the request', () => {
  it('not in keys, events, logs, metric labels, Cache-Status or other response headers', async () => {
    const secrets = {
      bearer: secret('bearer'),
      session: secret('session'),
      accessToken: secret('access'),
      apiKey: secret('apikey'),
      token: secret('token'),
      password: secret('password'),
      xApiKey: secret('xapikey'),
    };
    const stack = await redisStack(redis.url, {
      sealer: createSealer({
        keys: [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }],
      }),
    });
    const written: string[] = [];
    const read: string[] = [];
    const recording: CacheStore = {
      name: 'recording',
      get: (key, hints) => {
        read.push(key);
        return stack.store.get(key, hints);
      },
      set: (key, record, ttl, hints) => {
        written.push(key);
        return stack.store.set(key, record, ttl, hints);
      },
      delete: (key) => stack.store.delete(key),
      clear: () => stack.store.clear(),
    };
    const events: CacheEvent[] = [];
    const logged: unknown[][] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logged.push(args);
      }),
    );
    const cache = createHttpCache({
      store: recording,
      onEvent: (event) => events.push(event),
      tenant: (request) => request.headers['x-tenant-id'] as string | undefined,
    });
    const app = await startApp('express', {
      cache,
      partitionHeader: 'cookie',
      origin: (request) => ({
        headers: {
          'cache-control': request.url.startsWith('/shared') ? 's-maxage=60' : 'max-age=60',
          'content-type': 'application/json',
          vary: 'x-api-key',
        },
        body: JSON.stringify({ path: request.url.split('?')[0] }),
      }),
    });
    const responses: Response[] = [];
    try {
      const q = `access_token=${secrets.accessToken}&api_key=${secrets.apiKey}&token=${secrets.token}&password=${secrets.password}&id=7`;
      const requests: Array<[string, Record<string, string>]> = [
        [`/shared/items?${q}`, { authorization: `Bearer ${secrets.bearer}` }],
        [`/shared/items?${q}`, { authorization: `Bearer ${secrets.bearer}` }],
        [`/me?${q}`, { cookie: `session=${secrets.session}` }],
        [`/me?${q}`, { cookie: `session=${secrets.session}` }],
        [`/keyed?${q}`, { 'x-api-key': secrets.xApiKey }],
        [`/keyed?${q}`, { 'x-api-key': secrets.xApiKey, 'x-tenant-id': secrets.session }],
        [`/account/x.css?${q}`, { authorization: `Bearer ${secrets.bearer}` }],
        [`/page?${q}`, { 'x-forwarded-host': secrets.token }],
      ];
      for (const [path, headers] of requests) responses.push(await app.get(path, headers));
      await cache.invalidateUrl(`/me?${q}`, new URL(app.base).host, `session=${secrets.session}`);
      // Something was cached and hit, so the keys below are the ones real traffic uses.
      expect(events.some((event) => event.type === 'hit')).toBe(true);
      expect(written.length).toBeGreaterThan(3);

      const redisKeys = await stack.raw.keys(`${stack.prefix}*`);
      const haystacks: Array<[string, string]> = [
        ['keys written', written.join('\n')],
        ['keys read', read.join('\n')],
        ['redis keys', redisKeys.join('\n')],
        [
          'events',
          JSON.stringify(events, (_k, v: unknown) => (v instanceof Error ? v.message : v)),
        ],
        ['logs', JSON.stringify(logged)],
        [
          'response headers',
          responses.map((r) => JSON.stringify([...r.headers.entries()])).join('\n'),
        ],
        ['stats', JSON.stringify(cache.stats)],
      ];
      for (const [where, text] of haystacks) {
        for (const [name, value] of Object.entries(secrets)) {
          expect(text.includes(value), `${name} in ${where}`).toBe(false);
        }
      }
      // Personal entries are encrypted at rest: no secret in any stored value either.
      for (const value of await stack.values()) {
        for (const [name, text] of Object.entries(secrets))
          expect(value.includes(text), name).toBe(false);
      }
    } finally {
      for (const spy of spies) spy.mockRestore();
      await app.close();
      await stack.close();
    }
  });
});
