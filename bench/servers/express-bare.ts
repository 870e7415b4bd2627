/**
 * Express 5 without a cache. `bare`: the body from memory. `origin`: the same after the simulated
 * backend delay. `aa`: a second copy of `bare`, so the table shows how far two identical rows drift.
 */
import express from 'express';
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

const variant = variantArg(['bare', 'origin', 'aa']);
const app = express();

if (variant === 'origin') {
  app.get(PRODUCTS_PATH, async (_req, res) => {
    await originWork();
    res.set('cache-control', ORIGIN_CACHE_CONTROL).type(CONTENT_TYPE).send(BODY);
  });
} else {
  app.get(PRODUCTS_PATH, (_req, res) => {
    res.set('cache-control', ORIGIN_CACHE_CONTROL).type(CONTENT_TYPE).send(BODY);
  });
}

const server = app.listen(0, HOST, () => announce(server));
