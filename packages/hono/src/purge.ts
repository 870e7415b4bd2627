import type { PurgeHandler } from '@gatecache/core/invalidation';
import type { Context, MiddlewareHandler, Next } from 'hono';

/**
 * Mounts a purge handler (`createPurgeHandler` from `@gatecache/core/invalidation`):
 * `app.use(purgeEndpoint(handler))`. Runs wherever Hono runs (Node, Workers, Bun, Deno).
 */
export function purgeEndpoint(handler: PurgeHandler): MiddlewareHandler {
  return async function purgeEndpoint(c: Context, next: Next): Promise<Response | void> {
    if (c.req.path !== handler.path) {
      await next();
      return;
    }
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const result = await handler({ method: c.req.method, headers, body: c.req.raw.body });
    return new Response(result.body, { status: result.status, headers: result.headers });
  };
}
