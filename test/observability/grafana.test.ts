import { readFileSync } from 'node:fs';
import { createMetrics } from '@gatecache/core/metrics';
import { describe, expect, it } from 'vitest';

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../examples/grafana/cache-performance.json', import.meta.url), 'utf8'),
) as { title: string; panels: Panel[]; annotations: { list: Array<{ expr: string }> } };

describe('Grafana dashboard', () => {
  it("has the seed's panels", () => {
    expect(dashboard.title).toBe('Cache Performance');
    const titles = dashboard.panels.map((p) => p.title);
    for (const wanted of [
      'Hit rate by endpoint',
      'Memory usage trend',
      'Top cache keys',
      'Eviction rate',
    ]) {
      expect(
        titles.some((t) => t.startsWith(wanted)),
        wanted,
      ).toBe(true);
    }
  });

  it('queries only metrics and labels gatecache exports', () => {
    const metrics = createMetrics();
    const exported = new Map(metrics.families.map((f) => [f.name, new Set(f.labelNames)]));
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.annotations.list.map((a) => a.expr),
    ];
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) {
      for (const match of expr.matchAll(/(gatecache_[a-z_]+)(\{([^}]*)\})?/g)) {
        const name = match[1]!.replace(/_(bucket|sum|count)$/, '');
        expect(exported.has(name), `${name} in ${expr}`).toBe(true);
        for (const label of (match[3] ?? '').matchAll(/(\w+)\s*(=~|!=|=)/g)) {
          if (label[1] === 'job' || label[1] === 'le') continue;
          expect(exported.get(name)!.has(label[1]!), `${label[1]} on ${name}`).toBe(true);
        }
      }
      for (const by of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of by[1]!.split(',').map((l) => l.trim())) {
          if (label === 'le') continue;
          expect(
            [...exported.values()].some((labels) => labels.has(label)),
            label,
          ).toBe(true);
        }
      }
    }
    metrics.close();
  });
});
