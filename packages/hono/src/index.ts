export { httpCache } from './http-cache.ts';
export type { HonoCacheMiddleware, HonoCacheOptions } from './http-cache.ts';
export { purgeEndpoint } from './purge.ts';
