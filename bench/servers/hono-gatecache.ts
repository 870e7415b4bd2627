/** Hono on @hono/node-server behind @gatecache/hono; the variant picks the store (see gatecache-options.ts). */
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
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
import { GATECACHE_VARIANTS, gatecacheOptions, loadHttpCache } from './gatecache-options.ts';

const variant = variantArg(GATECACHE_VARIANTS);
const httpCache = await loadHttpCache<MiddlewareHandler>('@gatecache/hono');
const headers = { 'content-type': CONTENT_TYPE, 'cache-control': ORIGIN_CACHE_CONTROL };
const app = new Hono();
app.use(httpCache(await gatecacheOptions(variant)));
app.get(PRODUCTS_PATH, async (c) => {
  await originWork();
  const url = new URL(c.req.url);
  return c.body(DISTINCT_BODIES ? productsBody(url.pathname + url.search) : BODY, 200, headers);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: HOST }, () => announce(server));
