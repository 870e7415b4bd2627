/** Hono reading the body from Redis on every request with ioredis: the floor for an L2 hit. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import {
  announce,
  BODY,
  CONTENT_TYPE,
  HOST,
  onExit,
  ORIGIN_CACHE_CONTROL,
  PRODUCTS_PATH,
  redisUrl,
} from './common.ts';

const KEY = 'bench:raw:hono';
const headers = { 'content-type': CONTENT_TYPE, 'cache-control': ORIGIN_CACHE_CONTROL };
const redis = new Redis(redisUrl());
onExit(() => redis.quit().then(() => undefined));
await redis.set(KEY, BODY);

const app = new Hono();
app.get(PRODUCTS_PATH, async (c) => {
  const body = await redis.getBuffer(KEY);
  if (body === null) return c.body(null, 500);
  // ioredis replies in Buffers over plain ArrayBuffers, never SharedArrayBuffer.
  return c.body(body as Uint8Array<ArrayBuffer>, 200, headers);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: HOST }, () => announce(server));
