/**
 * Other users: user B must never receive what was cached for user A, on every adapter, with a
 * sealed Redis tier behind a memory tier — and nothing personal sits readable in Redis.
 */
import { createSealer } from '@gatecache/core/security';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { ADAPTERS, startApp, type OriginRequest, type RunningApp } from './harness.ts';
import { redisStack, type RedisStack } from './redis-stack.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

const keys = [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }];

function profile(request: OriginRequest): string {
  const who = request.headers['x-user'] ?? request.headers['authorization'] ?? 'anonymous';
  return `profile of ${who}`;
}

describe.each(ADAPTERS)('private data on %s with a sealed Redis tier', (adapter) => {
  let app: RunningApp | undefined;
  let stack: RedisStack | undefined;
  afterEach(async () => {
    await app?.close();
    await stack?.close();
    app = stack = undefined;
  });

  it('a private response is kept per user: B never sees A, each hits their own entry', async () => {
    stack = await redisStack(redis.url, { sealer: createSealer({ keys }) });
    app = await startApp(adapter, {
      options: { store: stack.store },
      partitionHeader: 'x-user',
      origin: (request) => ({
        headers: { 'cache-control': 'private, max-age=60', 'content-type': 'text/plain' },
        body: profile(request),
      }),
    });
    expect(await (await app.get('/me', { 'x-user': 'alice' })).text()).toBe('profile of alice');
    const b = await app.get('/me', { 'x-user': 'bob' });
    expect(await b.text()).toBe('profile of bob');
    expect(app.calls('/me')).toBe(2);
    const aliceAgain = await app.get('/me', { 'x-user': 'alice' });
    expect(await aliceAgain.text()).toBe('profile of alice');
    expect(aliceAgain.headers.get('cache-status')).toContain('hit');
    expect(await (await app.get('/me', { 'x-user': 'bob' })).text()).toBe('profile of bob');
    // No partition: a private response is not stored and nobody's profile is served.
    expect(await (await app.get('/me')).text()).toBe('profile of anonymous');
    expect(await (await app.get('/me')).text()).toBe('profile of anonymous');
    expect(app.calls('/me')).toBe(4);

    // What sits in Redis: the users' entries, encrypted; no user name in a key or a value.
    const values = await stack.values();
    expect(values.length).toBeGreaterThanOrEqual(2);
    for (const value of values) expect(value.includes('profile of')).toBe(false);
    for (const key of await stack.raw.keys(`${stack.prefix}*`)) {
      expect(key).not.toMatch(/alice|bob/);
    }
  });

  it('a fresh instance reading the Redis tier still keeps A and B apart', async () => {
    const sealer = createSealer({ keys });
    stack = await redisStack(redis.url, { sealer, tiered: false });
    const origin = (request: OriginRequest) => ({
      headers: { 'cache-control': 'private, max-age=60', 'content-type': 'text/plain' },
      body: profile(request),
    });
    // Each instance listens on its own port: keys leave the Host out so both address one entry.
    const options = { store: stack.store, keyHost: false };
    app = await startApp(adapter, { options, partitionHeader: 'x-user', origin });
    await app.get('/me', { 'x-user': 'alice' });
    await app.close();
    app = await startApp(adapter, { options, partitionHeader: 'x-user', origin });
    expect(await (await app.get('/me', { 'x-user': 'bob' })).text()).toBe('profile of bob');
    const alice = await app.get('/me', { 'x-user': 'alice' });
    expect(await alice.text()).toBe('profile of alice');
    expect(alice.headers.get('cache-status')).toContain('hit');
    expect(app.calls('/me')).toBe(1);
  });

  it('an Authorization request is not shared unless the response says so (RFC 9111 \u00a73.5)', async () => {
    stack = await redisStack(redis.url, { sealer: createSealer({ keys }) });
    app = await startApp(adapter, {
      options: { store: stack.store },
      origin: (request) => ({
        headers: {
          'cache-control': request.url.startsWith('/public') ? 'public, max-age=60' : 'max-age=60',
          'content-type': 'text/plain',
        },
        body: request.url.startsWith('/public') ? 'the same for all' : profile(request),
      }),
    });
    const tokenA = 'Bearer token-of-alice-' + randomBytes(8).toString('hex');
    const tokenB = 'Bearer token-of-bob-' + randomBytes(8).toString('hex');
    expect(await (await app.get('/account', { authorization: tokenA })).text()).toBe(
      `profile of ${tokenA}`,
    );
    expect(await (await app.get('/account', { authorization: tokenB })).text()).toBe(
      `profile of ${tokenB}`,
    );
    expect(await (await app.get('/account')).text()).toBe('profile of anonymous');
    expect(app.calls('/account')).toBe(3);
    // Legitimate shared traffic still hits: an explicitly public answer is shared.
    await app.get('/public', { authorization: tokenA });
    const shared = await app.get('/public', { authorization: tokenB });
    expect(await shared.text()).toBe('the same for all');
    expect(app.calls('/public')).toBe(1);
  });

  it('partitioned by the credential, each caller hits only their own entry', async () => {
    stack = await redisStack(redis.url, { sealer: createSealer({ keys }) });
    app = await startApp(adapter, {
      options: { store: stack.store },
      partitionHeader: 'authorization',
      origin: (request) => ({
        headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain' },
        body: profile(request),
      }),
    });
    const tokenA = 'Bearer ' + randomBytes(16).toString('hex');
    const tokenB = 'Bearer ' + randomBytes(16).toString('hex');
    for (let i = 0; i < 3; i++) {
      expect(await (await app.get('/account', { authorization: tokenA })).text()).toBe(
        `profile of ${tokenA}`,
      );
      expect(await (await app.get('/account', { authorization: tokenB })).text()).toBe(
        `profile of ${tokenB}`,
      );
    }
    expect(app.calls('/account')).toBe(2);
    for (const key of await stack.raw.keys(`${stack.prefix}*`)) {
      expect(key).not.toContain(tokenA.slice(7));
      expect(key).not.toContain(tokenB.slice(7));
    }
    for (const value of await stack.values()) {
      expect(value.includes(tokenA.slice(7))).toBe(false);
    }
  });
});
