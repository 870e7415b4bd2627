/** The rows of the throughput table, in the order each round runs them. */
import type { ServerSpec } from './children.ts';

export type Framework = 'Express' | 'Koa' | 'Hono';

export type RowKind =
  | 'bare'
  | 'aa'
  | 'origin'
  | 'gatecache-l1'
  | 'gatecache-l2'
  | 'gatecache-miss'
  | 'raw-redis'
  | 'peer'
  | 'ceiling';

export interface Row {
  readonly id: string;
  readonly framework: Framework;
  readonly label: string;
  readonly kind: RowKind;
  readonly server: ServerSpec;
  /** Every request to its own URL, so that a cache in front always misses. */
  readonly distinctUrls: boolean;
  readonly needsRedis: boolean;
}

function row(
  framework: Framework,
  kind: RowKind,
  label: string,
  file: string,
  variant: string,
  extra: { distinctUrls?: boolean; needsRedis?: boolean } = {},
): Row {
  return {
    id: `${framework.toLowerCase()}:${label}`,
    framework,
    label,
    kind,
    server: { file, variant },
    distinctUrls: extra.distinctUrls ?? false,
    needsRedis: extra.needsRedis ?? false,
  };
}

export const ROWS: readonly Row[] = [
  row('Express', 'bare', 'bare', 'express-bare.ts', 'bare'),
  row('Express', 'aa', 'bare (A/A copy)', 'express-bare.ts', 'aa'),
  row('Express', 'origin', 'origin (20 ms)', 'express-bare.ts', 'origin', { distinctUrls: true }),
  row('Express', 'ceiling', 'Map middleware (ceiling)', 'ceilings.ts', 'express-map'),
  row('Express', 'gatecache-l1', 'gatecache L1 hit', 'express-gatecache.ts', 'l1'),
  row('Express', 'gatecache-l1', 'gatecache L1 hit (front)', 'express-gatecache.ts', 'l1-front'),
  row('Express', 'gatecache-l2', 'gatecache L2 hit (Redis)', 'express-gatecache.ts', 'l2', {
    needsRedis: true,
  }),
  row(
    'Express',
    'gatecache-l2',
    'gatecache L2 hit (Redis, front)',
    'express-gatecache.ts',
    'l2-front',
    {
      needsRedis: true,
    },
  ),
  row('Express', 'gatecache-miss', 'gatecache miss', 'express-gatecache.ts', 'l1', {
    distinctUrls: true,
  }),
  row('Express', 'raw-redis', 'raw ioredis GET', 'express-redis.ts', 'raw', { needsRedis: true }),
  row('Express', 'peer', 'apicache (memory)', 'express-apicache.ts', 'memory'),
  row('Express', 'peer', 'apicache (Redis)', 'express-apicache.ts', 'redis', { needsRedis: true }),
  row('Koa', 'bare', 'bare', 'koa-bare.ts', 'bare'),
  row('Koa', 'origin', 'origin (20 ms)', 'koa-bare.ts', 'origin', { distinctUrls: true }),
  row('Koa', 'ceiling', 'Map middleware (ceiling)', 'ceilings.ts', 'koa-map'),
  row('Koa', 'gatecache-l1', 'gatecache L1 hit', 'koa-gatecache.ts', 'l1'),
  row('Koa', 'gatecache-l1', 'gatecache L1 hit (front)', 'koa-gatecache.ts', 'l1-front'),
  row('Koa', 'gatecache-l2', 'gatecache L2 hit (Redis)', 'koa-gatecache.ts', 'l2', {
    needsRedis: true,
  }),
  row('Koa', 'gatecache-l2', 'gatecache L2 hit (Redis, front)', 'koa-gatecache.ts', 'l2-front', {
    needsRedis: true,
  }),
  row('Koa', 'gatecache-miss', 'gatecache miss', 'koa-gatecache.ts', 'l1', { distinctUrls: true }),
  row('Koa', 'raw-redis', 'raw ioredis GET', 'koa-redis.ts', 'raw', { needsRedis: true }),
  row('Koa', 'peer', 'koa-cash (lru-cache)', 'koa-cash.ts', 'lru'),
  row('Hono', 'bare', 'bare', 'hono-bare.ts', 'bare'),
  row('Hono', 'origin', 'origin (20 ms)', 'hono-bare.ts', 'origin', { distinctUrls: true }),
  row('Hono', 'ceiling', 'Map middleware (ceiling)', 'ceilings.ts', 'hono-map'),
  row('Hono', 'gatecache-l1', 'gatecache L1 hit', 'hono-gatecache.ts', 'l1'),
  row('Hono', 'ceiling', 'node:http alone (ceiling for front)', 'ceilings.ts', 'node'),
  row('Hono', 'gatecache-l1', 'gatecache L1 hit (front)', 'hono-gatecache.ts', 'l1-front'),
  row('Hono', 'gatecache-l2', 'gatecache L2 hit (Redis)', 'hono-gatecache.ts', 'l2', {
    needsRedis: true,
  }),
  row('Hono', 'gatecache-l2', 'gatecache L2 hit (Redis, front)', 'hono-gatecache.ts', 'l2-front', {
    needsRedis: true,
  }),
  row('Hono', 'gatecache-miss', 'gatecache miss', 'hono-gatecache.ts', 'l1', {
    distinctUrls: true,
  }),
  row('Hono', 'raw-redis', 'raw ioredis GET', 'hono-redis.ts', 'raw', { needsRedis: true }),
];
