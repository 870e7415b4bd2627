import type { BackgroundRunner } from '@gatecache/core';
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

/** A runner that replays the request (as a GET) through its Koa app with no client attached. */
export function backgroundFor(ctx: Context): BackgroundRunner {
  const { app, originalUrl } = ctx;
  const source = ctx.req.headers;
  return { run: (call) => runThroughNodeApp(handlerOf(app), originalUrl, source, call) };
}
