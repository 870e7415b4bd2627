import { describe, expect, it } from 'vitest';
import {
  createHttpCache,
  createMemoryStore,
  createTieredStore,
  withResilience,
  type CacheRequest,
  type Origin,
} from '@gatecache/core';
import { createMetrics } from '@gatecache/core/metrics';
import { createFaultyStore, createManualClock } from '@gatecache/core/testing';

function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

const get = (url: string): CacheRequest => ({ method: 'GET', url, host: 'h', headers: {} });
const body = new TextEncoder().encode('payload');
const ok: Origin = (call) => {
  const action = call.head(200, [], body);
  return Promise.resolve({
    status: 200,
    headers: [],
    body: action.capture ? body : undefined,
    complete: true,
  });
};

describe('metrics per tier', () => {
  it('tells which tier answered, and counts L2 failures and its breaker state', async () => {
    const clock = createManualClock(Date.now());
    const l1 = createMemoryStore({ clock });
    const faulty = createFaultyStore(createMemoryStore({ clock }), 'shared');
    const l2 = withResilience(faulty, {
      clock,
      timeoutMs: 20,
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
    });
    const metrics = createMetrics({ clock });
    const cache = createHttpCache({
      clock,
      ttl: 60,
      store: createTieredStore({ l1, l2, clock }),
      onEvent: metrics.onEvent,
    });
    metrics.observe(cache);

    await cache.handle(get('/a'), ok); // miss: stored in both tiers
    await cache.handle(get('/a'), ok); // L1 hit
    l1.clear();
    await cache.handle(get('/a'), ok); // L2 hit, back-filled into L1
    let text = metrics.prometheus();
    expect(sample(text, 'gatecache_hits_total{route="default",layer="l1"}')).toBe(1);
    expect(sample(text, 'gatecache_hits_total{route="default",layer="l2"}')).toBe(1);
    expect(sample(text, 'gatecache_layer_reads_total{layer="l2",result="found"}')).toBe(1);
    expect(sample(text, 'gatecache_breaker_state{layer="l2",state="closed"}')).toBe(1);

    faulty.fault = { type: 'reject' };
    await cache.handle(get('/b'), ok);
    await cache.handle(get('/c'), ok);
    text = metrics.prometheus();
    expect(sample(text, 'gatecache_breaker_state{layer="l2",state="open"}')).toBe(1);
    expect(sample(text, 'gatecache_breaker_opened_total{layer="l2"}')).toBe(1);
    expect(
      sample(text, 'gatecache_layer_failures_total{layer="l2",kind="error"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'gatecache_layer_failures_total{layer="l2",kind="short_circuit"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(metrics.snapshot().layers.find((l) => l.layer === 'l2')?.breaker?.state).toBe('open');
    metrics.close();
  });

  it('counts origin circuit transitions and shows each circuit state', async () => {
    const clock = createManualClock(Date.now());
    const metrics = createMetrics({ clock });
    const cache = createHttpCache({
      clock,
      ttl: 60,
      breaker: { failureThreshold: 2, cooldownMs: 60_000 },
      onEvent: metrics.onEvent,
    });
    metrics.observe(cache);
    const failing: Origin = (call) => {
      call.head(503, [], new Uint8Array());
      return Promise.resolve({ status: 503, headers: [], body: undefined, complete: true });
    };
    for (const path of ['/x', '/y', '/z']) await cache.handle(get(path), failing);
    const text = metrics.prometheus();
    const opened = text
      .split('\n')
      .filter(
        (l) =>
          l.startsWith('gatecache_origin_circuit_transitions_total{') && l.includes('state="open"'),
      );
    expect(opened).toHaveLength(1);
    expect(Number(opened[0]!.split(' ')[1])).toBe(1);
    expect(text).toMatch(/gatecache_origin_circuit_state\{circuit="[^"]+",state="open"\} 1/);
    metrics.close();
  });
});
