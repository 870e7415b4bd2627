import type { PurgeHandler, PurgeHttpRequest } from '@gatecache/core/invalidation';
import type { Context, Next } from 'koa';

/**
 * Mounts a purge handler (`createPurgeHandler` from `@gatecache/core/invalidation`):
 * `app.use(purgeEndpoint(handler))`. Mount it before body parsers: a signed request is verified
 * over the raw body.
 */
export function purgeEndpoint(handler: PurgeHandler): (ctx: Context, next: Next) => Promise<void> {
  return async function purgeEndpoint(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== handler.path) {
      await next();
      return;
    }
    const result = await handler({
      method: ctx.method,
      headers: ctx.headers,
      body: rawBody(ctx),
    });
    ctx.status = result.status;
    ctx.set(result.headers);
    ctx.body = result.body;
  };
}

function rawBody(ctx: Context): PurgeHttpRequest['body'] {
  if (!ctx.req.readableEnded) return ctx.req;
  const parsed = (ctx.request as { body?: unknown }).body;
  if (parsed instanceof Uint8Array) return parsed;
  if (parsed !== undefined && parsed !== null) {
    return new TextEncoder().encode(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
  }
  return undefined;
}
