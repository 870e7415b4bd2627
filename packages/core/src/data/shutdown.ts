import { invalidOption } from '../errors.ts';
import type { MaybePromise } from '../types.ts';

/** Anything with background work to wait for: the HTTP engine, a data cache. */
export interface Drainable {
  drain(timeoutMs?: number): Promise<boolean>;
}

export interface ShutdownStep {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: unknown;
}

export interface ShutdownReport {
  readonly ok: boolean;
  readonly steps: readonly ShutdownStep[];
}

export interface ShutdownLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface ShutdownOptions {
  /** Engines and data caches whose background refreshes are waited for (`drain`). */
  readonly cache?: Drainable | readonly Drainable[];
  /** Stopped first, so no new warming starts. */
  readonly warmer?: { stop(): MaybePromise<unknown> };
  /** Flushed (retries included) within what is left of the deadline. */
  readonly writeBehind?:
    | { close(deadlineMs?: number): Promise<unknown> }
    | readonly { close(deadlineMs?: number): Promise<unknown> }[];
  /** Stopped with the warmer. */
  readonly sizing?: { stop(): unknown };
  /** Closed last (Redis connections, buses, engines' `close`). */
  readonly stores?: readonly { close?(): MaybePromise<unknown> }[];
  /** Whole shutdown budget. Default 10 s. */
  readonly deadlineMs?: number;
  readonly logger?: ShutdownLogger;
  /** Milliseconds for step durations (tests inject it). Default `performance.now`. */
  readonly now?: () => number;
}

const list = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];

/**
 * Graceful shutdown in order: stop the warmer and sizing (no new work), wait for background
 * refreshes, flush write-behind queues, then close stores and connections, all within one
 * deadline. `shutdown()` may be called from several signal handlers: it runs once.
 */
export function createShutdown(options: ShutdownOptions): () => Promise<ShutdownReport> {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', options, 'an object');
  }
  const deadlineMs = options.deadlineMs ?? 10_000;
  if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
    throw invalidOption('deadlineMs', options.deadlineMs, 'a positive number of milliseconds');
  }
  const now = options.now ?? (() => performance.now());
  let running: Promise<ShutdownReport> | undefined;

  async function run(): Promise<ShutdownReport> {
    const start = now();
    const left = (): number => Math.max(0, deadlineMs - (now() - start));
    const steps: ShutdownStep[] = [];
    const step = async (name: string, fn: () => Promise<boolean | void>): Promise<void> => {
      const began = now();
      let ok = true;
      let error: unknown;
      try {
        const remaining = left();
        const result = await withTimeout(fn(), remaining);
        ok = result !== false && result !== 'timeout';
      } catch (cause) {
        ok = false;
        error = cause;
      }
      const record: ShutdownStep =
        error === undefined
          ? { name, ok, ms: now() - began }
          : { name, ok, ms: now() - began, error };
      steps.push(record);
      if (ok) options.logger?.info('gatecache shutdown step done', { step: name, ms: record.ms });
      else
        options.logger?.warn('gatecache shutdown step incomplete', { step: name, ms: record.ms });
    };
    if (options.warmer !== undefined)
      await step('warmer', async () => void (await options.warmer!.stop()));
    if (options.sizing !== undefined)
      await step('sizing', () => Promise.resolve(void options.sizing!.stop()));
    const caches = list(options.cache);
    if (caches.length > 0) {
      await step('drain', async () => {
        const results = await Promise.all(caches.map((cache) => cache.drain(left())));
        return results.every(Boolean);
      });
    }
    for (const [index, queue] of list(options.writeBehind).entries()) {
      await step(`write-behind${index === 0 ? '' : `-${index}`}`, async () => {
        const report = (await queue.close(left())) as { complete?: boolean } | undefined;
        return report?.complete !== false;
      });
    }
    for (const [index, store] of (options.stores ?? []).entries()) {
      await step(`close-${index}`, async () => void (await store.close?.()));
    }
    return { ok: steps.every((s) => s.ok), steps };
  }

  return function shutdown(): Promise<ShutdownReport> {
    running ??= run();
    return running;
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
