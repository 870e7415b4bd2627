/** Koa 3 reading the body from Redis on every request with ioredis: the floor for an L2 hit. */
import { createServer } from 'node:http';
import Router from '@koa/router';
import { Redis } from 'ioredis';
import Koa from 'koa';
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

const KEY = 'bench:raw:koa';
const redis = new Redis(redisUrl());
onExit(() => redis.quit().then(() => undefined));
await redis.set(KEY, BODY);

const app = new Koa();
const router = new Router();
router.get(PRODUCTS_PATH, async (ctx) => {
  const body = await redis.getBuffer(KEY);
  if (body === null) ctx.throw(500);
  ctx.set('cache-control', ORIGIN_CACHE_CONTROL);
  ctx.type = CONTENT_TYPE;
  ctx.body = body;
});
app.use(router.routes());

const server = createServer(app.callback());
server.listen(0, HOST, () => announce(server));
