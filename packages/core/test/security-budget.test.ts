import { describe, expect, it } from 'vitest';
import { createHttpCache } from '../src/engine.ts';
import {
  OVERFLOW_BUDGET,
  budgetPerTenant,
  createBudgetedMemoryStore,
} from '../src/security/index.ts';
import {
  createManualClock,
  incompressibleBytes,
  makeEntry,
  runStoreConformance,
} from '../src/testing/index.ts';
import type { OriginOutcome } from '../src/origin.ts';

runStoreConformance('budgeted memory', () => {
  const clock = createManualClock();
  const store = createBudgetedMemoryStore({
    clock,
    // Two budgets by the first character, so the suite's keys spread over more than one LRU.
    budgets: (key) => ({
      name: key.charCodeAt(0) % 2 === 0 ? 'even' : 'odd',
      maxBytes: 64 * 1024 * 1024,
      maxEntries: 10_000,
    }),
  });
  return { store, clock };
});

const KB = 1024;

describe('budgeted memory store', () => {
  const clock = createManualClock();
  const entry = (key: string, bytes = 1000) =>
    makeEntry(key, { body: incompressibleBytes(bytes, key.length + 1) }, clock.now());

  it('a tenant flooding its budget evicts only its own entries', () => {
    const store = createBudgetedMemoryStore({
      clock,
      budgets: budgetPerTenant({ tenant: { maxBytes: 64 * KB, maxEntries: 20 } }),
    });
    const b = (i: number) => `gc1:default~tenantB:h/item/${i}`;
    for (let i = 0; i < 10; i++) store.set(b(i), entry(b(i)), 60_000);
    for (let i = 0; i < 5000; i++) {
      const a = `gc1:default~tenantA:h/flood/${i}`;
      store.set(a, entry(a), 60_000);
    }
    for (let i = 0; i < 10; i++) expect(store.get(b(i)), b(i)).toBeDefined();
    const usageA = store.usageOf('tenant:tenantA')!;
    expect(usageA.entries).toBeLessThanOrEqual(20);
    expect(usageA.bytes).toBeLessThanOrEqual(64 * KB);
    expect(usageA.evictions).toBeGreaterThan(4900);
    expect(store.usageOf('tenant:tenantB')).toMatchObject({ entries: 10, evictions: 0 });
  });

  it('route budgets inside a tenant: a flooded search route leaves the tenant\u2019s other entries', () => {
    const store = createBudgetedMemoryStore({
      clock,
      budgets: budgetPerTenant({
        tenant: { maxBytes: 256 * KB, maxEntries: 100 },
        routes: [{ name: 'search', match: /\/search\?/, maxBytes: 16 * KB, maxEntries: 5 }],
      }),
    });
    const home = 'gc1:default~t1:h/home';
    store.set(home, entry(home), 60_000);
    for (let i = 0; i < 500; i++) {
      const key = `gc1:default~t1:h/search?q=${i}`;
      store.set(key, entry(key), 60_000);
    }
    expect(store.get(home)).toBeDefined();
    expect(store.usageOf('tenant:t1|route:search')!.entries).toBe(5);
    expect(store.usageOf('tenant:t1')!.entries).toBe(1);
  });

  it('new budget names beyond maxBudgets share the overflow budget instead of evicting held ones', () => {
    const store = createBudgetedMemoryStore({
      clock,
      maxBudgets: 3,
      overflow: { maxBytes: 32 * KB, maxEntries: 4 },
      budgets: (key) => ({ name: key.split('/')[0]!, maxBytes: 64 * KB, maxEntries: 10 }),
    });
    for (const name of ['a', 'b', 'c']) store.set(`${name}/1`, entry(`${name}/1`), 60_000);
    for (let i = 0; i < 100; i++) store.set(`x${i}/1`, entry(`x${i}/1`), 60_000);
    for (const name of ['a', 'b', 'c']) expect(store.get(`${name}/1`)).toBeDefined();
    expect(store.usageOf(OVERFLOW_BUDGET)!.entries).toBe(4);
    // A held budget that empties gives its slot back.
    store.delete('a/1');
    store.set('y/1', entry('y/1'), 60_000);
    expect(store.usageOf('y')!.entries).toBe(1);
    expect(store.usageOf('a')).toBeUndefined();
  });

  it('a key moved out of the overflow budget leaves no older copy behind', () => {
    const store = createBudgetedMemoryStore({
      clock,
      maxBudgets: 1,
      budgets: (key) => ({ name: key.split('/')[0]!, maxBytes: 64 * KB, maxEntries: 10 }),
    });
    store.set('a/1', entry('a/1'), 60_000);
    store.set('b/1', makeEntry('b/1', { status: 200 }, clock.now()), 60_000);
    expect(store.usageOf(OVERFLOW_BUDGET)!.entries).toBe(1);
    store.delete('a/1');
    store.set('b/1', makeEntry('b/1', { status: 203 }, clock.now()), 60_000);
    expect(store.usageOf('b')!.entries).toBe(1);
    expect(store.usageOf(OVERFLOW_BUDGET)!.entries).toBe(0);
    store.delete('b/1');
    expect(store.get('b/1')).toBeUndefined();
  });

  it('validates budgets: at creation for fixed limits, at first use for resolved ones', () => {
    expect(() => budgetPerTenant({ tenant: { maxBytes: 10, maxEntries: 1 } })).toThrow(
      /tenant.maxBytes/,
    );
    expect(() =>
      createBudgetedMemoryStore({ budgets: () => ({ name: 'x', maxBytes: 1, maxEntries: 1 }) }),
    ).not.toThrow();
    const store = createBudgetedMemoryStore({
      budgets: () => ({ name: 'x', maxBytes: 1, maxEntries: 1 }),
    });
    expect(() => store.set('k', entry('k'), 1000)).toThrow(/budgets\("x"\)\.maxBytes/);
  });

  it('serves as the engine\u2019s store: tenant B keeps hitting while tenant A floods', async () => {
    const store = createBudgetedMemoryStore({
      clock,
      budgets: budgetPerTenant({ tenant: { maxBytes: 32 * KB, maxEntries: 8 } }),
    });
    const cache = createHttpCache({
      store,
      clock,
      tenant: (request) => request.headers['x-tenant'] as string | undefined,
    });
    let calls = 0;
    const origin = (call: Parameters<Parameters<typeof cache.handle>[1]>[0]) => {
      calls++;
      const headers: Array<[string, string]> = [
        ['cache-control', 'max-age=600'],
        ['content-type', 'text/plain'],
      ];
      const body = new TextEncoder().encode('x'.repeat(500));
      call.head(200, headers, body);
      return Promise.resolve({
        status: 200,
        headers,
        body,
        complete: true,
      } satisfies OriginOutcome);
    };
    const get = (tenant: string, url: string) =>
      cache.handle({ method: 'GET', url, host: 'h', headers: { 'x-tenant': tenant } }, origin);
    for (let i = 0; i < 5; i++) await get('b', `/b/${i}`);
    for (let i = 0; i < 200; i++) await get('a', `/a/${i}`);
    const before = calls;
    for (let i = 0; i < 5; i++) await get('b', `/b/${i}`);
    expect(calls).toBe(before);
  });
});
