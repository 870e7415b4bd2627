/**
 * The one response body every server sends: a product listing of about 1 KB, serialized once so
 * that "bare" rows measure the framework, not JSON.stringify.
 */
const products = Array.from({ length: 7 }, (_, index) => ({
  id: 1000 + index,
  sku: `GC-${String(index).padStart(4, '0')}`,
  name: `Product number ${index + 1}`,
  price: { amount: 1999 + index * 250, currency: 'EUR' },
  stock: 40 + index * 3,
  tags: ['catalog', 'featured'],
}));

export const PRODUCTS_PATH = '/api/products';

/** The body for a given request target; `ref` keeps distinct URLs' bodies distinct in memory. */
export function productsBody(ref: string = PRODUCTS_PATH): string {
  return JSON.stringify({ ref, count: products.length, products });
}

export const BODY = productsBody();
export const BODY_BYTES = Buffer.byteLength(BODY);
export const CONTENT_TYPE = 'application/json; charset=utf-8';
/**
 * Lifetime of every cached response, in seconds (BENCH_MAX_AGE, default 60). The memory mode raises
 * it so that no entry expires while the cache is being filled.
 */
export const MAX_AGE_SECONDS = Number(process.env.BENCH_MAX_AGE ?? 60);
/** Sent by every origin so that a cache with default options stores the response (RFC 9111 §5.2.2.1). */
export const ORIGIN_CACHE_CONTROL = `public, max-age=${MAX_AGE_SECONDS}`;
