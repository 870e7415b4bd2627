import type { PurgeHandler, PurgeHttpRequest } from '@gatecache/core/invalidation';
import type { NextFunction, Request, Response } from 'express';

/**
 * Mounts a purge handler (`createPurgeHandler` from `@gatecache/core/invalidation`):
 * `app.use(purgeEndpoint(handler))`. Mount it before body parsers: a signed request is verified
 * over the raw body.
 */
export function purgeEndpoint(
  handler: PurgeHandler,
): (req: Request, res: Response, next: NextFunction) => void {
  return function purgeEndpoint(req: Request, res: Response, next: NextFunction): void {
    if (req.path !== handler.path) {
      next();
      return;
    }
    handler({ method: req.method, headers: req.headers, body: rawBody(req) }).then((result) => {
      res.status(result.status);
      for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, value);
      res.end(result.body);
    }, next);
  };
}

/** The unread request stream, or what a body parser already made of it. */
function rawBody(req: Request): PurgeHttpRequest['body'] {
  const parsed: unknown = req.body;
  if (parsed instanceof Uint8Array) return parsed;
  if (!req.readableEnded) return req;
  if (parsed !== undefined && parsed !== null) {
    return new TextEncoder().encode(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
  }
  return undefined;
}
