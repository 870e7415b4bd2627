/** A small API behind the gatecache Express middleware, with metrics and the admin endpoint. */
import { createServer } from 'node:http';
import express from 'express';
import { createMemoryStore, type Clock } from '@gatecache/core';
import { compilePolicies } from '@gatecache/core/config';
import { createMetrics, type CacheMetrics, type MetricsOptions } from '@gatecache/core/metrics';
import { httpCache, mountAdmin, type ExpressCacheMiddleware } from '@gatecache/express';
import { listen } from '../support/http.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export const RULES = [
  { name: 'products', pattern: '/products/*', ttl: 60, tags: ['products'] },
  { name: 'me', pattern: '/me', ttl: 30, private: true },
  { name: 'search', pattern: '/search', ttl: 30 },
] as const;

export interface Gateway {
  readonly base: string;
  readonly metrics: CacheMetrics;
  readonly middleware: ExpressCacheMiddleware;
  /** Origin calls by path. */
  readonly originCalls: Map<string, number>;
  close(): Promise<void>;
}

export async function startGateway(
  options: {
    clock?: Clock;
    metrics?: MetricsOptions;
    maxBytes?: number;
    maxEntries?: number;
    token?: string | undefined;
  } = {},
): Promise<Gateway> {
  const metrics = createMetrics({
    ...(options.clock && { clock: options.clock }),
    ...options.metrics,
  });
  const store = createMemoryStore({
    ...(options.clock && { clock: options.clock }),
    maxBytes: options.maxBytes ?? 1024 * 1024,
    maxEntries: options.maxEntries ?? 1000,
  });
  const middleware = httpCache({
    store,
    ...(options.clock && { clock: options.clock }),
    policy: compilePolicies([...RULES]),
    onEvent: metrics.onEvent,
  });
  metrics.observe(middleware.cache);
  const originCalls = new Map<string, number>();
  const app = express();
  mountAdmin(app, {
    cache: middleware.cache,
    metrics,
    token: 'token' in options ? options.token : ADMIN_TOKEN,
  });
  app.use(middleware);
  app.use((req, _res, next) => {
    originCalls.set(req.path, (originCalls.get(req.path) ?? 0) + 1);
    next();
  });
  app.get('/products/:id', (req, res) => {
    res.json({
      id: req.params.id,
      name: `product ${req.params.id}`,
      pad: 'p'.repeat(Number(req.query['size'] ?? 0)),
    });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.headers.authorization?.slice(-4) ?? null });
  });
  app.get('/search', (req, res) => {
    res.set('vary', 'accept-language');
    res.json({ q: req.query['q'] ?? '', lang: req.headers['accept-language'] ?? null });
  });
  app.post('/products/:id', (_req, res) => {
    res.status(204).end();
  });
  const server = createServer(app);
  const { base, close } = await listen(server);
  return {
    base,
    metrics,
    middleware,
    originCalls,
    close: async () => {
      metrics.close();
      await close();
    },
  };
}

/** The value of one series in Prometheus text, or undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

export const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
