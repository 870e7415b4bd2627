import { httpCache, type HonoCacheMiddleware } from '@gatecache/hono';
import type { ParityAdapter, ParityApp, ParityRoute } from '@gatecache/core/testing';
import { serve } from '@hono/node-server';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestInfo, webStream } from './sources.ts';

function pathOf(url: string): string {
  return url.slice(url.indexOf('/', url.indexOf('://') + 3));
}

function handler(route: ParityRoute) {
  return async (c: Context): Promise<Response> => {
    const reply = await route.handle(
      requestInfo(c.req.method, pathOf(c.req.url), c.req.raw.headers),
    );
    if ('throws' in reply) throw reply.throws;
    c.status((reply.status ?? 200) as 200);
    for (const [name, value] of reply.headers ?? []) c.header(name, value, { append: true });
    const body = reply.body;
    switch (body.kind) {
      case 'text':
        return c.body(body.text);
      case 'json':
        return c.json(body.value);
      case 'bytes':
        return c.body(body.bytes as Uint8Array<ArrayBuffer>);
      case 'stream':
        return c.body(webStream(body));
      case 'empty':
        return c.body(null);
      default:
        return body satisfies never;
    }
  };
}

function register(app: Hono, route: ParityRoute, cache?: MiddlewareHandler): void {
  const handle = handler(route);
  const method = route.method === 'GET' ? 'get' : 'post';
  if (cache === undefined) app[method](route.path, handle);
  else app[method](route.path, cache, handle);
}

/** Hono 4 on @hono/node-server, with the default router (strict paths). */
export const honoAdapter: ParityAdapter = {
  routing: { caseInsensitive: false, ignoresTrailingSlash: false, decodesPercent: true },
  async serve(app: ParityApp) {
    const server = new Hono();
    server.onError((_error, c) => c.text('Internal Server Error', 500));
    const header = app.partitionHeader;
    const partitionBy =
      header === undefined ? undefined : (c: Context) => c.req.header(header) ?? undefined;
    const root: HonoCacheMiddleware = httpCache({
      ...app.options,
      fetch: (request) => server.fetch(request),
      ...(partitionBy === undefined ? {} : { partitionBy }),
    });
    const perRoute = (path: string): HonoCacheMiddleware =>
      httpCache({
        cache: root.cache,
        ...(app.cached?.[path] === undefined ? {} : { route: app.cached[path] }),
        ...(partitionBy === undefined ? {} : { partitionBy }),
      });
    let requests = 0;
    if (app.upstreamHeader === true) {
      server.use('*', async (c, next) => {
        c.header('x-before', String(++requests));
        await next();
      });
    }
    if (app.mount === 'app') server.use('*', root);
    for (const route of app.routes) {
      if (app.mount === 'route' && app.cached?.[route.path] !== undefined)
        register(server, route, perRoute(route.path));
      else register(server, route);
    }
    if (app.subRouter !== undefined) {
      const sub = new Hono();
      for (const route of app.subRouter.routes) register(sub, route, perRoute(route.path));
      for (const prefix of app.subRouter.prefixes) server.route(prefix, sub);
    }
    const nodeServer = serve({ fetch: server.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    if (!nodeServer.listening) await once(nodeServer, 'listening');
    const { port } = nodeServer.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        nodeServer.closeAllConnections();
        await new Promise<void>((resolve) => nodeServer.close(() => resolve()));
        await root.cache.close();
      },
    };
  },
};
