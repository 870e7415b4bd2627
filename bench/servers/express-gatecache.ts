/** Express 5 behind @gatecache/express; the variant picks the store (see gatecache-options.ts). */
import express from 'express';
import { createServer } from 'node:http';
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
  express.RequestHandler & {
    front?: (
      app: express.Express,
      options?: { remote?: boolean },
    ) => Parameters<typeof createServer>[1];
  }
>('@gatecache/express');
const app = express();
const middleware = httpCache(await gatecacheOptions(variant));
app.use(middleware);
app.get(PRODUCTS_PATH, async (req, res) => {
  await originWork();
  if (variant === 'tags') {
    // Every entry carries the tag `products` and one of 100 `group-N` tags (the tag purge mode).
    const n = Number(new URL(req.originalUrl, 'http://x').searchParams.values().next().value ?? 0);
    res.set('cache-tag', `products, group-${Number.isFinite(n) ? n % 100 : 0}`);
  }
  res
    .set('cache-control', ORIGIN_CACHE_CONTROL)
    .type(CONTENT_TYPE)
    .send(DISTINCT_BODIES ? productsBody(req.originalUrl) : BODY);
});

// `l1-front`, `l2-front`: fresh hits are answered before Express runs (`middleware.front(app)`).
const mount = frontMount(variant);
const server =
  mount !== undefined && middleware.front !== undefined
    ? createServer(middleware.front(app, mount))
    : createServer(app);
server.listen(0, HOST, () => announce(server));
