import { systemClock } from '../clock.ts';
import { GatecacheError, invalidOption } from '../errors.ts';
import type { Clock } from '../types.ts';
import { systemTimers, type Timers } from './timers.ts';

/** One queued backend write. The latest value for a key replaces an older one still queued. */
export interface QueuedWrite<V> {
  readonly key: string;
  readonly value: V;
  /** When the key was first queued (epoch ms). */
  readonly queuedAt: number;
}

/**
 * Why writes never reached the backend: the queue was full (`overflow` dropped the oldest,
 * `rejected` refused the new one), every retry failed, the shutdown deadline passed with the
 * write still queued (`shutdown`) or still being sent (`unconfirmed`: it may have landed).
 */
export type DropReason = 'overflow' | 'rejected' | 'retries-exhausted' | 'shutdown' | 'unconfirmed';

export type WriteBehindEvent =
  | { readonly type: 'batch-written'; readonly size: number; readonly attempt: number }
  | {
      readonly type: 'batch-failed';
      readonly size: number;
      readonly attempt: number;
      readonly retryInMs: number | undefined;
      readonly error: unknown;
    };

export interface BackoffOptions {
  /** Delay before the first retry. Default 100 ms. */
  readonly initialMs?: number;
  /** Longest delay. Default 30 s. */
  readonly maxMs?: number;
  /** Growth per retry. Default 2. */
  readonly factor?: number;
  /** Fraction of each delay taken off at random, so a fleet does not retry in step. Default 0. */
  readonly jitter?: number;
}

export interface WriteBehindOptions<V> {
  /** Sends a batch to the backend; a throw or rejection fails the whole batch (it is retried). */
  readonly write: (batch: readonly QueuedWrite<V>[]) => unknown;
  /** Writes per batch. Default 100. */
  readonly batchSize?: number;
  /** Longest time a write waits for its batch to fill. Default 1000 ms. */
  readonly flushIntervalMs?: number;
  /** Writes queued (not yet sent) at most. Default 10,000. */
  readonly maxQueue?: number;
  /** When full: refuse the new write (`reject`, it throws) or drop the oldest. Default `reject`. */
  readonly overflow?: 'reject' | 'drop-oldest';
  /** Retries after a failed first attempt before a batch is dropped. Default 5. */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  /** Called with writes that will never reach the backend, and why. */
  readonly onDrop?: (
    writes: readonly QueuedWrite<V>[],
    reason: DropReason,
    error?: unknown,
  ) => void;
  readonly onEvent?: (event: WriteBehindEvent) => void;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly random?: () => number;
}

export interface WriteBehindStats {
  readonly queued: number;
  readonly inFlight: number;
  readonly written: number;
  readonly batches: number;
  readonly failedAttempts: number;
  readonly superseded: number;
  readonly dropped: number;
}

export interface CloseReport {
  readonly written: number;
  readonly dropped: number;
  /** True when everything queued reached the backend before the deadline. */
  readonly complete: boolean;
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalidOption(name, value, `an integer of at least ${min}`);
  }
  return value;
}

function finite(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidOption(
      name,
      value,
      `a number from ${min}${max === Infinity ? ' up' : ` to ${max}`}`,
    );
  }
  return value;
}

/**
 * Write-behind (write-back): writes are acknowledged once queued and reach the backend later, in
 * batches, one batch at a time (so writes to a key land in order), retried with exponential
 * backoff. The queue is bounded; everything dropped is reported through `onDrop`; `close` flushes
 * within a deadline.
 */
export class WriteBehind<V> {
  readonly #write: WriteBehindOptions<V>['write'];
  readonly #batchSize: number;
  readonly #intervalMs: number;
  readonly #maxQueue: number;
  readonly #overflow: 'reject' | 'drop-oldest';
  readonly #retries: number;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #options: WriteBehindOptions<V>;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #queue = new Map<string, QueuedWrite<V>>();
  #inFlight: readonly QueuedWrite<V>[] = [];
  #worker: Promise<void> | undefined;
  #timer: unknown;
  #due = false;
  #closing = false;
  #aborted = false;
  #wakeBackoff: (() => void) | undefined;
  #closed: Promise<CloseReport> | undefined;
  #stats = { written: 0, batches: 0, failedAttempts: 0, superseded: 0, dropped: 0 };

  constructor(options: WriteBehindOptions<V>) {
    if (options === null || typeof options !== 'object') {
      throw invalidOption('options', options, 'an object');
    }
    if (typeof options.write !== 'function')
      throw invalidOption('write', options.write, 'a function');
    this.#options = options;
    this.#write = options.write;
    this.#batchSize = integer('batchSize', options.batchSize, 100, 1);
    this.#intervalMs = finite('flushIntervalMs', options.flushIntervalMs, 1000, 0);
    this.#maxQueue = integer('maxQueue', options.maxQueue, 10_000, 1);
    this.#overflow = options.overflow ?? 'reject';
    if (this.#overflow !== 'reject' && this.#overflow !== 'drop-oldest') {
      throw invalidOption('overflow', options.overflow, '"reject" or "drop-oldest"');
    }
    this.#retries = integer('retries', options.retries, 5, 0);
    const backoff = options.backoff ?? {};
    this.#initialMs = finite('backoff.initialMs', backoff.initialMs, 100, 0);
    this.#maxMs = finite('backoff.maxMs', backoff.maxMs, 30_000, 0);
    this.#factor = finite('backoff.factor', backoff.factor, 2, 1);
    this.#jitter = finite('backoff.jitter', backoff.jitter, 0, 0, 1);
    for (const fn of ['onDrop', 'onEvent', 'random'] as const) {
      if (options[fn] !== undefined && typeof options[fn] !== 'function') {
        throw invalidOption(fn, options[fn], 'a function');
      }
    }
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
    this.#random = options.random ?? Math.random;
  }

  get stats(): WriteBehindStats {
    return { ...this.#stats, queued: this.#queue.size, inFlight: this.#inFlight.length };
  }

  /**
   * Queues a write. Throws (`ERR_STORE`) when the queue is full and `overflow` is `reject`, or
   * after `close`: the caller then knows the write was not accepted.
   */
  enqueue(key: string, value: V): void {
    if (typeof key !== 'string' || key.length === 0)
      throw invalidOption('key', key, 'a non-empty string');
    if (this.#closing) {
      this.#drop([{ key, value, queuedAt: this.#clock.now() }], 'rejected');
      throw new GatecacheError(
        'ERR_STORE',
        '[gatecache] write-behind queue is closed: write to the backend directly during shutdown',
      );
    }
    const existing = this.#queue.get(key);
    if (existing !== undefined) {
      // Only the latest value of a key matters to the backend; it keeps its place in line.
      this.#queue.set(key, { key, value, queuedAt: existing.queuedAt });
      this.#stats.superseded++;
    } else {
      if (this.#queue.size >= this.#maxQueue) {
        if (this.#overflow === 'reject') {
          this.#drop([{ key, value, queuedAt: this.#clock.now() }], 'rejected');
          throw new GatecacheError(
            'ERR_STORE',
            `[gatecache] write-behind queue is full (maxQueue ${this.#maxQueue}): raise maxQueue, speed up the backend, or use overflow "drop-oldest"`,
          );
        }
        const oldest = this.#queue.values().next().value!;
        this.#queue.delete(oldest.key);
        this.#drop([oldest], 'overflow');
      }
      this.#queue.set(key, { key, value, queuedAt: this.#clock.now() });
    }
    if (this.#queue.size >= this.#batchSize) this.#kick();
    else this.#arm();
  }

  /** Sends everything queued now and resolves when the queue is empty (or writes were dropped). */
  async flush(): Promise<void> {
    this.#due = true;
    this.#kick();
    while (this.#worker !== undefined) await this.#worker;
  }

  /**
   * Stops accepting writes and flushes what is queued, retries included, until `deadlineMs`; what
   * is left then is dropped and reported. Calling it again returns the same report.
   */
  close(deadlineMs = 10_000): Promise<CloseReport> {
    this.#closed ??= this.#close(finite('deadlineMs', deadlineMs, 10_000, 0));
    return this.#closed;
  }

  async #close(deadlineMs: number): Promise<CloseReport> {
    this.#closing = true;
    const writtenBefore = this.#stats.written;
    const droppedBefore = this.#stats.dropped;
    let deadlineTimer: unknown;
    const deadline = new Promise<'deadline'>((resolve) => {
      deadlineTimer = this.#timers.setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const outcome = await Promise.race([this.flush().then(() => 'flushed' as const), deadline]);
    this.#timers.clearTimeout(deadlineTimer);
    if (outcome === 'deadline') {
      this.#aborted = true;
      this.#wakeBackoff?.();
      const left = [...this.#queue.values()];
      this.#queue.clear();
      if (left.length > 0) this.#drop(left, 'shutdown');
      if (this.#inFlight.length > 0) this.#drop(this.#inFlight, 'unconfirmed');
    }
    this.#disarm();
    return {
      written: this.#stats.written - writtenBefore,
      dropped: this.#stats.dropped - droppedBefore,
      complete: outcome === 'flushed' && this.#stats.dropped === droppedBefore,
    };
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#worker !== undefined || this.#queue.size === 0) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#due = true;
      this.#kick();
    }, this.#intervalMs);
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #kick(): void {
    if (this.#worker !== undefined || this.#aborted) return;
    this.#disarm();
    const worker = this.#drain().finally(() => {
      this.#worker = undefined;
      if (!this.#aborted) {
        if (this.#queue.size >= this.#batchSize) this.#kick();
        else this.#arm();
      }
    });
    this.#worker = worker;
  }

  async #drain(): Promise<void> {
    while (!this.#aborted && this.#queue.size > 0) {
      if (!this.#due && !this.#closing && this.#queue.size < this.#batchSize) return;
      const batch: QueuedWrite<V>[] = [];
      for (const write of this.#queue.values()) {
        batch.push(write);
        if (batch.length >= this.#batchSize) break;
      }
      for (const write of batch) this.#queue.delete(write.key);
      this.#inFlight = batch;
      await this.#send(batch);
      this.#inFlight = [];
    }
    this.#due = false;
  }

  async #send(batch: readonly QueuedWrite<V>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#write(batch);
        if (this.#aborted) return;
        this.#stats.written += batch.length;
        this.#stats.batches++;
        this.#emit({ type: 'batch-written', size: batch.length, attempt });
        return;
      } catch (error) {
        if (this.#aborted) return;
        this.#stats.failedAttempts++;
        const retry = attempt <= this.#retries;
        const delay = retry ? this.#delay(attempt) : undefined;
        this.#emit({ type: 'batch-failed', size: batch.length, attempt, retryInMs: delay, error });
        if (delay === undefined) {
          this.#drop(batch, 'retries-exhausted', error);
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = this.#timers.setTimeout(() => {
            this.#wakeBackoff = undefined;
            resolve();
          }, delay);
          this.#wakeBackoff = () => {
            this.#timers.clearTimeout(timer);
            this.#wakeBackoff = undefined;
            resolve();
          };
        });
        if (this.#aborted) return;
      }
    }
  }

  #delay(attempt: number): number {
    const base = Math.min(this.#maxMs, this.#initialMs * this.#factor ** (attempt - 1));
    return Math.round(base * (1 - this.#jitter * this.#random()));
  }

  #drop(writes: readonly QueuedWrite<V>[], reason: DropReason, error?: unknown): void {
    this.#stats.dropped += writes.length;
    try {
      this.#options.onDrop?.(writes, reason, error);
    } catch {
      // Reporting must not break the queue.
    }
  }

  #emit(event: WriteBehindEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch {
      // A faulty listener must not break the queue.
    }
  }
}

/** Creates a write-behind queue; options are validated here, once. */
export function createWriteBehind<V>(options: WriteBehindOptions<V>): WriteBehind<V> {
  return new WriteBehind(options);
}
