import { afterEach, describe, expect, it } from 'vitest';
import { ADAPTERS } from '../src/gateway.ts';
import { request, startGateway, startUpstream, until } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

describe.each(ADAPTERS)('background refresh on %s', (adapter) => {
  it('serves a stale entry at once and refreshes it through the proxy without a client', async () => {
    let calls = 0;
    const upstream = await startUpstream((_req, res) => {
      calls++;
      res.setHeader('cache-control', 'max-age=1, stale-while-revalidate=30');
      res.end(`version ${calls}`);
    });
    cleanup.push(() => upstream.close());
    let now = Date.parse('2026-01-01T00:00:00Z');
    const gw = await startGateway({
      upstream: upstream.url,
      adapter,
      cache: { clock: { now: () => now } },
    });
    cleanup.push(() => gw.close());

    expect((await request(`${gw.url}/page`)).body.toString()).toBe('version 1');
    now += 5_000;
    const stale = await request(`${gw.url}/page`);
    expect(stale.body.toString()).toBe('version 1');
    expect(stale.headers['cache-status']).toMatch(/hit; .*detail=stale-while-revalidate/);
    // The refresh goes to the upstream on its own, and its answer replaces the entry.
    expect(await until(() => calls === 2)).toBe(true);
    expect(
      await until(async () => (await request(`${gw.url}/page`)).body.toString() === 'version 2'),
    ).toBe(true);
    expect(calls).toBe(2);
  });
});
