import { createServer } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpCache } from '@gatecache/core';
import { createInvalidation } from '@gatecache/core/invalidation';
import { httpCache } from '@gatecache/express';
import { listen } from '../support/http.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

describe('a purge that lands during a fetch', () => {
  it('keeps the pre-purge body out of the cache (tag purge mid-fetch, through Express)', async () => {
    const invalidation = createInvalidation();
    const cache = createHttpCache({ validator: invalidation });
    invalidation.attach(cache);
    let calls = 0;
    let version = 'v1';
    let release: (() => void) | undefined;
    let entered: (() => void) | undefined;
    const inOrigin = new Promise<void>((resolve) => (entered = resolve));
    const app = express();
    app.use(httpCache({ cache }));
    app.get('/api/products/1', (_req, res) => {
      calls++;
      const body = `product ${version}`;
      const respond = () => {
        res.set('cache-control', 'max-age=600');
        res.set('cache-tag', 'product:1');
        res.send(body);
      };
      if (calls === 1) {
        // The first fetch reads the old version, then stalls before answering.
        release = respond;
        entered!();
      } else respond();
    });
    const { base, close } = await listen(createServer(app));
    closers.push(close);

    const first = fetch(`${base}/api/products/1`);
    await inOrigin;
    // The write happens and its purge lands while the slow fetch is in flight.
    version = 'v2';
    await invalidation.invalidateTags(['product:1']);
    release!();
    const firstResponse = await first;
    expect(await firstResponse.text()).toBe('product v1');

    const second = await fetch(`${base}/api/products/1`);
    expect(await second.text()).toBe('product v2');
    expect(second.headers.get('cache-status')).toMatch(/fwd=/);
    expect(calls).toBe(2);
    // And what the second request stored is served from then on.
    const third = await fetch(`${base}/api/products/1`);
    expect(await third.text()).toBe('product v2');
    expect(third.headers.get('cache-status')).toMatch(/hit/);
    expect(calls).toBe(2);
    expect(second.headers.get('cache-tag')).toBeNull();
  });
});
