export { httpCache } from './http-cache.ts';
export type { HonoCacheMiddleware, HonoCacheOptions } from './http-cache.ts';
export type { FrontMountOptions } from '@gatecache/core/front';
export { purgeEndpoint } from './purge.ts';
export { honoAdmin, honoMetrics } from './admin.ts';
export type { HonoAdminOptions, HonoMetricsOptions } from './admin.ts';
