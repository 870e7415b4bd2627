/**
 * The metric families gatecache keeps in process: counters and histograms with bounded label sets,
 * and gauges read when scraped. They render themselves in the Prometheus text format (0.0.4) and
 * in the shape prom-client's `Registry` reads, so prom-client is never imported here.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Readonly<Record<string, string>>;

/** One line of exposition: `metricName` set for a histogram's `_bucket`, `_sum` and `_count`. */
export interface Sample {
  readonly metricName?: string;
  readonly labels: Labels;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  collect(): Sample[];
}

/** Upper bounds in seconds: from half a millisecond (an L1 hit) to ten seconds (a slow origin). */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

function labelKey(labelNames: readonly string[], labels: Labels): string {
  let key = '';
  for (const name of labelNames) key += (labels[name] ?? '') + '\u0000';
  return key;
}

function pick(labelNames: readonly string[], labels: Labels): Labels {
  const out: Record<string, string> = {};
  for (const name of labelNames) out[name] = labels[name] ?? '';
  return out;
}

export class CounterFamily implements MetricFamily {
  readonly type = 'counter' as const;
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  inc(labels: Labels, amount = 1): void {
    const key = labelKey(this.labelNames, labels);
    const slot = this.#values.get(key);
    if (slot !== undefined) slot.value += amount;
    else this.#values.set(key, { labels: pick(this.labelNames, labels), value: amount });
  }

  /** The value for these labels (0 when never incremented). */
  get(labels: Labels): number {
    return this.#values.get(labelKey(this.labelNames, labels))?.value ?? 0;
  }

  /** Sum over every label set whose labels include `filter`. */
  sum(filter: Labels = {}): number {
    let total = 0;
    for (const { labels, value } of this.#values.values()) {
      if (Object.entries(filter).every(([k, v]) => labels[k] === v)) total += value;
    }
    return total;
  }

  entries(): Array<{ labels: Labels; value: number }> {
    return [...this.#values.values()].map((slot) => ({ labels: slot.labels, value: slot.value }));
  }

  collect(): Sample[] {
    return this.entries();
  }
}

interface HistogramSlot {
  readonly labels: Labels;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

export class HistogramFamily implements MetricFamily {
  readonly type = 'histogram' as const;
  readonly #slots = new Map<string, HistogramSlot>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly buckets: readonly number[] = DEFAULT_DURATION_BUCKETS,
  ) {}

  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    const key = labelKey(this.labelNames, labels);
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = {
        labels: pick(this.labelNames, labels),
        counts: new Array<number>(this.buckets.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.#slots.set(key, slot);
    }
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    slot.counts[i]!++;
    slot.sum += value;
    slot.count++;
  }

  /** Per-bucket counts summed over every label set (for windowed quantiles). */
  totals(): { counts: number[]; sum: number; count: number } {
    const counts = new Array<number>(this.buckets.length + 1).fill(0);
    let sum = 0;
    let count = 0;
    for (const slot of this.#slots.values()) {
      for (let i = 0; i < counts.length; i++) counts[i]! += slot.counts[i]!;
      sum += slot.sum;
      count += slot.count;
    }
    return { counts, sum, count };
  }

  collect(): Sample[] {
    const samples: Sample[] = [];
    for (const slot of this.#slots.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += slot.counts[i]!;
        const le = i < this.buckets.length ? formatNumber(this.buckets[i]!) : '+Inf';
        samples.push({
          metricName: `${this.name}_bucket`,
          labels: { ...slot.labels, le },
          value: cumulative,
        });
      }
      samples.push({ metricName: `${this.name}_sum`, labels: slot.labels, value: slot.sum });
      samples.push({ metricName: `${this.name}_count`, labels: slot.labels, value: slot.count });
    }
    return samples;
  }
}

/** A gauge whose values are read from the cache when scraped. */
export class GaugeFamily implements MetricFamily {
  readonly type = 'gauge' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly read: () => Sample[],
  ) {}

  collect(): Sample[] {
    try {
      return this.read();
    } catch {
      // A store that cannot report its size must not break the scrape.
      return [];
    }
  }
}

/** A counter whose running total lives elsewhere (a store's eviction count), read when scraped. */
export class ReadCounterFamily implements MetricFamily {
  readonly type = 'counter' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly read: () => Sample[],
  ) {}

  collect(): Sample[] {
    try {
      return this.read();
    } catch {
      return [];
    }
  }
}

/**
 * The φ-quantile of a histogram's per-bucket counts, interpolated linearly inside the bucket as
 * Prometheus' `histogram_quantile` does. Undefined when there is no observation.
 */
export function quantileFromBuckets(
  buckets: readonly number[],
  counts: readonly number[],
  q: number,
): number | undefined {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i++) {
    const before = cumulative;
    cumulative += counts[i]!;
    if (cumulative >= rank && counts[i]! > 0) {
      // Values above the last bound: the best known answer is that bound.
      if (i >= buckets.length) return buckets[buckets.length - 1];
      const lower = i === 0 ? 0 : buckets[i - 1]!;
      const upper = buckets[i]!;
      return lower + (upper - lower) * ((rank - before) / counts[i]!);
    }
  }
  return buckets[buckets.length - 1];
}

export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Families in the Prometheus text exposition format, version 0.0.4. */
export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.collect()) {
      const names = Object.keys(sample.labels);
      const labels =
        names.length === 0
          ? ''
          : `{${names.map((n) => `${n}="${escapeLabelValue(sample.labels[n]!)}"`).join(',')}}`;
      lines.push(`${sample.metricName ?? family.name}${labels} ${formatNumber(sample.value)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
