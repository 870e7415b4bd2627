import { httpCache } from '@gatecache/hono';
import { Hono } from 'hono';

/**
 * The app, runtime-neutral: `main.ts` serves it on Node; the same module can be the default
 * export of a Workers, Bun or Deno entry (`export default app`).
 */
export const app = new Hono();
let originCalls = 0;
const quotes = ['Simple is better than complex.', 'Make it work, make it right, make it fast.'];

const cache = httpCache({
  ttl: 30,
  // Background refresh (stale-while-revalidate) runs the request through the app itself.
  fetch: (request) => app.fetch(request),
  partitionBy: (c) => c.req.header('x-user'),
});
app.use('*', cache);

app.get('/quotes', (c) => {
  originCalls++;
  return c.json(quotes, 200, { 'cache-control': 'public, max-age=60, stale-while-revalidate=30' });
});

app.get('/quotes/:n', (c) => {
  originCalls++;
  const quote = quotes[Number(c.req.param('n'))];
  if (quote === undefined) return c.json({ error: 'not found' }, 404);
  return c.text(quote, 200, { 'cache-control': 'max-age=120' });
});

app.post('/quotes', async (c) => {
  quotes.push(await c.req.text());
  // The POST invalidated /quotes on its own (RFC 9111 §4.4).
  return c.json({ count: quotes.length }, 201);
});

// A stream: sent to the client as it is produced, stored once it completed.
app.get('/ticker', (c) => {
  originCalls++;
  let i = 0;
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((r) => setTimeout(r, 200));
      if (i === 5) controller.close();
      else controller.enqueue(encoder.encode(`tick ${i++}\n`));
    },
  });
  return c.body(body, 200, { 'content-type': 'text/plain', 'cache-control': 'max-age=20' });
});

app.get('/me', (c) => {
  originCalls++;
  return c.json({ user: c.req.header('x-user') ?? 'anonymous' }, 200, {
    'cache-control': 'private, max-age=60',
  });
});

// Per route, on the same engine: cached for 10 s whatever the handler says.
app.get(
  '/report',
  httpCache({ cache: cache.cache, route: { ttl: 10, override: true } }),
  async (c) => {
    originCalls++;
    await new Promise((r) => setTimeout(r, 300));
    return c.text(`report built at ${new Date().toISOString()}\n`);
  },
);

app.get('/stats', (c) =>
  c.json({ originCalls, ...cache.cache.stats }, 200, { 'cache-control': 'no-store' }),
);
