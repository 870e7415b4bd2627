import {
  BACKGROUND_FIELD,
  invalidOption,
  resolveAdapterOptions,
  type AdapterOptions,
  type CacheRequest,
  type HandleResult,
  type HttpCache,
  type OriginCall,
  type OriginOutcome,
  type RequestHeaders,
  type SendPlan,
} from '@gatecache/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { frontHandler, takePriorLookup, type FrontMountOptions } from '@gatecache/core/front';
import {
  backgroundFor,
  executionContextOf,
  takeBackgroundCall,
  type AppFetch,
} from './background.ts';
import {
  heldByNodeServer,
  isNullBodyStatus,
  readOriginResponse,
  responseHeaders,
  snapshotWebHeaders,
  type HeaderSnapshot,
} from './web-origin.ts';
import { requestHeaderRecord } from './request-headers.ts';

/** `HttpCacheOptions` plus `cache` (a shared engine), `route`, `partitionBy(c)` and `fetch`. */
export interface HonoCacheOptions extends AdapterOptions<Context> {
  /**
   * The app's fetch handler, for work with no client (stale-while-revalidate, refresh-ahead):
   * `httpCache({ fetch: (request, env, ctx) => app.fetch(request, env, ctx) })`. Without it a
   * stale entry is revalidated in line.
   */
  readonly fetch?: AppFetch;
}

export interface HonoCacheMiddleware extends MiddlewareHandler {
  /** The engine behind this middleware: purge, stats, close. */
  readonly cache: HttpCache;
  /**
   * On Node only: a request listener that answers fresh hits from the memory tier before Hono
   * (and @hono/node-server's Request/Response conversion) runs, handing everything else to
   * `listener`: `createServer(cache.front(getRequestListener(app.fetch)))`. Here `partitionBy`
   * sees Node's plain request; when it throws, the request goes to Hono. With `{ remote: true }`
   * it answers fresh hits from Redis too, and the middleware reuses its lookup for everything else.
   */
  front(listener: NodeListener, options?: FrontMountOptions): NodeListener;
}

/** A Node request listener, as @hono/node-server's `getRequestListener` returns. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Marks a request a cache middleware already handles, so a second one (app-wide and per route)
 * steps aside. A property on the context rather than a WeakSet: a WeakSet entry per request costs
 * about as much again as the context itself (ephemeron bookkeeping in every young-generation GC).
 */
const HANDLED = Symbol('gatecache.handled');

type MarkedContext = Context & { [HANDLED]?: true };

/**
 * The engine's view of a Web request, given its fields (`requestHeaderRecord`). The target is the
 * path Hono routes on, byte for byte.
 */
function cacheRequestFromWeb(
  request: Request,
  headers: RequestHeaders,
  partition: string | undefined,
): CacheRequest {
  const url = request.url;
  const authority = url.indexOf('://') + 3;
  let slash = url.indexOf('/', authority);
  if (slash === -1) slash = url.length;
  const host = headers['host'];
  return {
    method: request.method,
    url: url.slice(slash) || '/',
    host: typeof host === 'string' ? host : url.slice(authority, slash),
    headers,
    partition,
  };
}

/** Gives the app the request the engine asks for (client validators removed, its own set). */
function applyRequestHeaders(c: Context, call: OriginCall): void {
  const { remove, set } = call.requestHeaders;
  const current = c.req.raw.headers;
  const url = call.url === undefined ? undefined : new URL(call.url, c.req.raw.url).href;
  if (!remove.some((name) => current.has(name)) && set.length === 0 && url === undefined) return;
  const headers = new Headers(current);
  for (const name of remove) headers.delete(name);
  for (const [name, value] of set) headers.set(name, value);
  c.req.raw = new Request(url ?? c.req.raw.url, { method: c.req.raw.method, headers });
}

/** The engine's plan as a `Response` (its fields as `responseHeaders` gives them). */
function responseFromPlan(plan: SendPlan, before: HeaderSnapshot): Response {
  const body =
    plan.body === undefined || isNullBodyStatus(plan.status)
      ? null
      : (plan.body as Uint8Array<ArrayBuffer>);
  return new Response(body, {
    status: plan.status,
    headers: responseHeaders(plan.headers, before, body !== null),
  });
}

/** Replaces the response outright: Hono's setter would merge the old fields over the new ones. */
function replaceResponse(c: Context, response: Response): void {
  c.res = undefined;
  c.res = response;
}

/** Keeps the rest of a streamed miss (storing the capture) alive where the runtime needs it told. */
function runInBackground(c: Context, work: Promise<unknown>): void {
  // No execution context (Node, Bun, `app.request()`): the promise runs on its own.
  executionContextOf(c)?.waitUntil(work.then(ignore, ignore));
}

function ignore(): void {}

const NOTHING_SET: HeaderSnapshot = new Map();

/**
 * On @hono/node-server: no earlier middleware set a field or a response yet. A response made by
 * `c.newResponse(null)` then holds no fields at all, and making it changes nothing on the
 * context; reading `c.res` instead would build a `Headers` and a holder response only to find
 * them empty. False elsewhere (a standard `Response` always has a `Headers`).
 */
function nothingSetYet(c: Context): boolean {
  const held = heldByNodeServer(c.newResponse(null));
  return held !== undefined && held[2] === undefined;
}

type Settled<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * One request's app, run as the engine's origin. A class rather than closures: a fresh hit,
 * which never runs the app, then allocates one small object and no promise.
 */
class AppOrigin {
  /** Whether the engine called the origin (the app ran, or is running). */
  started = false;
  #before: HeaderSnapshot | undefined;
  /** `c.res` was built by `before()` to hold the fields set so far: see `#dropHolder`. */
  #holderOnly = false;
  /** The origin's response started streaming to the client. */
  #streamed = false;
  #onStreaming: ((value: 'streaming') => void) | undefined;

  constructor(
    private readonly c: Context,
    private readonly next: Next,
  ) {}

  /**
   * Fields earlier middleware set (CORS, for example): they stay out of what is stored and are
   * sent with every answer unless it has its own. Read before the app runs, and only once.
   */
  before(): HeaderSnapshot {
    if (this.#before !== undefined) return this.#before;
    const c = this.c;
    if (!c.finalized && nothingSetYet(c)) {
      this.#before = NOTHING_SET;
      return NOTHING_SET;
    }
    // Not finalized: no response was set yet, so reading `c.res` makes Hono build one that only
    // holds the fields set so far (see `run`).
    this.#holderOnly = !c.finalized;
    this.#before = snapshotWebHeaders(c.res.headers);
    return this.#before;
  }

  /**
   * On @hono/node-server the response `before()` made Hono build holds Hono's own list of fields
   * set so far (not a copy): dropping it before the app runs loses nothing, and spares the app's
   * response being rebuilt around a stream to merge them (Hono's `c.res` setter does that when
   * one exists). Elsewhere it may hold a copy, and stays.
   */
  #dropHolder(): void {
    if (!this.#holderOnly) return;
    this.#holderOnly = false;
    const c = this.c;
    const res = c.res;
    const held = heldByNodeServer(res);
    if (held === undefined || held[1] !== null || held[2] !== res.headers) return;
    c.res = undefined;
    c.finalized = false;
  }

  /**
   * How `work` settled, or `'streaming'` as soon as the origin's response starts streaming to the
   * client, whichever comes first. One promise rather than a race of three: an L2 hit waits here.
   * The promise's own `resolve` is kept, not a closure around it: a closure made here and held by
   * this object made every request waiting on L2 outlive two young-generation collections (so
   * each was copied into old space): measured with `--trace-gc-nvp`, 0.8 MB promoted per
   * scavenge against 14 KB, and 19,000 against 26,000 hits/s on an asynchronous store.
   */
  firstOf<T>(work: Promise<T>): Promise<Settled<T> | 'streaming'> {
    return new Promise<Settled<T> | 'streaming'>((resolve) => {
      if (this.#streamed) resolve('streaming');
      else this.#onStreaming = resolve;
      work.then(
        (value) => resolve({ ok: true, value }),
        (error: unknown) => resolve({ ok: false, error }),
      );
    });
  }

  async run(call: OriginCall): Promise<OriginOutcome> {
    const c = this.c;
    this.started = true;
    const before = this.before();
    this.#dropHolder();
    applyRequestHeaders(c, call);
    try {
      await this.next();
    } catch (error) {
      return { status: 500, headers: [], body: undefined, complete: false, error };
    }
    // Hono turned a thrown error into `app.onError`'s response: the origin failed.
    if (c.error !== undefined) {
      return { status: 500, headers: [], body: undefined, complete: false, error: c.error };
    }
    const read = await readOriginResponse(c.res, call, before);
    if (read.response !== undefined) replaceResponse(c, read.response);
    if (read.type === 'settled') return read.outcome;
    this.#streamed = true;
    this.#onStreaming?.('streaming');
    return read.outcome;
  }
}

/**
 * Hono middleware: `app.use('*', httpCache(options))` or per route
 * `app.get('/x', httpCache({ ttl: 60 }), handler)`. Web-standard Request and Response only.
 */
export function httpCache(options: HonoCacheOptions = {}): HonoCacheMiddleware {
  const { fetch: fetchApp, ...adapterOptions } = options;
  if (fetchApp !== undefined && typeof fetchApp !== 'function') {
    throw invalidOption('fetch', fetchApp, "the app's fetch handler, such as (r) => app.fetch(r)");
  }
  const { cache, overrides, partitionBy } = resolveAdapterOptions(adapterOptions);

  const middleware = async function httpCache(c: Context, next: Next): Promise<void> {
    if ((c as MarkedContext)[HANDLED] === true) return next();
    (c as MarkedContext)[HANDLED] = true;
    let fields: RequestHeaders;
    try {
      fields = requestHeaderRecord(c.req.raw);
    } catch {
      // Fields the Fetch API refuses: the cache steps aside rather than fail the request.
      return next();
    }
    const backgroundCall =
      fields[BACKGROUND_FIELD] === undefined ? undefined : takeBackgroundCall(c);
    const app = new AppOrigin(c, next);

    if (backgroundCall !== undefined) {
      // The engine's own background request: the app is the origin for the waiting call.
      const outcome = app.run(backgroundCall.call);
      void outcome.then(backgroundCall.resolve);
      const first = await app.firstOf(outcome);
      if (first !== 'streaming' && !first.ok) throw first.error;
      return;
    }

    const partition = partitionBy?.(c);
    let served: HandleResult | Promise<HandleResult>;
    try {
      served = cache.serve(
        cacheRequestFromWeb(c.req.raw, fields, partition),
        (call) => app.run(call),
        overrides,
        backgroundFor(c, fetchApp),
        // A front with `remote: true` left its lookup on Node's request (@hono/node-server's env).
        takePriorLookup((c.env as { incoming?: unknown } | undefined)?.incoming),
      );
    } catch {
      // The cache must never fail a request: an engine fault falls back to the app.
      return next();
    }
    if (!(served instanceof Promise)) {
      // Answered at once (a fresh hit from the memory tier): the app never ran.
      if (served.type === 'send')
        replaceResponse(c, responseFromPlan(served.response, app.before()));
      return;
    }
    const first = await app.firstOf(served);
    if (first === 'streaming') {
      // The body reaches the client after this returns; the engine stores it when it ends.
      runInBackground(c, served);
      return;
    }
    if (!first.ok) {
      // The cache must never fail a request: an engine fault falls back to the app.
      if (!app.started) return next();
      throw first.error;
    }
    const result = first.value;
    switch (result.type) {
      case 'send':
        replaceResponse(c, responseFromPlan(result.response, app.before()));
        return;
      case 'done':
        return;
      case 'rethrow':
        // `app.onError` already answered an error thrown inside Hono; anything else goes to it now.
        if (c.error !== undefined && c.error === result.error) return;
        throw result.error;
      default:
        return result satisfies never;
    }
  } as HonoCacheMiddleware;
  Object.defineProperty(middleware, 'cache', { value: cache, enumerable: true });
  Object.defineProperty(middleware, 'front', {
    enumerable: true,
    // `@gatecache/core/front` loads no Node module, so Workers and Deno can still import this.
    value: (listener: NodeListener, options?: FrontMountOptions) =>
      frontHandler(cache, listener, {
        overrides,
        partitionBy: partitionBy as ((req: IncomingMessage) => string | undefined) | undefined,
        remote: options?.remote,
      }),
  });
  return middleware;
}
