import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoBackend } from '../src/demo-backend.ts';
import type { DemoBackend } from '../src/demo-backend.ts';
import { request, startGateway } from './helpers.ts';

let backend: DemoBackend;
let gw: Awaited<ReturnType<typeof startGateway>>;
beforeAll(async () => {
  backend = await startDemoBackend();
  gw = await startGateway({ upstream: backend.url, cache: false });
});
afterAll(async () => {
  await gw.close();
  await backend.close();
});

describe('gateway in front of the demo backend', () => {
  it('proxies every route to the backend, with no header of its own', async () => {
    const res = await request(`${gw.url}/api/products/2`);
    expect(res.status).toBe(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect((JSON.parse(res.body.toString()) as { product: { id: number } }).product.id).toBe(2);
    expect(backend.calls.get('GET /api/products/:id')).toBe(1);
  });

  it('forwards POST bodies', async () => {
    const res = await request(`${gw.url}/api/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Adapter', price: 12 }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.location).toMatch(/^\/api\/products\/\d+$/);
  });
});
