/**
 * The two ways out: a prom-client registry scraped at /metrics (with the application's own
 * metrics beside gatecache's), and an OpenTelemetry meter read by the SDK.
 */
import { createServer } from 'node:http';
import { createHttpCache } from '@gatecache/core';
import { createMetrics } from '@gatecache/core/metrics';
import { httpCache, metricsHandler } from '@gatecache/express';
import {
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import express from 'express';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';

function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

describe('exposition', () => {
  it('serves a prom-client registry at /metrics: the app metrics and exact gatecache counters', async () => {
    const registry = new Registry();
    const appCounter = new Counter({
      name: 'app_orders_total',
      help: 'Orders',
      registers: [registry],
    });
    const metrics = createMetrics({ registry });
    const middleware = httpCache({ ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(middleware.cache);
    const app = express();
    app.get('/metrics', metricsHandler({ metrics }));
    app.use(middleware);
    app.get('/orders', (_req, res) => {
      appCounter.inc();
      res.json({ orders: [] });
    });
    const { base, close } = await listen(createServer(app));
    try {
      for (let i = 0; i < 4; i++) await (await fetch(`${base}/orders`)).text();
      const res = await fetch(`${base}/metrics`);
      expect(res.headers.get('content-type')).toBe(registry.contentType);
      const text = await res.text();
      expect(sample(text, 'app_orders_total')).toBe(1);
      expect(sample(text, 'gatecache_requests_total{route="default",outcome="hit"}')).toBe(3);
      expect(sample(text, 'gatecache_requests_total{route="default",outcome="miss"}')).toBe(1);
      expect(sample(text, 'gatecache_origin_duration_seconds_count{route="default"}')).toBe(1);
      expect(sample(text, 'gatecache_hit_duration_seconds_bucket{route="default",le="+Inf"}')).toBe(
        3,
      );
      expect(text).toContain('# TYPE gatecache_hit_duration_seconds histogram');
      // prom-client's JSON view reads the same families.
      const json = await registry.getMetricsAsJSON();
      expect(json.map((m) => m.name)).toContain('gatecache_stores_total');
      // A second engine cannot register the same names in the same registry.
      expect(() => createMetrics({ registry })).toThrow(
        /already in this registry: give each cache its own "prefix"/,
      );
    } finally {
      metrics.close();
      await close();
    }
  });

  it('records into an OpenTelemetry meter', async () => {
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const metrics = createMetrics({ meter: provider.getMeter('gatecache') });
    const cache = createHttpCache({ ttl: 60, onEvent: metrics.onEvent });
    metrics.observe(cache);
    const body = new TextEncoder().encode('{}');
    for (let i = 0; i < 3; i++) {
      await cache.handle({ method: 'GET', url: '/x', host: 'h', headers: {} }, (call) => {
        const action = call.head(200, [], body);
        return Promise.resolve({
          status: 200,
          headers: [],
          body: action.capture ? body : undefined,
          complete: true,
        });
      });
    }
    const { resourceMetrics } = await reader.collect();
    const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const find = (name: string) => all.find((m) => m.descriptor.name === name);
    const requests = find('gatecache.requests')!.dataPoints as Array<DataPoint<number>>;
    expect(requests.find((p) => p.attributes['outcome'] === 'hit')?.value).toBe(2);
    expect(requests.find((p) => p.attributes['outcome'] === 'miss')?.value).toBe(1);
    const origin = find('gatecache.origin.duration')!;
    expect(origin.descriptor.unit).toBe('s');
    expect((origin.dataPoints[0] as DataPoint<Histogram>).value.count).toBe(1);
    const entries = find('gatecache.entries')!.dataPoints as Array<DataPoint<number>>;
    expect(entries[0]).toMatchObject({ attributes: { layer: 'l1' }, value: 1 });
    await provider.shutdown();
    metrics.close();
  });
});
