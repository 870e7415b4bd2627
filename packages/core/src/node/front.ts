import type { IncomingMessage, ServerResponse } from 'node:http';
import { BACKGROUND_FIELD } from '../background-calls.ts';
import type { HttpCache, Lookahead, PriorLookup } from '../engine.ts';
import type { SendPlan } from '../origin.ts';
import type { CachePolicy, CacheRequest } from '../types.ts';
import { cacheRequestFromNode, hasRepeatedName, writePlan } from './bridge.ts';
import type { NodeHandler } from './inject.ts';

export interface FrontOptions {
  readonly overrides?: CachePolicy | undefined;
  /** The user of a plain Node request; when it throws, the request goes to the app. */
  readonly partitionBy?: ((req: IncomingMessage) => string | undefined) | undefined;
  /**
   * Also answer fresh hits the store holds outside this process (Redis), not only the memory
   * tier's. Anything else goes to the app with the lookup made, which the cache middleware takes
   * instead of reading the store again. Every GET and HEAD request then waits for one store read
   * before the app runs, routes the middleware does not cache included. Default false.
   */
  readonly remote?: boolean | undefined;
}

/** What an adapter's `front(app, options)` takes. */
export interface FrontMountOptions {
  /**
   * Also answer fresh hits from a store outside this process (Redis); see `FrontOptions.remote`.
   * Default false: only the memory tier's hits are answered in front.
   */
  readonly remote?: boolean | undefined;
}

/** Where the front leaves its lookup on Node's request for the middleware behind it. */
const PRIOR = Symbol('gatecache.prior');

type WithPrior = IncomingMessage & { [PRIOR]?: PriorLookup | undefined };

/**
 * The lookup a front with `remote: true` made for this request, once: adapters pass it to
 * `serve`, which uses it only when it matches the request's keys and is recent.
 */
export function takePriorLookup(req: unknown): PriorLookup | undefined {
  if (typeof req !== 'object' || req === null) return undefined;
  const prior = (req as WithPrior)[PRIOR];
  if (prior !== undefined) (req as WithPrior)[PRIOR] = undefined;
  return prior;
}

/**
 * A Node request handler that answers fresh hits from the memory tier before the framework runs
 * at all, and hands everything else to `app` (which mounts the cache middleware for misses,
 * revalidation and everything else): `http.createServer(frontHandler(cache, app))`. A hit then
 * costs no routing and no framework objects. With `remote: true`, hits from every tier (Redis too).
 */
export function frontHandler(
  cache: HttpCache,
  app: NodeHandler,
  options: FrontOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const { overrides, partitionBy } = options;
  if (options.remote === true) return remoteFront(cache, app, overrides, partitionBy);
  return function gatecacheFront(req: IncomingMessage, res: ServerResponse): void {
    const request = frontRequest(req, partitionBy);
    const plan = request === undefined ? undefined : cache.peek(request, overrides);
    if (plan !== undefined) writeHit(res, plan);
    else void app(req, res);
  };
}

/**
 * The request as the engine sees it, or undefined when it must go to the app as it is: the
 * engine's own background requests, and a `partitionBy` that throws.
 */
function frontRequest(
  req: IncomingMessage,
  partitionBy: FrontOptions['partitionBy'],
): CacheRequest | undefined {
  if (req.headers[BACKGROUND_FIELD] !== undefined) return undefined;
  try {
    return cacheRequestFromNode(req, { partition: partitionBy?.(req) });
  } catch {
    return undefined;
  }
}

/** The front with `remote: true`: a lookup over every tier, asynchronous when the store is. */
function remoteFront(
  cache: HttpCache,
  app: NodeHandler,
  overrides: CachePolicy | undefined,
  partitionBy: FrontOptions['partitionBy'],
): (req: IncomingMessage, res: ServerResponse) => void {
  function answer(req: IncomingMessage, res: ServerResponse, found: Lookahead): void {
    if (found.plan !== undefined) {
      try {
        writeHit(res, found.plan);
      } catch {
        // Past the head nothing else can be sent: end the exchange rather than leave it hanging.
        res.destroy();
      }
      return;
    }
    if (found.prior !== undefined) (req as WithPrior)[PRIOR] = found.prior;
    void app(req, res);
  }
  return function gatecacheFront(req: IncomingMessage, res: ServerResponse): void {
    const request = frontRequest(req, partitionBy);
    const pending = request === undefined ? undefined : cache.lookahead(request, overrides);
    if (pending === undefined) void app(req, res);
    else if (pending instanceof Promise) {
      pending.then(
        (found) => answer(req, res, found),
        () => void app(req, res),
      );
    } else answer(req, res, pending);
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
