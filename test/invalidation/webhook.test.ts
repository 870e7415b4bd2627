import { createServer, type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpCache, type HttpCache } from '@gatecache/core';
import {
  createInvalidation,
  createPurgeHandler,
  signPurge,
  type Invalidation,
  type PurgeHandler,
} from '@gatecache/core/invalidation';
import { purgeEndpoint as expressPurge } from '@gatecache/express';
import { purgeEndpoint as honoPurge } from '@gatecache/hono';
import { purgeEndpoint as koaPurge } from '@gatecache/koa';
import { listen } from '../support/http.ts';

const TOKEN = 'purge-token-0123456789abcdef';
const SECRET = 'hmac-secret-0123456789abcdef';

interface Mounted {
  readonly base: string;
  readonly invalidation: Invalidation;
  readonly cache: HttpCache;
  close(): Promise<void>;
}

type Framework = 'express' | 'koa' | 'hono';

async function mount(framework: Framework): Promise<Mounted> {
  const invalidation = createInvalidation();
  const cache = createHttpCache({ validator: invalidation });
  invalidation.attach(cache);
  const handler: PurgeHandler = createPurgeHandler({
    invalidation,
    tokens: [TOKEN],
    secrets: [SECRET],
    maxBodyBytes: 1024,
  });
  let server: Server;
  if (framework === 'express') {
    const app = express();
    app.use(expressPurge(handler));
    app.use((_req, res) => res.status(404).end('app'));
    server = createServer(app);
  } else if (framework === 'koa') {
    const app = new Koa();
    app.use(koaPurge(handler));
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = 'app';
    });
    server = createServer(app.callback());
  } else {
    const app = new Hono();
    app.use(honoPurge(handler));
    app.all('*', (c) => c.text('app', 404));
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
  }
  const { base, close } = await listen(server);
  return { base, invalidation, cache, close };
}

const json = (body: unknown) => JSON.stringify(body);

describe.each(['express', 'koa', 'hono'] as const)('purge endpoint on %s', (framework) => {
  let app: Mounted;
  beforeAll(async () => {
    app = await mount(framework);
  });
  afterAll(async () => {
    await app?.close();
  });

  const post = (body: string, headers: Record<string, string> = {}, path = '/cache/invalidate') =>
    fetch(app.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('accepts a bearer token: 202 with counts, tags purged', async () => {
    const response = await post(json({ tags: ['user:42', '*'] }), {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      accepted: true,
      counts: { urls: 0, tags: 2, patterns: 0, keys: 0, all: false },
    });
    expect(app.invalidation.versionOf('user:42')).toBeGreaterThan(0);
    // "*" was purged as a tag named "*", not as everything.
    expect(app.invalidation.versionOf('*')).toBeGreaterThan(0);
    expect(app.invalidation.epochs.namespaceVersion).toBe(0);
  });

  it('refuses missing, wrong or cookie credentials with 401', async () => {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: `Basic ${btoa(`x:${TOKEN}`)}` },
      { cookie: `token=${TOKEN}; authorization=Bearer ${TOKEN}` },
    ]) {
      const response = await post(json({ all: true }), headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
    }
    expect(app.invalidation.epochs.namespaceVersion).toBe(0);
  });

  it('accepts an HMAC signature once, and refuses its replay and stale timestamps', async () => {
    const body = json({ patterns: ['products:*'] });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'x-gatecache-timestamp': String(timestamp),
      'x-gatecache-signature': `sha256=${signPurge(SECRET, timestamp, body)}`,
    };
    expect((await post(body, headers)).status).toBe(202);
    const replay = await post(body, headers);
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual({ error: 'signature already used' });
    const old = timestamp - 3600;
    const stale = await post(body, {
      'x-gatecache-timestamp': String(old),
      'x-gatecache-signature': signPurge(SECRET, old, body),
    });
    expect(stale.status).toBe(401);
    const tampered = await post(json({ all: true }), {
      'x-gatecache-timestamp': String(timestamp),
      'x-gatecache-signature': signPurge(SECRET, timestamp, body),
    });
    expect(tampered.status).toBe(401);
    expect(app.invalidation.epochs.namespaceVersion).toBe(0);
  });

  it.each([
    ['not JSON', '{"tags": [', /JSON/],
    ['an array', '[1]', /object/],
    ['an unknown field', json({ tag: ['x'] }), /unknown field "tag"/],
    ['tags that are not strings', json({ tags: [1] }), /"tags"/],
    ['nothing to purge', json({ tags: [] }), /nothing to purge/],
    ['a bad pattern', json({ patterns: [{ url: '/a/**x' }] }), /pattern/],
    ['all that is not boolean', json({ all: 'yes' }), /"all"/],
  ])('answers 400 with a reason for %s', async (_name, body, reason) => {
    const response = await post(body, { authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(reason);
  });

  it('answers 413 to a body over the limit', async () => {
    const response = await post(json({ tags: ['x'.repeat(2000)] }), {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(response.status).toBe(413);
  });

  it('answers 405 to other methods and leaves other paths to the app', async () => {
    const get = await fetch(`${app.base}/cache/invalidate`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const other = await post(json({ all: true }), { authorization: `Bearer ${TOKEN}` }, '/other');
    expect(other.status).toBe(404);
    expect(await other.text()).toBe('app');
  });

  it('purges everything with "all"', async () => {
    const response = await post(json({ all: true, soft: true }), {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(response.status).toBe(202);
    expect(app.invalidation.epochs.records().some((r) => r.kind === 'all' && r.soft)).toBe(true);
  });
});

describe('purge handler options', () => {
  it('refuses to run without credentials or with short tokens', () => {
    const invalidation = createInvalidation();
    expect(() => createPurgeHandler({ invalidation })).toThrow(/tokens/);
    expect(() => createPurgeHandler({ invalidation, tokens: ['short'] })).toThrow(/16 characters/);
  });
});
