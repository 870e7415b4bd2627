/** The gateway on Koa: the Node proxy writes `ctx.res` itself, with `ctx.respond = false`. */
import Koa from 'koa';
import { httpCache, koaAdmin, koaMetrics, purgeEndpoint } from '@gatecache/koa';
import type { CacheStack } from './cache-stack.ts';
import type { UpstreamProxy } from './proxy.ts';

export function createKoaApp(stack: CacheStack | undefined, proxy: UpstreamProxy): Koa {
  const app = new Koa();
  // The proxy answers upstream failures itself (502/504); a client that goes away is not an error.
  app.silent = true;
  if (stack !== undefined) {
    if (stack.purge !== undefined) app.use(purgeEndpoint(stack.purge));
    if (stack.metrics !== undefined && stack.adminToken !== undefined) {
      const { cache, metrics, invalidation, adminToken: token } = stack;
      app.use(koaMetrics({ metrics, token }));
      app.use(koaAdmin({ cache, metrics, invalidation, token }));
    }
    app.use(httpCache({ cache: stack.cache }));
  }
  app.use(async function forwardToUpstream(ctx) {
    // The proxy writes the Node response; the cache's Node bridge sees those writes.
    ctx.respond = false;
    await new Promise<void>((resolve) => {
      // A background refresh runs without a client: its response may finish without closing.
      ctx.res.once('finish', resolve);
      ctx.res.once('close', resolve);
      proxy.handle(ctx.req, ctx.res);
    });
  });
  return app;
}
