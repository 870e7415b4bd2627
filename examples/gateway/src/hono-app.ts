/**
 * The gateway on Hono, served on Node by `@hono/node-server`. Hono hands handlers a `Request` and
 * expects a `Response`, so the proxy is its fetch-style variant (`createWebProxy`); the client's
 * address and a way to send 103 Early Hints come from the Node objects in `c.env`.
 */
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { honoAdmin, honoMetrics, httpCache, purgeEndpoint } from '@gatecache/hono';
import type { CacheStack } from './cache-stack.ts';
import { clientConnectionOf, speaksHttp11 } from './forward-headers.ts';
import type { WebClient, WebProxy } from './web-proxy.ts';

/** What node-server passes as `c.env`; absent for requests run through `app.fetch` (background refreshes). */
type Bindings = Partial<HttpBindings>;

function webClientOf(env: Bindings | undefined): WebClient {
  const incoming = env?.incoming;
  const outgoing = env?.outgoing;
  if (incoming === undefined) return {};
  const interim = speaksHttp11(incoming);
  return {
    connection: clientConnectionOf(incoming),
    ...(outgoing !== undefined &&
      interim &&
      incoming.headers.expect?.toLowerCase() === '100-continue' && {
        sendContinue: () => {
          if (!outgoing.headersSent) outgoing.writeContinue();
        },
      }),
    ...(outgoing !== undefined &&
      'writeEarlyHints' in outgoing &&
      interim && {
        earlyHints: (hints: Record<string, string | string[]>) => {
          if (!outgoing.headersSent) outgoing.writeEarlyHints(hints);
        },
      }),
  };
}

export function createHonoApp(
  stack: CacheStack | undefined,
  proxy: WebProxy,
): Hono<{ Bindings: Bindings }> {
  const app = new Hono<{ Bindings: Bindings }>();
  if (stack !== undefined) {
    if (stack.purge !== undefined) app.use(purgeEndpoint(stack.purge));
    if (stack.metrics !== undefined && stack.adminToken !== undefined) {
      const { cache, metrics, invalidation, adminToken: token } = stack;
      app.use(honoMetrics({ metrics, token }));
      app.use(honoAdmin({ cache, metrics, invalidation, token }));
    }
    // Background refreshes run through the app without a client (no `c.env`).
    app.use(httpCache({ cache: stack.cache, fetch: (request) => app.fetch(request) }));
  }
  app.all('*', (c) => proxy.fetch(c.req.raw, webClientOf(c.env)));
  return app;
}
