/**
 * The `/metrics` endpoint, framework-neutral: the prom-client registry when one was given (so the
 * application's own metrics come along), else gatecache's own Prometheus text. Open by default,
 * as scrape endpoints usually are on an internal port; give `token` to require a bearer token.
 */
import { invalidOption } from '../errors.ts';
import type { AdminRequest, AdminResponse } from './admin.ts';
import type { CacheMetrics } from './create-metrics.ts';
import { checkToken, tokenVerifier } from './token.ts';

export interface MetricsEndpointOptions {
  readonly metrics: CacheMetrics;
  /** Require `Authorization: Bearer <token>` (at least 16 characters). */
  readonly token?: string;
}

export type MetricsEndpoint = (
  request: Pick<AdminRequest, 'method' | 'headers'>,
) => Promise<AdminResponse>;

export function createMetricsEndpoint(options: MetricsEndpointOptions): MetricsEndpoint {
  const metrics = options?.metrics;
  if (metrics === null || typeof metrics !== 'object' || typeof metrics.prometheus !== 'function') {
    throw invalidOption('metrics', metrics, 'the object createMetrics() returns');
  }
  const verify =
    options.token === undefined ? undefined : tokenVerifier(checkToken('token', options.token));
  return async function metricsEndpoint(request) {
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return { status: 405, headers: { ...headers, allow: 'GET, HEAD' }, body: '' };
    }
    if (verify !== undefined && !verify(request.headers)) {
      return {
        status: 401,
        headers: { ...headers, 'www-authenticate': 'Bearer realm="gatecache"' },
        body: '',
      };
    }
    const registry = metrics.registry;
    const body = registry !== undefined ? await registry.metrics() : metrics.prometheus();
    return {
      status: 200,
      headers: { ...headers, 'content-type': registry?.contentType ?? metrics.contentType },
      body: request.method === 'HEAD' ? '' : body,
    };
  };
}
