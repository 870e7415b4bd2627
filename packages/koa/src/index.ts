export { httpCache } from './http-cache.ts';
export type { KoaCacheMiddleware, KoaCacheOptions } from './http-cache.ts';
export { purgeEndpoint } from './purge.ts';
