import type { BackgroundRunner, OriginCall, OriginOutcome } from '@gatecache/core';
import { runThroughNodeApp, type NodeHandler } from '@gatecache/core/node';
import type Koa from 'koa';
import type { Context } from 'koa';

/** One request handler per app, made on first use (`callback()` composes the middleware). */
const handlers = new WeakMap<Koa, NodeHandler>();

function handlerOf(app: Koa): NodeHandler {
  let handler = handlers.get(app);
  if (handler === undefined) {
    handler = app.callback();
    handlers.set(app, handler);
  }
  return handler;
}

/**
 * Replays a request (as a GET) through its Koa app with no client attached. A class, not a
 * closure: one is made for every request, hits included, and rarely used.
 */
class KoaReplay implements BackgroundRunner {
  readonly #app: Koa;
  readonly #url: string;
  readonly #source: Context['req']['headers'];

  constructor(ctx: Context) {
    this.#app = ctx.app;
    this.#url = ctx.originalUrl;
    this.#source = ctx.req.headers;
  }

  run(call: OriginCall): Promise<OriginOutcome> {
    return runThroughNodeApp(handlerOf(this.#app), this.#url, this.#source, call);
  }
}

/** A runner that replays the request (as a GET) through its Koa app with no client attached. */
export function backgroundFor(ctx: Context): BackgroundRunner {
  return new KoaReplay(ctx);
}
