/**
 * Express 5 reading the body from Redis on every request with ioredis: the floor an L2 hit can
 * approach, since a hit needs at least this one round trip.
 */
import express from 'express';
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

const KEY = 'bench:raw:express';
const redis = new Redis(redisUrl(), { lazyConnect: false });
onExit(() => redis.quit().then(() => undefined));
await redis.set(KEY, BODY);

const app = express();
app.get(PRODUCTS_PATH, async (_req, res) => {
  const body = await redis.getBuffer(KEY);
  if (body === null) {
    res.status(500).end();
    return;
  }
  res.set('cache-control', ORIGIN_CACHE_CONTROL).type(CONTENT_TYPE).send(body);
});

const server = app.listen(0, HOST, () => announce(server));
