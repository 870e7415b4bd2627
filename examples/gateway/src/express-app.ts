/** The gateway on Express 5: purge and admin endpoints, the cache middleware, then the proxy. */
import express from 'express';
import type { Express } from 'express';
import { httpCache, mountAdmin, purgeEndpoint } from '@gatecache/express';
import type { CacheStack } from './cache-stack.ts';
import type { UpstreamProxy } from './proxy.ts';

export function createExpressApp(stack: CacheStack | undefined, proxy: UpstreamProxy): Express {
  const app = express();
  // The gateway forwards the upstream's response as it is; Express adds nothing of its own.
  app.disable('x-powered-by');
  app.disable('etag');
  if (stack !== undefined) {
    // Before the cache and before any body parser: a signed purge is verified over the raw body.
    if (stack.purge !== undefined) app.use(purgeEndpoint(stack.purge));
    if (stack.metrics !== undefined) {
      const { cache, metrics, invalidation, adminToken: token } = stack;
      mountAdmin(app, { cache, metrics, invalidation, token, protectMetrics: true });
    }
    app.use(httpCache({ cache: stack.cache }));
  }
  app.use(function forwardToUpstream(req, res) {
    proxy.handle(req, res);
  });
  return app;
}
