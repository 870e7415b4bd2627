export { createMemcachedStore, MemcachedBackend } from './memcached-store.ts';
export type { MemcachedStore, MemcachedStoreOptions } from './memcached-store.ts';
