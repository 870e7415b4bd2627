/**
 * The admin endpoint (stats, inspect, purge, dashboard) on Express. Off unless mounted with a
 * token: `mountAdmin(app, { cache, metrics, token: process.env.GATECACHE_ADMIN_TOKEN })` does
 * nothing when the token is unset.
 */
import type { HttpCache } from '@gatecache/core';
import {
  createAdminHandler,
  type AdminOptions,
  type AdminResponse,
  type CacheMetrics,
} from '@gatecache/core/metrics';
import type { NextFunction, Request, Response } from 'express';
import { metricsHandler } from './metrics-handler.ts';

export type ExpressAdminOptions = AdminOptions;

/** Reads the body of a request nobody parsed yet, up to `limit` bytes. */
async function readBody(req: Request, limit: number): Promise<string | undefined> {
  const parsed: unknown = (req as Request & { body?: unknown }).body;
  if (typeof parsed === 'string') return parsed;
  if (Buffer.isBuffer(parsed)) return parsed.toString('utf8');
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object') {
    return JSON.stringify(parsed);
  }
  if (req.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // One byte over the limit is enough for the handler to answer 413.
    if (size > limit) return 'x'.repeat(limit + 1);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendAdminResponse(res: Response, response: AdminResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(response.body);
}

/** Express handler for the admin routes; mount it under a path: `app.use('/_gatecache', adminRouter(...))`. */
export function adminRouter(
  options: ExpressAdminOptions,
): (req: Request, res: Response, next: NextFunction) => void {
  const handle = createAdminHandler(options);
  const limit = options.maxBodyBytes ?? 64 * 1024;
  return function gatecacheAdmin(req: Request, res: Response, next: NextFunction): void {
    const run = async (): Promise<void> => {
      const body = req.method === 'POST' ? await readBody(req, limit) : undefined;
      const response = await handle({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body,
      });
      sendAdminResponse(res, response);
    };
    run().catch(next);
  };
}

export interface MountAdminOptions extends Omit<ExpressAdminOptions, 'token' | 'cache'> {
  readonly cache: HttpCache;
  /** The admin secret. When undefined or empty, nothing is mounted (the endpoint is off). */
  readonly token: string | undefined;
  readonly metrics?: CacheMetrics;
  /** Where the admin routes live. Default `/_gatecache`. */
  readonly path?: string;
  /** Where Prometheus scrapes; `false` for none. Default `/metrics` (when `metrics` is given). */
  readonly metricsPath?: string | false;
  /** Require the admin token on `/metrics` too. Default false. */
  readonly protectMetrics?: boolean;
}

interface Mountable {
  use(
    path: string,
    ...handlers: Array<(req: Request, res: Response, next: NextFunction) => void>
  ): unknown;
}

/**
 * Mounts the admin routes (and `/metrics`) on an Express app or router. Returns whether anything
 * was mounted: without a token the endpoint stays off.
 */
export function mountAdmin(app: Mountable, options: MountAdminOptions): boolean {
  const {
    path = '/_gatecache',
    metricsPath = '/metrics',
    protectMetrics = false,
    ...rest
  } = options;
  if (options.token === undefined || options.token === '') return false;
  app.use(path, adminRouter({ ...rest, token: options.token }));
  if (options.metrics !== undefined && metricsPath !== false) {
    const handler = metricsHandler({
      metrics: options.metrics,
      ...(protectMetrics && { token: options.token }),
    });
    // Under app.use the mount path is stripped: only the exact path is the endpoint.
    app.use(metricsPath, (req, res, next) => {
      if (req.path === '/') handler(req, res, next);
      else next();
    });
  }
  return true;
}
