import type { IncomingMessage, ServerResponse } from 'node:http';
import { BACKGROUND_FIELD } from '../background-calls.ts';
import type { HttpCache } from '../engine.ts';
import type { SendPlan } from '../origin.ts';
import type { CachePolicy } from '../types.ts';
import { cacheRequestFromNode, writePlan } from './bridge.ts';
import type { NodeHandler } from './inject.ts';

export interface FrontOptions {
  readonly overrides?: CachePolicy | undefined;
  /** The user of a plain Node request; when it throws, the request goes to the app. */
  readonly partitionBy?: ((req: IncomingMessage) => string | undefined) | undefined;
}

/**
 * A Node request handler that answers fresh hits from the memory tier before the framework runs
 * at all, and hands everything else to `app` (which mounts the cache middleware for misses,
 * revalidation and everything else): `http.createServer(frontHandler(cache, app))`. A hit then
 * costs no routing and no framework objects.
 */
export function frontHandler(
  cache: HttpCache,
  app: NodeHandler,
  options: FrontOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const { overrides, partitionBy } = options;
  return function gatecacheFront(req: IncomingMessage, res: ServerResponse): void {
    let plan: SendPlan | undefined;
    // The engine's own background requests always go to the app.
    if (req.headers[BACKGROUND_FIELD] === undefined) {
      try {
        const partition = partitionBy?.(req);
        plan = cache.peek(cacheRequestFromNode(req, { partition }), overrides);
      } catch {
        plan = undefined;
      }
    }
    if (plan !== undefined) writePlan(res, plan);
    else void app(req, res);
  };
}
