/**
 * Hono on @hono/node-server, without a cache. `bare`: the body from memory. `origin`: the same
 * after the simulated backend delay.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
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
const headers = { 'content-type': CONTENT_TYPE, 'cache-control': ORIGIN_CACHE_CONTROL };
const app = new Hono();

if (variant === 'origin') {
  app.get(PRODUCTS_PATH, async (c) => {
    await originWork();
    return c.body(BODY, 200, headers);
  });
} else {
  app.get(PRODUCTS_PATH, (c) => c.body(BODY, 200, headers));
}

const server = serve({ fetch: app.fetch, port: 0, hostname: HOST }, () => announce(server));
