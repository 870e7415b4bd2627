/**
 * The admin endpoint (stats, inspect, purge, dashboard) and `/metrics` on Koa:
 * `app.use(koaAdmin({ cache, metrics, token }))`. Off unless given a token.
 */
import {
  createAdminHandler,
  createMetricsEndpoint,
  type AdminOptions,
  type AdminResponse,
  type MetricsEndpointOptions,
} from '@gatecache/core/metrics';
import type { Context, Next } from 'koa';

export interface KoaAdminOptions extends AdminOptions {
  /** Where the admin routes live. Default `/_gatecache`. */
  readonly path?: string;
}

function respond(ctx: Context, response: AdminResponse): void {
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) ctx.set(name, value);
  ctx.body = response.body;
}

async function readBody(ctx: Context, limit: number): Promise<string | undefined> {
  const parsed: unknown = (ctx.request as { body?: unknown }).body;
  if (typeof parsed === 'string') return parsed;
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object')
    return JSON.stringify(parsed);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return 'x'.repeat(limit + 1);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function koaAdmin(options: KoaAdminOptions): (ctx: Context, next: Next) => Promise<void> {
  const { path = '/_gatecache', ...rest } = options;
  const handle = createAdminHandler(rest);
  const limit = rest.maxBodyBytes ?? 64 * 1024;
  return async function gatecacheAdmin(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== path && !ctx.path.startsWith(path + '/')) {
      await next();
      return;
    }
    const body = ctx.method === 'POST' ? await readBody(ctx, limit) : undefined;
    const url = ctx.url.slice(path.length) || '/';
    respond(
      ctx,
      await handle({
        method: ctx.method,
        url: url.startsWith('/') ? url : '/' + url,
        headers: ctx.headers,
        body,
      }),
    );
  };
}

export interface KoaMetricsOptions extends MetricsEndpointOptions {
  /** Default `/metrics`. */
  readonly path?: string;
}

export function koaMetrics(
  options: KoaMetricsOptions,
): (ctx: Context, next: Next) => Promise<void> {
  const { path = '/metrics', ...rest } = options;
  const endpoint = createMetricsEndpoint(rest);
  return async function gatecacheMetrics(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== path) {
      await next();
      return;
    }
    respond(ctx, await endpoint({ method: ctx.method, headers: ctx.headers }));
  };
}
