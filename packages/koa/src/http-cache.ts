import {
  resolveAdapterOptions,
  type AdapterOptions,
  type HandleResult,
  type HttpCache,
  type SendPlan,
} from '@gatecache/core';
import {
  cacheRequestFromNode,
  frontHandler,
  runNodeOrigin,
  setHeaderList,
  snapshotHeaders,
  takeNodeBackgroundCall,
  takePriorLookup,
  writePlan,
  type FrontMountOptions,
  type NodeHandler,
} from '@gatecache/core/node';
import type { Context, Next } from 'koa';
import { ServerResponse, type IncomingMessage } from 'node:http';
import { backgroundFor } from './background.ts';

/** `HttpCacheOptions` plus `cache` (a shared engine), `route` and `partitionBy(ctx)`. */
export type KoaCacheOptions = AdapterOptions<Context>;

export interface KoaCacheMiddleware {
  (ctx: Context, next: Next): Promise<void>;
  /** The engine behind this middleware: purge, stats, close. */
  readonly cache: HttpCache;
  /**
   * A Node request handler that answers fresh hits from the memory tier before Koa runs, and
   * hands everything else to the app (which mounts this middleware):
   * `http.createServer(cache.front(app)).listen(3000)`. Here `partitionBy` sees Node's plain
   * request (`ctx.headers` works, `ctx.state` does not); when it throws, the request goes to Koa.
   * With `{ remote: true }` it answers fresh hits from Redis too, and the middleware reuses its
   * lookup for everything else.
   */
  front(app: { callback(): NodeHandler } | NodeHandler, options?: FrontMountOptions): NodeHandler;
}

/** Marks a request a cache middleware already handles, so a second one steps aside. */
const HANDLED = Symbol.for('gatecache.handled');

type Downstream = { readonly ok: true } | { readonly ok: false; readonly error: unknown };
type Settled =
  | { readonly ok: true; readonly result: HandleResult }
  | { readonly ok: false; readonly error: unknown };

interface Deferred<T> {
  readonly promise: Promise<T>;
  readonly resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** A hit goes out through Koa itself, so upstream middleware (compression, logging) sees it. */
function respondThroughKoa(ctx: Context, plan: SendPlan): void {
  ctx.status = plan.status;
  // Straight onto the response: what ctx.set does, without its per-call work.
  setHeaderList(ctx.res, plan.headers);
  if (plan.body !== undefined) {
    // Koa treats only a Buffer as bytes (a plain Uint8Array would be sent as JSON).
    ctx.body = Buffer.from(plan.body.buffer, plan.body.byteOffset, plan.body.byteLength);
  }
}

const KOA_LENGTH = 'Content-Length';

/**
 * The plan's fields as the flat list `writeHead` takes, or undefined when Koa's own path would
 * send other fields than the plan's: Koa adds `Content-Type: application/octet-stream` and
 * `Content-Length` to a Buffer body that lacks them, strips the body fields from a 304, and
 * sends a 200 without a body as the text `OK`. Other statuses go through Koa too, so the reason
 * phrase stays Koa's.
 */
function directHead(plan: SendPlan, head: boolean): string[] | undefined {
  const { status, headers } = plan;
  let type = false;
  let length = false;
  let chunked = false;
  const flat = new Array<string>(headers.length * 2);
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (name === 'content-type') type = true;
    else if (name === 'content-length') length = true;
    else if (name === 'transfer-encoding') chunked = true;
    // Koa's body setter sets Content-Length again, under that spelling: the same bytes go out.
    flat[2 * i] = name === 'content-length' && plan.body !== undefined ? KOA_LENGTH : name;
    flat[2 * i + 1] = value;
  }
  if (status === 304)
    return plan.body === undefined && !type && !length && !chunked ? flat : undefined;
  if (status !== 200) return undefined;
  if (plan.body === undefined) return head ? flat : undefined;
  return type && length && !chunked ? flat : undefined;
}

/**
 * Writes a hit on `ctx.res` itself and turns Koa's response off, when nothing can tell it from
 * `respondThroughKoa`: the caller is the app's first middleware (no one above it reads `ctx.body`
 * or sets fields after it), the response holds no fields yet (a wrapping handler's would need
 * merging), and `directHead` accepts the plan. One `writeHead` with the whole head costs far less
 * than Koa's status, header and body setters plus its `respond()`. False: nothing was written.
 */
function respondDirectly(ctx: Context, plan: SendPlan): boolean {
  const { res } = ctx;
  // Koa over HTTP/2 hands an Http2ServerResponse, whose writeHead differs.
  if (!(res instanceof ServerResponse) || res.headersSent || !ctx.writable) return false;
  if (res.getHeaderNames().length > 0) return false;
  const head = ctx.method === 'HEAD';
  const fields = directHead(plan, head);
  if (fields === undefined) return false;
  // The reason phrase as Koa's status setter would set it (the only two statuses taken here).
  res.writeHead(plan.status, plan.status === 200 ? 'OK' : 'Not Modified', fields);
  ctx.respond = false;
  if (head || plan.body === undefined) res.end();
  else res.end(plan.body);
  return true;
}

/** Writes the engine's answer: directly when the cache is the app's first middleware, else through Koa. */
function respondWithPlan(ctx: Context, plan: SendPlan, self: KoaCacheMiddleware): void {
  if (ctx.app.middleware[0] === self && respondDirectly(ctx, plan)) return;
  respondThroughKoa(ctx, plan);
}

/**
 * Koa middleware: `app.use(httpCache(options))` or per route
 * `router.get('/x', httpCache({ ttl: 60 }), handler)`.
 *
 * Koa writes the response after the middleware chain returns, so on a miss this middleware
 * returns as soon as the rest of the chain has, and the Node bridge watches Koa's own write to
 * `ctx.res`; the engine's verdict on that response (store it, or answer 304 in its place) lands
 * when the write ends.
 */
export function httpCache(options: KoaCacheOptions = {}): KoaCacheMiddleware {
  const { cache, overrides, partitionBy } = resolveAdapterOptions(options);

  const middleware = async function httpCache(ctx: Context, next: Next): Promise<void> {
    const marked = ctx as Context & { [HANDLED]?: boolean };
    if (marked[HANDLED] === true) {
      await next();
      return;
    }
    marked[HANDLED] = true;
    const { req, res } = ctx;
    const backgroundCall = takeNodeBackgroundCall(req.headers);
    if (backgroundCall !== undefined) {
      // The engine's own background request: the app is the origin for the waiting call.
      let downstream: Promise<void> = Promise.resolve();
      void runNodeOrigin(req, res, backgroundCall.call, snapshotHeaders(res), () => {
        downstream = next().then(() => undefined);
        return downstream;
      }).then(backgroundCall.resolve);
      await downstream;
      return;
    }
    const partition = partitionBy?.(ctx);
    // Taken only when the origin runs: a hit never needs it.
    let before: ReturnType<typeof snapshotHeaders> | undefined;
    let originStarted = false;
    // Made once the origin may run: a fresh hit from memory never needs it.
    let downstream: Deferred<Downstream> | undefined;
    let served: HandleResult | Promise<HandleResult>;
    try {
      served = cache.serve(
        // `originalUrl`: a mounted app (koa-mount) rewrites `req.url`; two mounts must not share keys.
        cacheRequestFromNode(req, { partition, url: ctx.originalUrl }),
        (call) => {
          originStarted = true;
          before = snapshotHeaders(res);
          // Koa keeps the client's target in `originalUrl`; the origin must not see it either.
          if (call.url !== undefined) ctx.originalUrl = ctx.request.originalUrl = call.url;
          const done = (downstream ??= deferred()).resolve;
          return runNodeOrigin(req, res, call, before, () =>
            next().then(
              () => done({ ok: true }),
              (error: unknown) => {
                done({ ok: false, error });
                throw error;
              },
            ),
          );
        },
        overrides,
        backgroundFor(ctx),
        takePriorLookup(req),
      );
    } catch {
      // The cache must never fail a request: an engine fault falls back to the app.
      await next();
      return;
    }
    if (!(served instanceof Promise)) {
      // Answered at once (a fresh hit from the memory tier): the app never ran.
      if (served.type === 'send') respondWithPlan(ctx, served.response, middleware);
      return;
    }
    const settled: Promise<Settled> = served.then(
      (result) => ({ ok: true, result }) as const,
      (error: unknown) => ({ ok: false, error }) as const,
    );

    downstream ??= deferred();
    const first = await Promise.race([settled, downstream.promise]);
    if (!originStarted) {
      const outcome = first as Settled;
      // The cache must never fail a request: an engine fault falls back to the app.
      if (!outcome.ok) await next();
      else if (outcome.result.type === 'send')
        respondWithPlan(ctx, outcome.result.response, middleware);
      return;
    }

    const ran = await downstream.promise;
    if (ran.ok) {
      // Koa responds once this returns; the bridge holds that write until the engine decides.
      void settled.then((outcome) => {
        if (!outcome.ok) {
          if (!res.headersSent && !res.destroyed) ctx.onerror(outcome.error as Error);
          return;
        }
        const { result } = outcome;
        switch (result.type) {
          case 'send':
            writePlan(res, result.response, before);
            return;
          case 'done':
            return;
          case 'rethrow':
            // Nothing was written and the client is gone, or the response was never produced.
            if (!res.writableEnded && !res.destroyed) ctx.onerror(result.error as Error);
            return;
          default:
            return result satisfies never;
        }
      });
      return;
    }

    // The rest of the chain threw: the engine may answer with a stale entry (RFC 5861 §4).
    const outcome = await settled;
    if (outcome.ok && outcome.result.type === 'send' && !res.headersSent) {
      ctx.respond = false;
      writePlan(res, outcome.result.response, before);
      return;
    }
    throw outcome.ok && outcome.result.type === 'rethrow' ? outcome.result.error : ran.error;
  } as KoaCacheMiddleware;
  Object.defineProperty(middleware, 'cache', { value: cache, enumerable: true });
  Object.defineProperty(middleware, 'front', {
    enumerable: true,
    value: (app: { callback(): NodeHandler } | NodeHandler, options?: FrontMountOptions) =>
      frontHandler(cache, typeof app === 'function' ? app : app.callback(), {
        overrides,
        partitionBy: partitionBy as ((req: IncomingMessage) => string | undefined) | undefined,
        remote: options?.remote,
      }),
  });
  return middleware;
}
