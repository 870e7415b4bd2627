import type { IncomingMessage, ServerResponse } from 'node:http';
import { BACKGROUND_FIELD } from '../background-calls.ts';
import type { HttpCache } from '../engine.ts';
import type { SendPlan } from '../origin.ts';
import type { CachePolicy } from '../types.ts';
import { cacheRequestFromNode, hasRepeatedName, writePlan } from './bridge.ts';
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
    if (plan !== undefined) writeHit(res, plan);
    else void app(req, res);
  };
}

/**
 * Writes a hit on a response nothing else has touched: the head goes out in one `writeHead` from
 * a flat list, so Node formats it without building its header map first (`res.getHeader()` does
 * not see these fields; nothing runs after the front but the response itself). Repeated names
 * (several Set-Cookie lines) and a response some wrapper already set fields on take `writePlan`.
 */
function writeHit(res: ServerResponse, plan: SendPlan): void {
  const headers = plan.headers;
  if (res.headersSent || hasRepeatedName(headers) || res.getHeaderNames().length > 0) {
    writePlan(res, plan);
    return;
  }
  const flat = new Array<string>(headers.length * 2);
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    flat[2 * i] = field[0];
    flat[2 * i + 1] = field[1];
  }
  res.writeHead(plan.status, flat);
  if (plan.body === undefined) res.end();
  else res.end(plan.body);
}
