import { systemClock } from '../clock.ts';
import { systemTimers, type Timers } from '../data/timers.ts';
import { invalidOption } from '../errors.ts';
import type { Clock } from '../types.ts';
import type { ResizableTier } from './resizable-memory-store.ts';

export interface MemoryReading {
  readonly heapUsed: number;
  readonly rss: number;
}

export interface SizingLogger {
  info(message: string, fields?: Record<string, unknown>): void;
}

export interface SizingOptions {
  /** The memory tier to resize (`createResizableMemoryStore`, or any `ResizableTier`). */
  readonly target: ResizableTier;
  /** Heap and RSS the process should stay under; at least one. */
  readonly budget: { readonly heapBytes?: number; readonly rssBytes?: number };
  /** Largest bound the tier grows back to. Default: the tier's bound at creation. */
  readonly maxBytes?: number;
  /** Smallest bound a shrink goes to. Default: an eighth of `maxBytes` (at least 1 KiB). */
  readonly minBytes?: number;
  /** Pressure (used / budget) above which the tier shrinks. Default 0.9. */
  readonly high?: number;
  /** Pressure below which the tier may grow again. Default 0.7. */
  readonly low?: number;
  /** How long pressure must stay below `low` before a grow step. Default 30 s. */
  readonly calmMs?: number;
  /** Fraction of the held bytes kept by a shrink step. Default 0.5. */
  readonly shrinkFactor?: number;
  /** Growth of the bound per grow step. Default 1.25. */
  readonly growFactor?: number;
  /** Time between checks. Default 5 s. */
  readonly intervalMs?: number;
  /** Reads memory; default `process.memoryUsage()`. */
  readonly readMemory?: () => MemoryReading;
  readonly onResize?: (event: ResizeEvent) => void;
  readonly logger?: SizingLogger;
  readonly clock?: Clock;
  readonly timers?: Timers;
}

export interface ResizeEvent {
  readonly direction: 'shrink' | 'grow';
  readonly from: number;
  readonly to: number;
  readonly pressure: number;
  readonly heapUsed: number;
  readonly rss: number;
}

export type SizingDecision =
  | { readonly type: 'shrink'; readonly event: ResizeEvent }
  | { readonly type: 'grow'; readonly event: ResizeEvent }
  | { readonly type: 'hold'; readonly pressure: number; readonly reason: string };

export interface SizingStats {
  readonly shrinks: number;
  readonly grows: number;
  readonly maxBytes: number;
  readonly pressure: number | undefined;
}

const fraction = (name: string, value: number | undefined, fallback: number, max = 1): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0 && value <= max)) {
    throw invalidOption(name, value, `a number above 0, up to ${max}`);
  }
  return value;
};

const bytes = (name: string, value: number | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 1024) {
    throw invalidOption(name, value, 'a number of bytes of at least 1024');
  }
  return value;
};

/**
 * Smart cache sizing: watches heap and RSS against a budget, shrinks the memory tier under
 * pressure (the least recently used records go first) and grows it back, one step at a time, up
 * to its configured maximum once pressure has stayed low for a while.
 */
export class SizingController {
  readonly #options: SizingOptions;
  readonly #max: number;
  readonly #min: number;
  readonly #high: number;
  readonly #low: number;
  readonly #calmMs: number;
  readonly #shrinkFactor: number;
  readonly #growFactor: number;
  readonly #intervalMs: number;
  readonly #heapBudget: number | undefined;
  readonly #rssBudget: number | undefined;
  readonly #read: () => MemoryReading;
  readonly #clock: Clock;
  readonly #timers: Timers;
  #calmSince: number | undefined;
  #timer: unknown;
  #stats = { shrinks: 0, grows: 0, pressure: undefined as number | undefined };

  constructor(options: SizingOptions) {
    if (options === null || typeof options !== 'object')
      throw invalidOption('options', options, 'an object');
    const target = options.target;
    if (target === undefined || typeof target.resize !== 'function') {
      throw invalidOption('target', target, 'a resizable memory tier (createResizableMemoryStore)');
    }
    this.#options = options;
    this.#heapBudget = bytes('budget.heapBytes', options.budget?.heapBytes);
    this.#rssBudget = bytes('budget.rssBytes', options.budget?.rssBytes);
    if (this.#heapBudget === undefined && this.#rssBudget === undefined) {
      throw invalidOption('budget', options.budget, 'an object with heapBytes and/or rssBytes');
    }
    this.#max = bytes('maxBytes', options.maxBytes) ?? target.maxBytes;
    this.#min = bytes('minBytes', options.minBytes) ?? Math.max(1024, Math.floor(this.#max / 8));
    if (this.#min > this.#max)
      throw invalidOption('minBytes', options.minBytes, `at most maxBytes (${this.#max})`);
    this.#high = fraction('high', options.high, 0.9, 10);
    this.#low = fraction('low', options.low, 0.7, 10);
    if (this.#low >= this.#high)
      throw invalidOption('low', options.low, `below high (${this.#high})`);
    this.#calmMs = options.calmMs ?? 30_000;
    if (!(this.#calmMs >= 0))
      throw invalidOption('calmMs', options.calmMs, 'milliseconds, 0 or more');
    this.#shrinkFactor = fraction('shrinkFactor', options.shrinkFactor, 0.5);
    if (this.#shrinkFactor >= 1)
      throw invalidOption('shrinkFactor', options.shrinkFactor, 'below 1');
    this.#growFactor = options.growFactor ?? 1.25;
    if (!(this.#growFactor > 1)) throw invalidOption('growFactor', options.growFactor, 'above 1');
    this.#intervalMs = options.intervalMs ?? 5000;
    if (!(this.#intervalMs > 0))
      throw invalidOption('intervalMs', options.intervalMs, 'a positive number');
    this.#read = options.readMemory ?? (() => process.memoryUsage());
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
  }

  get stats(): SizingStats {
    return { ...this.#stats, maxBytes: this.#options.target.maxBytes };
  }

  /** Reads memory once and resizes by one step when needed. */
  check(): SizingDecision {
    const reading = this.#read();
    const pressure = Math.max(
      this.#heapBudget === undefined ? 0 : reading.heapUsed / this.#heapBudget,
      this.#rssBudget === undefined ? 0 : reading.rss / this.#rssBudget,
    );
    this.#stats.pressure = pressure;
    const target = this.#options.target;
    const current = target.maxBytes;
    const now = this.#clock.now();
    if (pressure >= this.#high) {
      this.#calmSince = undefined;
      // Shrink from what is held, not from the bound: cutting an unused bound frees nothing.
      const held = Math.min(current, target.bytes ?? current);
      const to = Math.max(this.#min, Math.floor(held * this.#shrinkFactor));
      if (to >= current) return { type: 'hold', pressure, reason: 'at-minimum' };
      return { type: 'shrink', event: this.#resize('shrink', current, to, pressure, reading) };
    }
    if (pressure >= this.#low) {
      this.#calmSince = undefined;
      return { type: 'hold', pressure, reason: 'between-watermarks' };
    }
    if (current >= this.#max) return { type: 'hold', pressure, reason: 'at-maximum' };
    this.#calmSince ??= now;
    if (now - this.#calmSince < this.#calmMs) return { type: 'hold', pressure, reason: 'calming' };
    const to = Math.min(this.#max, Math.ceil(current * this.#growFactor));
    // The next grow step waits for another calm period, so growth stays gradual.
    this.#calmSince = now;
    return { type: 'grow', event: this.#resize('grow', current, to, pressure, reading) };
  }

  /** Checks every `intervalMs` until `stop()`. */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = (): void => {
      this.#timer = this.#timers.setTimeout(() => {
        try {
          this.check();
        } catch (error) {
          this.#options.logger?.info('gatecache sizing check failed', { error: String(error) });
        }
        tick();
      }, this.#intervalMs);
    };
    tick();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #resize(
    direction: 'shrink' | 'grow',
    from: number,
    to: number,
    pressure: number,
    reading: MemoryReading,
  ): ResizeEvent {
    this.#options.target.resize(to);
    if (direction === 'shrink') this.#stats.shrinks++;
    else this.#stats.grows++;
    const event: ResizeEvent = {
      direction,
      from,
      to,
      pressure,
      heapUsed: reading.heapUsed,
      rss: reading.rss,
    };
    this.#options.logger?.info(`gatecache sizing: memory tier ${direction}`, { ...event });
    try {
      this.#options.onResize?.(event);
    } catch {
      // Reporting must not stop sizing.
    }
    return event;
  }
}

/** Creates a sizing controller; options are validated here, once. */
export function createSizingController(options: SizingOptions): SizingController {
  return new SizingController(options);
}
