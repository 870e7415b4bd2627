/**
 * One app definition served by Express, Koa or Hono behind gatecache, for the attack tests. The
 * origin is a plain function of the request, so the same scenario runs on every adapter.
 */
import type { HttpCache, HttpCacheOptions } from '@gatecache/core';
import { httpCache as expressCache } from '@gatecache/express';
import { httpCache as honoCache } from '@gatecache/hono';
import { httpCache as koaCache } from '@gatecache/koa';
import { serve } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from '../support/http.ts';

export interface OriginRequest {
  readonly method: string;
  /** Path and query as the framework routes on them (`req.url`, `ctx.url`, `c.req.url`). */
  readonly url: string;
  /** What apps read for the "original" target: Express `req.originalUrl`, Koa `ctx.originalUrl`. */
  readonly originalUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface OriginReply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface AppSpec {
  readonly origin: (request: OriginRequest) => OriginReply;
  /** Engine options (store, tenant, onEvent, …). */
  readonly options?: HttpCacheOptions;
  /** An engine made by the test, used in place of one made from `options`. */
  readonly cache?: HttpCache;
  /** Request header naming the user of a request (its partition), if any. */
  readonly partitionHeader?: string;
}

export interface RunningApp {
  readonly base: string;
  readonly cache: HttpCache;
  /** Origin calls per path (query excluded). */
  calls(path: string): number;
  /** Every request the origin saw, in order. */
  readonly seen: OriginRequest[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export type AdapterName = 'express' | 'koa' | 'hono';
export const ADAPTERS: readonly AdapterName[] = ['express', 'koa', 'hono'];

function headerRecord(entries: Iterable<[string, string | string[] | undefined]>) {
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function startApp(adapter: AdapterName, spec: AppSpec): Promise<RunningApp> {
  const counts = new Map<string, number>();
  const seen: OriginRequest[] = [];
  const run = (request: OriginRequest): OriginReply => {
    seen.push(request);
    const path = request.url.split('?')[0]!;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return spec.origin(request);
  };
  const header = spec.partitionHeader;
  let cache: HttpCache;
  let base: string;
  let close: () => Promise<void>;

  if (adapter === 'express') {
    const app = express();
    app.set('etag', false);
    app.disable('x-powered-by');
    const middleware = expressCache({
      ...spec.options,
      ...(spec.cache === undefined ? {} : { cache: spec.cache }),
      ...(header === undefined ? {} : { partitionBy: (req) => req.get(header) ?? undefined }),
    });
    cache = middleware.cache;
    app.use(middleware);
    app.use(express.text({ type: '*/*' }));
    app.all(/.*/, (req, res) => {
      const reply = run({
        method: req.method,
        url: req.url,
        originalUrl: req.originalUrl,
        headers: headerRecord(Object.entries(req.headers)),
        body: typeof req.body === 'string' ? req.body : '',
      });
      res.status(reply.status ?? 200);
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.set(name, value);
      res.send(reply.body);
    });
    ({ base, close } = await listen(createServer(app)));
  } else if (adapter === 'koa') {
    const app = new Koa();
    app.on('error', () => undefined);
    const middleware = koaCache({
      ...spec.options,
      ...(spec.cache === undefined ? {} : { cache: spec.cache }),
      ...(header === undefined ? {} : { partitionBy: (ctx) => ctx.get(header) || undefined }),
    });
    cache = middleware.cache;
    app.use(middleware);
    app.use(async (ctx) => {
      let body = '';
      for await (const chunk of ctx.req) body += String(chunk);
      const reply = run({
        method: ctx.method,
        url: ctx.url,
        originalUrl: ctx.originalUrl,
        headers: headerRecord(Object.entries(ctx.headers)),
        body,
      });
      ctx.status = reply.status ?? 200;
      for (const [name, value] of Object.entries(reply.headers ?? {})) ctx.set(name, value);
      ctx.body = reply.body;
    });
    ({ base, close } = await listen(createServer(app.callback())));
  } else {
    const app = new Hono();
    const middleware = honoCache({
      ...spec.options,
      ...(spec.cache === undefined ? {} : { cache: spec.cache }),
      fetch: (request) => app.fetch(request),
      ...(header === undefined ? {} : { partitionBy: (c) => c.req.header(header) ?? undefined }),
    });
    cache = middleware.cache;
    app.use('*', middleware);
    app.all('*', async (c) => {
      const url = new URL(c.req.url);
      const reply = run({
        method: c.req.method,
        url: url.pathname + url.search,
        originalUrl: url.pathname + url.search,
        headers: headerRecord(c.req.raw.headers.entries()),
        body: c.req.raw.body === null ? '' : await c.req.text(),
      });
      for (const [name, value] of Object.entries(reply.headers ?? {})) c.header(name, value);
      return c.body(reply.body, (reply.status ?? 200) as 200);
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    if (!server.listening) await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    close = () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  }

  return {
    base,
    cache,
    seen,
    calls: (path) => counts.get(path) ?? 0,
    get: (path, headers = {}) => fetch(base + path, { headers }),
    close: async () => {
      await close();
    },
  };
}

export interface RawReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * A request fetch() will not send: a GET with a body, or a Host of our choosing.
 */
export function rawRequest(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      base + path,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        setHost: !options.headers?.host,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
