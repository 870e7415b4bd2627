/**
 * The admin endpoint (stats, inspect, purge, dashboard) and `/metrics` on Hono:
 * `app.use(honoAdmin({ cache, metrics, token }))`. Off unless given a token.
 */
import {
  createAdminHandler,
  createMetricsEndpoint,
  type AdminOptions,
  type AdminResponse,
  type MetricsEndpointOptions,
} from '@gatecache/core/metrics';
import type { RequestHeaders } from '@gatecache/core';
import type { MiddlewareHandler } from 'hono';

export interface HonoAdminOptions extends AdminOptions {
  /** Where the admin routes live. Default `/_gatecache`. */
  readonly path?: string;
}

function toResponse(response: AdminResponse): Response {
  return new Response(response.body === '' ? null : response.body, {
    status: response.status,
    headers: response.headers,
  });
}

function headersOf(request: Request): RequestHeaders {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

export function honoAdmin(options: HonoAdminOptions): MiddlewareHandler {
  const { path = '/_gatecache', ...rest } = options;
  const handle = createAdminHandler(rest);
  const limit = rest.maxBodyBytes ?? 64 * 1024;
  return async function gatecacheAdmin(c, next) {
    const url = new URL(c.req.url);
    if (url.pathname !== path && !url.pathname.startsWith(path + '/')) return next();
    let body: string | undefined;
    if (c.req.method === 'POST') {
      body = await c.req.text();
      if (body.length > limit) body = body.slice(0, limit + 1);
    }
    const response = await handle({
      method: c.req.method,
      url: (url.pathname.slice(path.length) || '/') + url.search,
      headers: headersOf(c.req.raw),
      body,
    });
    return toResponse(response);
  };
}

export interface HonoMetricsOptions extends MetricsEndpointOptions {
  /** Default `/metrics`. */
  readonly path?: string;
}

export function honoMetrics(options: HonoMetricsOptions): MiddlewareHandler {
  const { path = '/metrics', ...rest } = options;
  const endpoint = createMetricsEndpoint(rest);
  return async function gatecacheMetrics(c, next) {
    if (new URL(c.req.url).pathname !== path) return next();
    return toResponse(await endpoint({ method: c.req.method, headers: headersOf(c.req.raw) }));
  };
}
