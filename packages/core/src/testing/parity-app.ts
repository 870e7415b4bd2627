/**
 * A framework-neutral description of a small app, which each adapter's parity factory builds
 * with its own framework (routes, handlers, error handling) and serves on a real socket.
 */
import type { HttpCacheOptions } from '../engine.ts';
import type { CachePolicy } from '../types.ts';

/** What a handler sees of its request. */
export interface ParityRequest {
  readonly method: string;
  /** The request target as the client sent it (path and query), before any mount rewrote it. */
  readonly url: string;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
}

/** The body of a reply, each kind written the framework's usual way. */
export type ParityBody =
  /** A string (Express `res.send`, Koa `ctx.body = string`, Hono `c.body(string)`). */
  | { readonly kind: 'text'; readonly text: string }
  /** A value sent as JSON (`res.json`, `ctx.body = object`, `c.json`). */
  | { readonly kind: 'json'; readonly value: unknown }
  /** Bytes in one piece (a Buffer, a Uint8Array). */
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  /**
   * A stream (a Node Readable, a Web ReadableStream) that yields `chunks` with `gapMs` between
   * them; with `failAfter`, it errors after that many chunks (an upstream that dies mid-body).
   */
  | {
      readonly kind: 'stream';
      readonly chunks: readonly Uint8Array[];
      readonly gapMs: number;
      readonly failAfter?: number;
    }
  /** No body at all. */
  | { readonly kind: 'empty' };

export type ParityReply =
  | {
      readonly status?: number;
      /** Header fields in order; a repeated name is a repeated field. */
      readonly headers?: ReadonlyArray<readonly [string, string]>;
      readonly body: ParityBody;
    }
  /** The handler throws this error (or passes it to `next` where that is the framework's way). */
  | { readonly throws: Error };

export interface ParityRoute {
  readonly method: 'GET' | 'POST';
  /** A static, lower-case path registered with the framework's router as it is. */
  readonly path: string;
  readonly handle: (request: ParityRequest) => ParityReply | Promise<ParityReply>;
}

export interface ParityApp {
  /** Engine options for the adapter's `httpCache(...)`. */
  readonly options: HttpCacheOptions;
  /** When set, the adapter's `partitionBy` reads the user from this request header. */
  readonly partitionHeader?: string;
  /**
   * `app`: one `httpCache(options)` in front of every route. `route`: one engine, and a
   * per-route middleware (`httpCache({ cache, route })`) on each route that has `cached`.
   */
  readonly mount: 'app' | 'route';
  readonly routes: readonly ParityRoute[];
  /** Routes with a per-route middleware (in `route` mount), with these per-route overrides. */
  readonly cached?: Readonly<Record<string, CachePolicy>>;
  /**
   * One sub-router mounted at every prefix (Express `app.use(prefix, router)`, Koa
   * `router.use(prefix, sub.routes())`, Hono `app.route(prefix, sub)`); each of its routes carries
   * a per-route middleware on the shared engine.
   */
  readonly subRouter?: {
    readonly prefixes: readonly string[];
    readonly routes: readonly ParityRoute[];
  };
  /**
   * A middleware before the cache sets `x-before: <n>` (n counts requests): per-request fields
   * set upstream must never be stored.
   */
  readonly upstreamHeader?: boolean;
}

/** A running app. */
export interface ParityServer {
  /** Base URL, such as `http://127.0.0.1:PORT`. */
  readonly url: string;
  close(): Promise<void>;
}

/** How the framework's router matches paths (what the router tests expect of it). */
export interface ParityRouting {
  /** `/Items` reaches the `/items` route. */
  readonly caseInsensitive: boolean;
  /** `/items/` reaches the `/items` route. */
  readonly ignoresTrailingSlash: boolean;
  /** `/%69tems` (a percent-encoded unreserved letter) reaches the `/items` route. */
  readonly decodesPercent: boolean;
}

export interface ParityAdapter {
  /** Builds and starts `app` on a loopback port. */
  readonly serve: (app: ParityApp) => Promise<ParityServer>;
  readonly routing: ParityRouting;
}
