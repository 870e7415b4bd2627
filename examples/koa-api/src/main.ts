import Router from '@koa/router';
import { httpCache } from '@gatecache/koa';
import Koa from 'koa';

/**
 * A small catalogue API: the whole app is cached by its own Cache-Control, one route gets a
 * per-route policy on the same engine, a write purges what it changed, and `/stats` shows what
 * the cache did.
 */
const app = new Koa();
const router = new Router();
const products = new Map([
  ['1', { id: '1', name: 'Teapot', price: 18 }],
  ['2', { id: '2', name: 'Kettle', price: 42 }],
]);
let originCalls = 0;

const cache = httpCache({
  ttl: 30,
  partitionBy: (ctx) => ctx.get('x-user') || undefined,
});
app.use(cache);

router.get('/products', (ctx) => {
  originCalls++;
  ctx.set('cache-control', 'public, max-age=60, stale-while-revalidate=30');
  ctx.body = [...products.values()];
});

router.get('/products/:id', (ctx) => {
  originCalls++;
  const product = products.get(ctx.params.id ?? '');
  if (product === undefined) {
    ctx.status = 404;
    ctx.body = { error: 'not found' };
    return;
  }
  ctx.set('cache-control', 'max-age=120');
  ctx.body = product;
});

router.post('/products/:id/price/:price', (ctx) => {
  // A POST invalidates its own URL; the list and the product page are purged explicitly.
  const product = products.get(ctx.params.id ?? '');
  if (product === undefined) {
    ctx.status = 404;
    return;
  }
  product.price = Number(ctx.params.price);
  ctx.body = product;
});

// Per route: a slow report, cached for 10 s whatever it says, on the app's engine.
router.get(
  '/report',
  httpCache({ cache: cache.cache, route: { ttl: 10, override: true } }),
  async (ctx) => {
    originCalls++;
    await new Promise((r) => setTimeout(r, 300));
    ctx.type = 'text/plain';
    ctx.body = `report built at ${new Date().toISOString()}\n`;
  },
);

router.get('/me', (ctx) => {
  originCalls++;
  ctx.set('cache-control', 'private, max-age=60');
  ctx.body = { user: ctx.get('x-user') || 'anonymous' };
});

router.get('/stats', (ctx) => {
  ctx.set('cache-control', 'no-store');
  ctx.body = { originCalls, ...cache.cache.stats };
});

app.use(async (ctx, next) => {
  await next();
  if (ctx.method === 'POST' && ctx.status < 400 && ctx.path.startsWith('/products/')) {
    const id = ctx.path.split('/')[2] ?? '';
    await cache.cache.invalidateUrl('/products', ctx.host);
    await cache.cache.invalidateUrl(`/products/${id}`, ctx.host);
  }
});
app.use(router.routes());
app.use(router.allowedMethods());

const port = Number(process.env['PORT'] ?? 3001);
app.listen(port, () => {
  console.log(`koa-api on http://localhost:${port}`);
  console.log(
    'try: curl -i localhost:%d/products (twice), curl -i -X POST localhost:%d/products/1/price/20',
    port,
    port,
  );
});
