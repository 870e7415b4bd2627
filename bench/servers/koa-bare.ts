/**
 * Koa 3 with @koa/router, without a cache. `bare`: the body from memory. `origin`: the same after
 * the simulated backend delay.
 */
import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import {
  announce,
  BODY,
  CONTENT_TYPE,
  HOST,
  ORIGIN_CACHE_CONTROL,
  originWork,
  PRODUCTS_PATH,
  variantArg,
} from './common.ts';

const variant = variantArg(['bare', 'origin']);
const app = new Koa();
const router = new Router();

router.get(PRODUCTS_PATH, async (ctx) => {
  if (variant === 'origin') await originWork();
  ctx.set('cache-control', ORIGIN_CACHE_CONTROL);
  ctx.type = CONTENT_TYPE;
  ctx.body = BODY;
});
app.use(router.routes());

const server = createServer(app.callback());
server.listen(0, HOST, () => announce(server));
