export { httpCache } from './http-cache.ts';
export type { ExpressCacheMiddleware, ExpressCacheOptions } from './http-cache.ts';
export { runThroughApp } from './background.ts';
export { purgeEndpoint } from './purge.ts';
