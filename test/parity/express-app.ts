import { httpCache, type ExpressCacheMiddleware } from '@gatecache/express';
import type { ParityAdapter, ParityApp, ParityRoute } from '@gatecache/core/testing';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';
import { listen } from '../support/http.ts';
import { nodeStream, requestInfo } from './sources.ts';

function handler(route: ParityRoute) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const reply = await route.handle(
        requestInfo(req.method, req.originalUrl, Object.entries(req.headers)),
      );
      if ('throws' in reply) throw reply.throws;
      res.status(reply.status ?? 200);
      for (const [name, value] of reply.headers ?? []) res.append(name, value);
      const body = reply.body;
      switch (body.kind) {
        case 'text':
          res.send(body.text);
          return;
        case 'json':
          res.json(body.value);
          return;
        case 'bytes':
          res.send(Buffer.from(body.bytes));
          return;
        case 'stream':
          pipeline(nodeStream(body), res, () => undefined);
          return;
        case 'empty':
          res.end();
          return;
        default:
          return body satisfies never;
      }
    } catch (error) {
      next(error);
    }
  };
}

function register(
  router: express.Router,
  route: ParityRoute,
  ...before: express.RequestHandler[]
): void {
  if (route.method === 'GET') router.get(route.path, ...before, handler(route));
  else router.post(route.path, ...before, handler(route));
}

/** Express 5: the framework's defaults, minus its own ETag and `X-Powered-By`. */
export const expressAdapter: ParityAdapter = {
  routing: { caseInsensitive: true, ignoresTrailingSlash: true, decodesPercent: false },
  async serve(app: ParityApp) {
    const server = express();
    server.set('etag', false);
    server.disable('x-powered-by');
    const header = app.partitionHeader;
    const partitionBy =
      header === undefined ? undefined : (req: Request) => req.get(header) ?? undefined;
    const root: ExpressCacheMiddleware = httpCache({
      ...app.options,
      ...(partitionBy === undefined ? {} : { partitionBy }),
    });
    const perRoute = (path: string): ExpressCacheMiddleware =>
      httpCache({
        cache: root.cache,
        ...(app.cached?.[path] === undefined ? {} : { route: app.cached[path] }),
        ...(partitionBy === undefined ? {} : { partitionBy }),
      });
    let requests = 0;
    if (app.upstreamHeader === true) {
      server.use((_req, res, next) => {
        res.setHeader('x-before', String(++requests));
        next();
      });
    }
    if (app.mount === 'app') server.use(root);
    const router = express.Router();
    for (const route of app.routes) {
      if (app.mount === 'route' && app.cached?.[route.path] !== undefined)
        register(router, route, perRoute(route.path));
      else register(router, route);
    }
    server.use(router);
    if (app.subRouter !== undefined) {
      const sub = express.Router();
      for (const route of app.subRouter.routes) register(sub, route, perRoute(route.path));
      for (const prefix of app.subRouter.prefixes) server.use(prefix, sub);
    }
    server.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.status(500).type('text/plain').send('Internal Server Error');
    });
    const { base, close } = await listen(createServer(server));
    return {
      url: base,
      close: async () => {
        await close();
        await root.cache.close();
      },
    };
  },
};
