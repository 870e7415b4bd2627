import { httpCache, type KoaCacheMiddleware } from '@gatecache/koa';
import type { ParityAdapter, ParityApp, ParityRoute } from '@gatecache/core/testing';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { createServer } from 'node:http';
import { listen } from '../support/http.ts';
import { nodeStream, requestInfo } from './sources.ts';

function handler(route: ParityRoute): Middleware {
  return async (ctx: Context) => {
    const reply = await route.handle(
      requestInfo(ctx.method, ctx.originalUrl, Object.entries(ctx.headers)),
    );
    if ('throws' in reply) throw reply.throws;
    ctx.status = reply.status ?? 200;
    for (const [name, value] of reply.headers ?? []) ctx.append(name, value);
    const body = reply.body;
    switch (body.kind) {
      case 'text':
        ctx.body = body.text;
        return;
      case 'json':
        ctx.body = body.value;
        return;
      case 'bytes':
        ctx.body = Buffer.from(body.bytes);
        return;
      case 'stream':
        ctx.body = nodeStream(body);
        return;
      case 'empty':
        ctx.body = null;
        return;
      default:
        return body satisfies never;
    }
  };
}

function register(router: Router, route: ParityRoute, ...before: Middleware[]): void {
  if (route.method === 'GET') router.get(route.path, ...before, handler(route));
  else router.post(route.path, ...before, handler(route));
}

/** Koa 3 with @koa/router, as configured by default. */
export const koaAdapter: ParityAdapter = {
  routing: { caseInsensitive: true, ignoresTrailingSlash: true, decodesPercent: false },
  async serve(app: ParityApp) {
    const server = new Koa();
    // Errors are expected in the scenarios: keep Koa's default logging quiet.
    server.on('error', () => undefined);
    const header = app.partitionHeader;
    const partitionBy =
      header === undefined ? undefined : (ctx: Context) => ctx.get(header) || undefined;
    const root: KoaCacheMiddleware = httpCache({
      ...app.options,
      ...(partitionBy === undefined ? {} : { partitionBy }),
    });
    const perRoute = (path: string): KoaCacheMiddleware =>
      httpCache({
        cache: root.cache,
        ...(app.cached?.[path] === undefined ? {} : { route: app.cached[path] }),
        ...(partitionBy === undefined ? {} : { partitionBy }),
      });
    let requests = 0;
    if (app.upstreamHeader === true) {
      server.use(async (ctx, next) => {
        ctx.set('x-before', String(++requests));
        await next();
      });
    }
    if (app.mount === 'app') server.use(root);
    const router = new Router();
    for (const route of app.routes) {
      if (app.mount === 'route' && app.cached?.[route.path] !== undefined)
        register(router, route, perRoute(route.path));
      else register(router, route);
    }
    if (app.subRouter !== undefined) {
      const sub = new Router();
      for (const route of app.subRouter.routes) register(sub, route, perRoute(route.path));
      for (const prefix of app.subRouter.prefixes) router.use(prefix, sub.routes());
    }
    server.use(router.routes());
    server.use(router.allowedMethods());
    const { base, close } = await listen(createServer(server.callback()));
    return {
      url: base,
      close: async () => {
        await close();
        await root.cache.close();
      },
    };
  },
};
