import { describe, expect, it } from 'vitest';
import { TopK } from '@gatecache/core/warming';

describe('top-K (space-saving)', () => {
  it('holds the heavy hitters of a long tail in bounded memory', () => {
    const topK = new TopK(50);
    // 10 hot paths among 5,000 cold ones, interleaved.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 50_000; i++) {
      if (random() < 0.4) topK.record(`/api/hot/${Math.floor(random() * 10)}`);
      else topK.record(`/api/cold/${Math.floor(random() * 5000)}`);
    }
    expect(topK.size).toBe(50);
    const top = topK.top(10).map((t) => t.item);
    expect(top.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `/api/hot/${i}`).sort());
    for (const t of topK.top(10)) expect(t.count - t.error).toBeGreaterThan(1000);
  });

  it('counts exactly below capacity and ages with decay', () => {
    const topK = new TopK(10);
    for (let i = 0; i < 6; i++) topK.record('/a');
    for (let i = 0; i < 3; i++) topK.record('/b');
    topK.record('/c');
    expect(topK.top(2)).toEqual([
      { item: '/a', count: 6, error: 0 },
      { item: '/b', count: 3, error: 0 },
    ]);
    topK.decay(0.5);
    expect(topK.top()).toEqual([
      { item: '/a', count: 3, error: 0 },
      { item: '/b', count: 1, error: 0 },
    ]);
    expect(topK.total).toBe(4);
    expect(() => new TopK(0)).toThrow(/option "capacity"/);
  });
});
