export { httpCache } from './http-cache.ts';
export type { ExpressCacheMiddleware, ExpressCacheOptions } from './http-cache.ts';
export type { FrontMountOptions } from '@gatecache/core/front';
export { runThroughNodeApp as runThroughApp } from '@gatecache/core/node';
export { purgeEndpoint } from './purge.ts';
export { adminRouter, mountAdmin, sendAdminResponse } from './admin.ts';
export type { ExpressAdminOptions, MountAdminOptions } from './admin.ts';
export { metricsHandler } from './metrics-handler.ts';
