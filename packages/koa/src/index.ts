export { httpCache } from './http-cache.ts';
export type { KoaCacheMiddleware, KoaCacheOptions } from './http-cache.ts';
export type { FrontMountOptions } from '@gatecache/core/front';
export { purgeEndpoint } from './purge.ts';
export { koaAdmin, koaMetrics } from './admin.ts';
export type { KoaAdminOptions, KoaMetricsOptions } from './admin.ts';
