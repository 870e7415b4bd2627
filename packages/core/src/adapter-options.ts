import type { CachePolicy } from './types.ts';
import { createHttpCache, type HttpCache, type HttpCacheOptions } from './engine.ts';
import { invalidOption } from './errors.ts';

/** The options every adapter takes beyond the engine's own, `Req` being its request or context. */
export interface AdapterOptions<Req> extends HttpCacheOptions {
  /** An engine to share between middlewares (app-level and per-route, or several routers). */
  readonly cache?: HttpCache;
  /** Options for this route only, over the engine's options and rules (with `cache`). */
  readonly route?: CachePolicy;
  /** The user of a request, for private caching (for example the user id). Hashed, never stored. */
  readonly partitionBy?: (request: Req) => string | undefined;
}

export interface ResolvedAdapterOptions<Req> {
  readonly cache: HttpCache;
  /** Per-route policy handed to every `serve` call, or undefined. */
  readonly overrides: CachePolicy | undefined;
  readonly partitionBy: ((request: Req) => string | undefined) | undefined;
}

/**
 * Validates an adapter's options once and builds (or shares) its engine. A `ttl` given with a
 * shared engine belongs to this route only.
 */
export function resolveAdapterOptions<Req>(
  options: AdapterOptions<Req>,
): ResolvedAdapterOptions<Req> {
  const { cache: shared, route, partitionBy, ...engineOptions } = options;
  if (partitionBy !== undefined && typeof partitionBy !== 'function') {
    throw invalidOption('partitionBy', partitionBy, 'a function');
  }
  const cache = shared ?? createHttpCache(engineOptions);
  const overrides: CachePolicy | undefined =
    shared !== undefined && engineOptions.ttl !== undefined
      ? { ...route, ttl: engineOptions.ttl }
      : route;
  return { cache, overrides, partitionBy };
}
