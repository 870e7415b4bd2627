/** Koa 3 behind koa-cash, its store an lru-cache as koa-cash's README shows. */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import koaCash from 'koa-cash';
import { LRUCache } from 'lru-cache';
import {
  announce,
  BODY,
  CONTENT_TYPE,
  DISTINCT_BODIES,
  HOST,
  MAX_AGE_SECONDS,
  ORIGIN_CACHE_CONTROL,
  originWork,
  PRODUCTS_PATH,
  productsBody,
} from './common.ts';

const lru = new LRUCache<string, object>({ max: 200_000, ttl: MAX_AGE_SECONDS * 1000 });
const app = new Koa();
app.use(
  koaCash({
    maxAge: MAX_AGE_SECONDS * 1000,
    get: (key) => Promise.resolve(lru.get(key)),
    set: (key, value) => {
      lru.set(key, value);
      return Promise.resolve();
    },
  }),
);

const router = new Router();
router.get(PRODUCTS_PATH, async (ctx) => {
  if (await ctx.cashed()) return;
  await originWork();
  ctx.set('cache-control', ORIGIN_CACHE_CONTROL);
  ctx.type = CONTENT_TYPE;
  ctx.body = DISTINCT_BODIES ? productsBody(ctx.url) : BODY;
});
app.use(router.routes());

const server = createServer(app.callback());
server.listen(0, HOST, () => announce(server));
