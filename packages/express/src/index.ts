export { httpCache } from './http-cache.ts';
export type { ExpressCacheMiddleware, ExpressCacheOptions } from './http-cache.ts';
