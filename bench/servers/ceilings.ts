/**
 * What a cache hit could cost at best, per mounting style, for the table's "ceiling" rows:
 *
 * - `express-map`, `koa-map`, `hono-map`: a minimal middleware mounted first that answers from a
 *   Map (body and two header fields, nothing else: no Age, no validation, no Vary, no limits),
 *   before the router; the route fills the Map. The best any middleware cache can do.
 * - `node`: `http.createServer` answering the body from memory with the same header fields and no
 *   framework at all. The best a handler in front of the framework (`cache.front(app)`) can do.
 */
import { serve } from '@hono/node-server';
import Router from '@koa/router';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { createServer } from 'node:http';
import {
  announce,
  BODY,
  CONTENT_TYPE,
  HOST,
  ORIGIN_CACHE_CONTROL,
  PRODUCTS_PATH,
  variantArg,
} from './common.ts';

const variant = variantArg(['express-map', 'koa-map', 'hono-map', 'node']);
const headers = { 'content-type': CONTENT_TYPE, 'cache-control': ORIGIN_CACHE_CONTROL };

switch (variant) {
  case 'express-map': {
    const stored = new Map<string, Buffer>();
    const app = express();
    app.use((req, res, next) => {
      const hit = stored.get(req.originalUrl);
      if (hit === undefined) return next();
      res.setHeader('content-type', CONTENT_TYPE);
      res.setHeader('cache-control', ORIGIN_CACHE_CONTROL);
      res.end(hit);
    });
    app.get(PRODUCTS_PATH, (req, res) => {
      stored.set(req.originalUrl, Buffer.from(BODY));
      res.set('cache-control', ORIGIN_CACHE_CONTROL).type(CONTENT_TYPE).send(BODY);
    });
    const server = app.listen(0, HOST, () => announce(server));
    break;
  }
  case 'koa-map': {
    const stored = new Map<string, Buffer>();
    const app = new Koa();
    const router = new Router();
    app.use(async (ctx, next) => {
      const hit = stored.get(ctx.url);
      if (hit === undefined) {
        await next();
        return;
      }
      ctx.set('cache-control', ORIGIN_CACHE_CONTROL);
      ctx.type = CONTENT_TYPE;
      ctx.body = hit;
    });
    router.get(PRODUCTS_PATH, (ctx) => {
      stored.set(ctx.url, Buffer.from(BODY));
      ctx.set('cache-control', ORIGIN_CACHE_CONTROL);
      ctx.type = CONTENT_TYPE;
      ctx.body = BODY;
    });
    app.use(router.routes());
    const server = createServer(app.callback());
    server.listen(0, HOST, () => announce(server));
    break;
  }
  case 'hono-map': {
    const stored = new Map<string, string>();
    const app = new Hono();
    app.use(async (c, next) => {
      const hit = stored.get(c.req.url);
      if (hit === undefined) return next();
      return c.body(hit, 200, headers);
    });
    app.get(PRODUCTS_PATH, (c) => {
      stored.set(c.req.url, BODY);
      return c.body(BODY, 200, headers);
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: HOST }, () => announce(server));
    break;
  }
  case 'node': {
    const body = Buffer.from(BODY);
    // Built once: a spread per request would cost this row about a microsecond on a small VM.
    const head = { ...headers, 'content-length': body.byteLength };
    const server = createServer((_req, res) => {
      res.writeHead(200, head);
      res.end(body);
    });
    server.listen(0, HOST, () => announce(server));
    break;
  }
}
