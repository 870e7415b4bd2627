/** Koa 3 (+ @koa/router) behind @gatecache/koa; the variant picks the store (see gatecache-options.ts). */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import {
  announce,
  BODY,
  CONTENT_TYPE,
  DISTINCT_BODIES,
  HOST,
  ORIGIN_CACHE_CONTROL,
  originWork,
  PRODUCTS_PATH,
  productsBody,
  variantArg,
} from './common.ts';
import {
  frontMount,
  GATECACHE_VARIANTS,
  gatecacheOptions,
  loadHttpCache,
} from './gatecache-options.ts';

const variant = variantArg(GATECACHE_VARIANTS);
const httpCache = await loadHttpCache<
  Koa.Middleware & {
    front?: (app: Koa, options?: { remote?: boolean }) => Parameters<typeof createServer>[1];
  }
>('@gatecache/koa');
const app = new Koa();
const middleware = httpCache(await gatecacheOptions(variant));
app.use(middleware);
const router = new Router();
router.get(PRODUCTS_PATH, async (ctx) => {
  await originWork();
  ctx.set('cache-control', ORIGIN_CACHE_CONTROL);
  ctx.type = CONTENT_TYPE;
  ctx.body = DISTINCT_BODIES ? productsBody(ctx.url) : BODY;
});
app.use(router.routes());

// `l1-front`, `l2-front`: fresh hits are answered before Koa runs.
const mount = frontMount(variant);
const server =
  mount !== undefined && middleware.front !== undefined
    ? createServer(middleware.front(app, mount))
    : createServer(app.callback());
server.listen(0, HOST, () => announce(server));
