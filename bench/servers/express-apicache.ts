/**
 * Express 5 behind apicache, the peer most Express users reach for. `memory`: its built-in memory
 * cache. `redis`: its `redisClient` option, given an ioredis client behind the small node-redis v3
 * surface that apicache calls (`connected`, callback-style `hset`/`hgetall`/`expire`/`del`).
 */
import apicache from 'apicache';
import express from 'express';
import { Redis } from 'ioredis';
import {
  announce,
  BODY,
  CONTENT_TYPE,
  DISTINCT_BODIES,
  HOST,
  MAX_AGE_SECONDS,
  onExit,
  ORIGIN_CACHE_CONTROL,
  originWork,
  PRODUCTS_PATH,
  productsBody,
  redisUrl,
  variantArg,
} from './common.ts';

const variant = variantArg(['memory', 'redis']);

type Callback = (error: Error | null, reply: unknown) => void;

function nodeRedisFacade(redis: Redis): unknown {
  return {
    get connected(): boolean {
      return redis.status === 'ready';
    },
    hset: (key: string, field: string, value: string | number, cb?: Callback) =>
      void redis.hset(key, field, value).then(
        (reply) => cb?.(null, reply),
        (error: Error) => cb?.(error, null),
      ),
    hgetall: (key: string, cb: Callback) =>
      void redis.hgetall(key).then(
        (reply) => cb(null, Object.keys(reply).length === 0 ? null : reply),
        (error: Error) => cb(error, null),
      ),
    expire: (key: string, seconds: number, cb?: Callback) =>
      void redis.expire(key, Math.ceil(seconds)).then(
        (reply) => cb?.(null, reply),
        (error: Error) => cb?.(error, null),
      ),
    del: (key: string, cb?: Callback) =>
      void redis.del(key).then(
        (reply) => cb?.(null, reply),
        (error: Error) => cb?.(error, null),
      ),
  };
}

let options: apicache.Options = {};
if (variant === 'redis') {
  const redis = new Redis(redisUrl());
  onExit(() => redis.quit().then(() => undefined));
  await redis.ping();
  options = { redisClient: nodeRedisFacade(redis) as apicache.Options['redisClient'] };
}
const cache = apicache.newInstance(options) as typeof apicache;

const app = express();
app.get(
  PRODUCTS_PATH,
  cache.middleware(`${MAX_AGE_SECONDS} seconds`) as express.RequestHandler,
  async (req, res) => {
    await originWork();
    res
      .set('cache-control', ORIGIN_CACHE_CONTROL)
      .type(CONTENT_TYPE)
      .send(DISTINCT_BODIES ? productsBody(req.originalUrl) : BODY);
  },
);

const server = app.listen(0, HOST, () => announce(server));
