/**
 * A small JSON API to put behind the gateway. Each route shows one caching behaviour, and every
 * response carries `X-Backend-Calls` (how often this backend has run that route) and `servedAt`,
 * so a cache hit is visible: the counter and the time stand still.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Response } from 'express';

export interface Product {
  readonly id: number;
  readonly name: string;
  readonly price: number;
  readonly currency: string;
  readonly stock: number;
  readonly category: string;
}

const CATALOGUE: readonly Product[] = [
  {
    id: 1,
    name: 'Mechanical keyboard',
    price: 129,
    currency: 'EUR',
    stock: 42,
    category: 'keyboards',
  },
  { id: 2, name: 'Wireless mouse', price: 49, currency: 'EUR', stock: 120, category: 'mice' },
  { id: 3, name: '27-inch monitor', price: 289, currency: 'EUR', stock: 17, category: 'displays' },
  { id: 4, name: 'USB-C dock', price: 159, currency: 'EUR', stock: 33, category: 'docks' },
  {
    id: 5,
    name: 'Noise-cancelling headphones',
    price: 249,
    currency: 'EUR',
    stock: 25,
    category: 'audio',
  },
  { id: 6, name: 'Webcam 1080p', price: 79, currency: 'EUR', stock: 64, category: 'video' },
  { id: 7, name: 'Laptop stand', price: 39, currency: 'EUR', stock: 88, category: 'furniture' },
  { id: 8, name: 'Desk lamp', price: 59, currency: 'EUR', stock: 51, category: 'lighting' },
];

const GREETINGS: Record<string, string> = {
  de: 'Suchergebnisse',
  fr: 'Résultats de recherche',
  en: 'Search results',
};

export interface DemoBackend {
  readonly server: http.Server;
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  /** How often each route ran, by route pattern (`GET /api/products`). */
  readonly calls: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface DemoBackendOptions {
  readonly port?: number;
  readonly host?: string;
  /** Delay of `GET /api/slow`. */
  readonly slowMs?: number;
}

export function createDemoApp(calls: Map<string, number>, slowMs = 500): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const products = [...CATALOGUE];

  const count = (res: Response, route: string): number => {
    const n = (calls.get(route) ?? 0) + 1;
    calls.set(route, n);
    res.setHeader('X-Backend-Calls', String(n));
    return n;
  };
  const servedAt = (): string => new Date().toISOString();

  app.get('/api/products', (req, res) => {
    const n = count(res, 'GET /api/products');
    res.setHeader('Cache-Control', 'public, max-age=60');
    // Surrogate keys: a purge of the tag drops every response carrying it. Caches strip the field.
    res.setHeader('Cache-Tag', 'products');
    res.json({ products, total: products.length, calls: n, servedAt: servedAt() });
  });

  app.get('/api/products/:id', (req, res) => {
    const n = count(res, 'GET /api/products/:id');
    const product = products.find((p) => String(p.id) === req.params.id);
    if (product === undefined) {
      res.setHeader('Cache-Control', 'public, max-age=10');
      res
        .status(404)
        .json({ error: 'not_found', id: req.params.id, calls: n, servedAt: servedAt() });
      return;
    }
    res.setHeader('Cache-Control', 'public, max-age=60');
    res.setHeader('Cache-Tag', `products, product:${product.id}`);
    res.json({ product, calls: n, servedAt: servedAt() });
  });

  app.post('/api/products', express.json(), (req, res) => {
    const n = count(res, 'POST /api/products');
    const body = (req.body ?? {}) as Partial<Product>;
    const product: Product = {
      id: products.length + 1,
      name: typeof body.name === 'string' ? body.name : 'Unnamed product',
      price: typeof body.price === 'number' ? body.price : 0,
      currency: 'EUR',
      stock: 0,
      category: typeof body.category === 'string' ? body.category : 'misc',
    };
    products.push(product);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Location', `/api/products/${product.id}`);
    res.status(201).json({ product, calls: n, servedAt: servedAt() });
  });

  app.get('/api/time', (req, res) => {
    const n = count(res, 'GET /api/time');
    res.setHeader('Cache-Control', 'no-store');
    res.json({ now: servedAt(), calls: n });
  });

  app.get('/api/users/:id/profile', (req, res) => {
    const n = count(res, 'GET /api/users/:id/profile');
    // Per-user data: a shared cache must not keep it (RFC 9111 §5.2.2.7).
    res.setHeader('Cache-Control', 'private, max-age=60');
    res.json({
      id: req.params.id,
      name: `User ${req.params.id}`,
      plan: 'pro',
      calls: n,
      servedAt: servedAt(),
    });
  });

  app.get('/api/slow', (req, res) => {
    const n = count(res, 'GET /api/slow');
    const timer = setTimeout(() => {
      res.setHeader('Cache-Control', 'public, max-age=10');
      res.json({ slow: true, delayMs: slowMs, calls: n, servedAt: servedAt() });
    }, slowMs);
    res.on('close', () => clearTimeout(timer));
  });

  app.get('/api/search', (req, res) => {
    const n = count(res, 'GET /api/search');
    const q = typeof req.query.q === 'string' ? req.query.q.toLowerCase() : '';
    const language = req.acceptsLanguages('en', 'de', 'fr') || 'en';
    res.setHeader('Cache-Control', 'public, max-age=30');
    res.setHeader('Vary', 'Accept-Language');
    res.setHeader('Content-Language', language);
    res.json({
      title: GREETINGS[language],
      q,
      results: products.filter((p) => p.name.toLowerCase().includes(q)),
      calls: n,
      servedAt: servedAt(),
    });
  });

  app.use((req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(404).json({ error: 'not_found', path: req.path });
  });
  return app;
}

/** Starts the demo backend, on a free loopback port unless `port` is given. */
export async function startDemoBackend(options: DemoBackendOptions = {}): Promise<DemoBackend> {
  const calls = new Map<string, number>();
  const server = http.createServer(createDemoApp(calls, options.slowMs));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeIdleConnections();
      }),
  };
}
