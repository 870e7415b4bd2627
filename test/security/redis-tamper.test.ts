/**
 * Someone who can write to Redis: forged, swapped and replayed entries, written with a plain
 * ioredis client, are never served — with the sealer on. Without it, the envelope still carries
 * its key, so a swapped entry is a miss, but a forged one is served (which is what the sealer is
 * for). Redis is the only tier here, so every read goes to it.
 */
import { encodeRecord } from '@gatecache/core/codec';
import { createSealer, type Sealer } from '@gatecache/core/security';
import { makeEntry } from '@gatecache/core/testing';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.ts';
import { ADAPTERS, startApp, type RunningApp } from './harness.ts';
import { redisStack, type RedisStack } from './redis-stack.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});

const keys = [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }];

describe.each(ADAPTERS)('tampered Redis entries on %s', (adapter) => {
  let app: RunningApp | undefined;
  let stack: RedisStack | undefined;
  let version = 1;
  afterEach(async () => {
    await app?.close();
    await stack?.close();
    app = stack = undefined;
  });

  async function start(sealer: Sealer | undefined): Promise<RunningApp> {
    version = 1;
    stack = await redisStack(redis.url, { tiered: false, ...(sealer ? { sealer } : {}) });
    app = await startApp(adapter, {
      options: { store: stack.store },
      partitionHeader: 'x-user',
      origin: (request) => ({
        headers: {
          'cache-control': request.url.startsWith('/me') ? 'private, max-age=60' : 'max-age=60',
          'content-type': 'text/plain',
        },
        body: `${request.url} v${version} for ${request.headers['x-user'] ?? 'all'}`,
      }),
    });
    return app;
  }

  /** The one Redis key whose engine key ends with `suffix`. */
  async function redisKey(suffix: string): Promise<string> {
    const found = await stack!.keysEnding(suffix);
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  it('sealed: a forged entry (plain or signed with another key) reads as a miss', async () => {
    const sealer = createSealer({ keys });
    const a = await start(sealer);
    await a.get('/page');
    const target = await redisKey('/page');
    const engineKey = target.slice(stack!.prefix.length);
    const forged = makeEntry(engineKey, {
      body: new TextEncoder().encode('<script>evil()</script>'),
      headers: [
        ['content-type', 'text/html'],
        ['cache-control', 'max-age=600'],
      ],
      storedAt: Date.now(),
      staleAt: Date.now() + 600_000,
      deleteAt: Date.now() + 600_000,
    });
    const attackerSealer = createSealer({
      keys: [{ id: 'k1', signingKey: randomBytes(32), encryptionKey: randomBytes(32) }],
    });
    for (const bytes of [encodeRecord(forged), encodeRecord(forged, { sealer: attackerSealer })]) {
      await stack!.raw.set(target, Buffer.from(bytes), 'PX', 60_000);
      const response = await a.get('/page');
      expect(await response.text()).toBe('/page v1 for all');
    }
    expect(a.calls('/page')).toBe(3);
    expect(sealer.stats.rejected['bad-signature']).toBeGreaterThanOrEqual(1);
    // After the forgery was replaced by a real fill, legitimate traffic hits again.
    const hit = await a.get('/page');
    expect(hit.headers.get('cache-status')).toContain('hit');
    expect(a.calls('/page')).toBe(3);
  });

  it('sealed: an entry copied from another URL or another user reads as a miss', async () => {
    const sealer = createSealer({ keys });
    const a = await start(sealer);
    await a.get('/x');
    await a.get('/y');
    await a.get('/me', { 'x-user': 'alice' });
    await a.get('/me', { 'x-user': 'mallory' });
    const [x, y] = [await redisKey('/x'), await redisKey('/y')];
    await stack!.raw.copy(x, y, 'REPLACE');
    expect(await (await a.get('/y')).text()).toBe('/y v1 for all');
    expect(a.calls('/y')).toBe(2);
    // Mallory copies Alice's private entry over her own: she gets her own profile, not Alice's.
    const meKeys = await stack!.keysEnding('');
    const privateKeys = meKeys.filter((key) => key.includes('/me p='));
    expect(privateKeys).toHaveLength(2);
    const before = sealer.stats.rejected['bad-signature'];
    for (const [from, to] of [privateKeys, [...privateKeys].reverse()] as Array<[string, string]>) {
      await stack!.raw.copy(from, to, 'REPLACE');
    }
    expect(await (await a.get('/me', { 'x-user': 'mallory' })).text()).toBe('/me v1 for mallory');
    expect(await (await a.get('/me', { 'x-user': 'alice' })).text()).toBe('/me v1 for alice');
    expect(sealer.stats.rejected['bad-signature']).toBeGreaterThan(before);
  });

  it('sealed: an older entry written back after a purge or over a newer one reads as a miss', async () => {
    const sealer = createSealer({ keys });
    const a = await start(sealer);
    await a.get('/doc');
    const key = await redisKey('/doc');
    const old = await stack!.raw.getBuffer(key);
    expect(old).not.toBeNull();
    // The document changes and is purged; the next read stores v2.
    version = 2;
    await a.cache.invalidateUrl('/doc', new URL(a.base).host);
    expect(await (await a.get('/doc')).text()).toBe('/doc v2 for all');
    // Replayed over the newer entry: refused, v2 is fetched again.
    await stack!.raw.set(key, old!, 'PX', 60_000);
    expect(await (await a.get('/doc')).text()).toBe('/doc v2 for all');
    // Replayed after a purge, with nothing newer stored: refused too.
    version = 3;
    await a.cache.invalidateUrl('/doc', new URL(a.base).host);
    await stack!.raw.set(key, old!, 'PX', 60_000);
    expect(await (await a.get('/doc')).text()).toBe('/doc v3 for all');
    expect(sealer.stats.rejected.rollback).toBeGreaterThanOrEqual(2);
    // v1, v2, v2 again after the refused replay, v3: never the replayed body.
    expect(a.calls('/doc')).toBe(4);
  });

  it('unsealed: a swapped entry reads as a miss (the envelope carries its key)', async () => {
    const a = await start(undefined);
    await a.get('/x');
    await a.get('/y');
    await stack!.raw.copy(await redisKey('/x'), await redisKey('/y'), 'REPLACE');
    expect(await (await a.get('/y')).text()).toBe('/y v1 for all');
    expect(a.calls('/y')).toBe(2);
  });

  it('unsealed: a forged entry is served — the reason to configure a sealer', async () => {
    const a = await start(undefined);
    await a.get('/page');
    const target = await redisKey('/page');
    const forged = makeEntry(target.slice(stack!.prefix.length), {
      body: new TextEncoder().encode('forged'),
      storedAt: Date.now(),
      staleAt: Date.now() + 600_000,
      deleteAt: Date.now() + 600_000,
    });
    await stack!.raw.set(target, Buffer.from(encodeRecord(forged)), 'PX', 60_000);
    expect(await (await a.get('/page')).text()).toBe('forged');
  });
});
