/** Hono on @hono/node-server behind @gatecache/hono; the variant picks the store (see gatecache-options.ts). */
import { getRequestListener, serve } from '@hono/node-server';
import { createServer, type RequestListener } from 'node:http';
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
import {
  frontMount,
  GATECACHE_VARIANTS,
  gatecacheOptions,
  loadHttpCache,
} from './gatecache-options.ts';

const variant = variantArg(GATECACHE_VARIANTS);
const httpCache = await loadHttpCache<
  MiddlewareHandler & {
    front?: (listener: RequestListener, options?: { remote?: boolean }) => RequestListener;
  }
>('@gatecache/hono');
const headers = { 'content-type': CONTENT_TYPE, 'cache-control': ORIGIN_CACHE_CONTROL };
const app = new Hono();
const middleware = httpCache(await gatecacheOptions(variant));
app.use(middleware);
app.get(PRODUCTS_PATH, async (c) => {
  await originWork();
  if (!DISTINCT_BODIES) return c.body(BODY, 200, headers);
  const url = new URL(c.req.url);
  return c.body(productsBody(url.pathname + url.search), 200, headers);
});

// `l1-front`, `l2-front`: fresh hits are answered before Hono and its Request/Response conversion run.
const mount = frontMount(variant);
if (mount !== undefined && middleware.front !== undefined) {
  const server = createServer(middleware.front(getRequestListener(app.fetch), mount));
  server.listen(0, HOST, () => announce(server));
} else {
  const server = serve({ fetch: app.fetch, port: 0, hostname: HOST }, () => announce(server));
}
