import {
  resolveAdapterOptions,
  type AdapterOptions,
  type HandleResult,
  type HttpCache,
} from '@gatecache/core';
import {
  cacheRequestFromNode,
  frontHandler,
  runNodeOrigin,
  snapshotHeaders,
  takeNodeBackgroundCall,
  takePriorLookup,
  writePlan,
  toDictionaryMode,
  type FrontMountOptions,
  type NodeHandler,
} from '@gatecache/core/node';
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { backgroundFor } from './background.ts';

/** `HttpCacheOptions` plus `cache` (a shared engine), `route` and `partitionBy(req)`. */
export type ExpressCacheOptions = AdapterOptions<Request>;

export interface ExpressCacheMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** The engine behind this middleware: purge, stats, close. */
  readonly cache: HttpCache;
  /**
   * A Node request handler that answers fresh hits from the memory tier before Express runs at
   * all, and hands everything else to `app` (which must mount this middleware):
   * `http.createServer(cache.front(app)).listen(3000)`. A hit then costs no routing. Here
   * `partitionBy` sees Node's plain request (use `req.headers`, not `req.get`); when it throws,
   * the request goes to the app. With `{ remote: true }` it answers fresh hits from Redis too,
   * and the middleware reuses its lookup for everything else.
   */
  front(
    app: NodeHandler,
    options?: FrontMountOptions,
  ): (req: IncomingMessage, res: ServerResponse) => void;
}

/** Marks a request a cache middleware already handles, so a second one steps aside. */
const HANDLED = Symbol.for('gatecache.handled');

/**
 * Express middleware: `app.use(httpCache(options))` or per route
 * `router.get('/x', httpCache({ ttl: 60 }), handler)`.
 */
export function httpCache(options: ExpressCacheOptions = {}): ExpressCacheMiddleware {
  const { cache, overrides, partitionBy } = resolveAdapterOptions(options);

  const middleware = function httpCache(req: Request, res: Response, next: NextFunction): void {
    const marked = req as Request & { [HANDLED]?: boolean };
    if (marked[HANDLED] === true) {
      next();
      return;
    }
    // Express gave both a hidden class of their own: see toDictionaryMode. Every field added from
    // here on, the mark below and the bridge's methods included, is then a dictionary insert.
    toDictionaryMode(req);
    toDictionaryMode(res);
    marked[HANDLED] = true;
    const backgroundCall = takeNodeBackgroundCall(req.headers);
    if (backgroundCall !== undefined) {
      // The engine's own background request: the app is the origin for the waiting call.
      void runNodeOrigin(req, res, backgroundCall.call, snapshotHeaders(res), () => next()).then(
        backgroundCall.resolve,
      );
      return;
    }
    let partition: string | undefined;
    try {
      partition = partitionBy?.(req);
    } catch (error) {
      next(error);
      return;
    }
    // Taken only when the origin runs: a hit never needs it.
    let before: ReturnType<typeof snapshotHeaders> | undefined;
    let originStarted = false;
    const finish = (result: HandleResult): void => {
      switch (result.type) {
        case 'send':
          writePlan(res, result.response, before);
          return;
        case 'done':
          return;
        case 'rethrow':
          next(result.error);
          return;
        default:
          return result satisfies never;
      }
    };
    const fail = (error: unknown): void => {
      // The cache must never fail a request: an engine fault falls back to the app.
      if (!originStarted) next();
      else if (!res.headersSent) next(error);
    };
    let result: HandleResult | Promise<HandleResult>;
    try {
      result = cache.serve(
        cacheRequestFromNode(req, { partition, url: req.originalUrl }),
        (call) => {
          originStarted = true;
          before = snapshotHeaders(res);
          return runNodeOrigin(req, res, call, before, () => next());
        },
        overrides,
        backgroundFor(req),
        takePriorLookup(req),
      );
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then(finish, fail);
    else finish(result);
  } as ExpressCacheMiddleware;
  Object.defineProperty(middleware, 'cache', { value: cache, enumerable: true });
  Object.defineProperty(middleware, 'front', {
    enumerable: true,
    value: (app: NodeHandler, options?: FrontMountOptions) =>
      frontHandler(cache, app, {
        overrides,
        partitionBy: partitionBy as ((req: IncomingMessage) => string | undefined) | undefined,
        remote: options?.remote,
      }),
  });
  return middleware;
}
