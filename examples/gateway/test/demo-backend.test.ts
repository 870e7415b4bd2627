import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoBackend } from '../src/demo-backend.ts';
import type { DemoBackend } from '../src/demo-backend.ts';
import { request } from './helpers.ts';

let backend: DemoBackend;
beforeAll(async () => {
  backend = await startDemoBackend({ slowMs: 50 });
});
afterAll(async () => {
  await backend.close();
});

const json = (body: Buffer): Record<string, unknown> =>
  JSON.parse(body.toString()) as Record<string, unknown>;

describe('demo backend', () => {
  it('serves a public, cacheable product list of about 1 KB with a call counter', async () => {
    const first = await request(`${backend.url}/api/products`);
    const second = await request(`${backend.url}/api/products`);
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=60');
    expect(first.body.length).toBeGreaterThan(700);
    expect(first.body.length).toBeLessThan(1500);
    expect(first.headers['x-backend-calls']).toBe('1');
    expect(second.headers['x-backend-calls']).toBe('2');
    expect(json(second.body).calls).toBe(2);
    expect(typeof json(second.body).servedAt).toBe('string');
  });

  it('serves single products, and 404 for unknown ones', async () => {
    const found = await request(`${backend.url}/api/products/3`);
    expect(json(found.body).product).toMatchObject({ id: 3 });
    expect(found.headers['cache-control']).toBe('public, max-age=60');
    expect((await request(`${backend.url}/api/products/999`)).status).toBe(404);
  });

  it('marks time as no-store and profiles as private', async () => {
    expect((await request(`${backend.url}/api/time`)).headers['cache-control']).toBe('no-store');
    const profile = await request(`${backend.url}/api/users/7/profile`);
    expect(profile.headers['cache-control']).toBe('private, max-age=60');
    expect(json(profile.body).id).toBe('7');
  });

  it('answers /api/slow after its delay', async () => {
    const res = await request(`${backend.url}/api/slow`);
    expect(res.status).toBe(200);
    expect(json(res.body)).toMatchObject({ slow: true, delayMs: 50 });
  });

  it('creates products with POST, uncacheable', async () => {
    const res = await request(`${backend.url}/api/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Cable', price: 9 }),
    });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(json(res.body).product).toMatchObject({ name: 'Cable', price: 9 });
  });

  it('varies search results by Accept-Language', async () => {
    const de = await request(`${backend.url}/api/search?q=desk`, {
      headers: { 'accept-language': 'de' },
    });
    const en = await request(`${backend.url}/api/search?q=desk`);
    expect(de.headers.vary).toBe('Accept-Language');
    expect(de.headers['cache-control']).toBe('public, max-age=30');
    expect(json(de.body).title).toBe('Suchergebnisse');
    expect(json(en.body).title).toBe('Search results');
    expect(json(en.body).results).toHaveLength(1);
  });
});
