export { httpCache } from './http-cache.ts';
export type { HonoCacheMiddleware, HonoCacheOptions } from './http-cache.ts';
export { purgeEndpoint } from './purge.ts';
export { honoAdmin, honoMetrics } from './admin.ts';
export type { HonoAdminOptions, HonoMetricsOptions } from './admin.ts';
