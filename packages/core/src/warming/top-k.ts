import { invalidOption } from '../errors.ts';

export interface TopKItem {
  readonly item: string;
  /** Estimated count: never below the true count, at most `error` above it. */
  readonly count: number;
  readonly error: number;
}

/**
 * The most frequent items of a stream in bounded memory (Space-Saving, Metwally et al. 2005):
 * `capacity` counters in a min-heap; a new item takes over the smallest counter. Any item seen
 * more than total/capacity times is guaranteed to be held.
 */
export class TopK {
  readonly capacity: number;
  readonly #items: string[] = [];
  readonly #counts: number[] = [];
  readonly #errors: number[] = [];
  readonly #index = new Map<string, number>();
  #total = 0;

  constructor(capacity = 1000) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw invalidOption('capacity', capacity, 'a positive integer');
    }
    this.capacity = capacity;
  }

  /** Items seen (weights summed) since the start or the last `decay`. */
  get total(): number {
    return this.#total;
  }

  get size(): number {
    return this.#items.length;
  }

  record(item: string, weight = 1): void {
    if (!(weight > 0)) return;
    this.#total += weight;
    const at = this.#index.get(item);
    if (at !== undefined) {
      this.#counts[at]! += weight;
      this.#down(at);
      return;
    }
    if (this.#items.length < this.capacity) {
      this.#items.push(item);
      this.#counts.push(weight);
      this.#errors.push(0);
      this.#index.set(item, this.#items.length - 1);
      this.#up(this.#items.length - 1);
      return;
    }
    // Space-Saving: the newcomer inherits the smallest count as its possible overestimate.
    const min = this.#counts[0]!;
    this.#index.delete(this.#items[0]!);
    this.#items[0] = item;
    this.#counts[0] = min + weight;
    this.#errors[0] = min;
    this.#index.set(item, 0);
    this.#down(0);
  }

  /** The `k` most frequent items, most frequent first. */
  top(k = this.capacity): TopKItem[] {
    const all = this.#items.map((item, i) => ({
      item,
      count: this.#counts[i]!,
      error: this.#errors[i]!,
    }));
    all.sort((a, b) => b.count - a.count || a.item.localeCompare(b.item));
    return all.slice(0, Math.max(0, k));
  }

  /** Ages the counts (multiplies by `factor`), so yesterday's traffic weighs less than today's. */
  decay(factor = 0.5): void {
    if (!(factor >= 0 && factor < 1))
      throw invalidOption('factor', factor, 'a number from 0 up to 1');
    const kept: Array<[string, number, number]> = [];
    for (let i = 0; i < this.#items.length; i++) {
      const count = Math.floor(this.#counts[i]! * factor);
      if (count > 0) kept.push([this.#items[i]!, count, Math.floor(this.#errors[i]! * factor)]);
    }
    this.#items.length = 0;
    this.#counts.length = 0;
    this.#errors.length = 0;
    this.#index.clear();
    this.#total = 0;
    for (const [item, count, error] of kept) {
      this.#items.push(item);
      this.#counts.push(count);
      this.#errors.push(error);
      this.#index.set(item, this.#items.length - 1);
      this.#total += count;
    }
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const counts = this.#counts;
    const errors = this.#errors;
    [items[a], items[b]] = [items[b]!, items[a]!];
    [counts[a], counts[b]] = [counts[b]!, counts[a]!];
    [errors[a], errors[b]] = [errors[b]!, errors[a]!];
    this.#index.set(items[a], a);
    this.#index.set(items[b], b);
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#counts[parent]! <= this.#counts[i]!) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#items.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.#counts[left]! < this.#counts[smallest]!) smallest = left;
      if (right < n && this.#counts[right]! < this.#counts[smallest]!) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
