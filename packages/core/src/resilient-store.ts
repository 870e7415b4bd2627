import { systemClock } from './clock.ts';
import { GatecacheError, invalidOption } from './errors.ts';
import type { CacheStore, Clock, MaybePromise, StoreHints, StoredRecord } from './types.ts';

import { CircuitBreaker, type BreakerState } from './circuit-breaker.ts';

export type { BreakerState };

/** The one circuit of a wrapped store. */
const CIRCUIT = 'store';
export type StoreOperation = 'get' | 'set' | 'delete' | 'clear' | 'scan';

export interface BreakerOptions {
  /** Failures (errors or timeouts) within `windowMs` that open the breaker. Default 5. */
  readonly failureThreshold?: number;
  /** Sliding window in which failures are counted. Default 10,000 ms. */
  readonly windowMs?: number;
  /** How long the breaker stays open before one probe call is let through. Default 5,000 ms. */
  readonly cooldownMs?: number;
}

export interface ResilienceOptions {
  /** Longest a call may take before it counts as a failure and reads as a miss. Default 50 ms. */
  readonly timeoutMs?: number;
  /**
   * Per-operation limits over `timeoutMs`: a `clear` that walks a large keyspace, or a `scan`
   * step, may rightly take longer than a `get`.
   */
  readonly operationTimeoutMs?: Partial<Record<StoreOperation, number>>;
  /** Circuit breaker settings, or `false` for timeouts only. */
  readonly breaker?: BreakerOptions | false;
  /** Time source for the breaker's window and cooldown. */
  readonly clock?: Clock;
  /** Every swallowed failure: `ERR_STORE_TIMEOUT` or `ERR_STORE` with the original as `cause`. */
  readonly onError?: (error: GatecacheError, operation: StoreOperation) => void;
  readonly onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

export interface ResilienceStats {
  /** Calls that reached the wrapped store. */
  readonly calls: number;
  /** Calls that threw or rejected. */
  readonly errors: number;
  /** Calls that did not settle within `timeoutMs`. */
  readonly timeouts: number;
  /** Calls answered without touching the store because the breaker was open. */
  readonly shortCircuits: number;
  /** Times the breaker opened. */
  readonly opened: number;
}

const DEFAULTS = { timeoutMs: 50, failureThreshold: 5, windowMs: 10_000, cooldownMs: 5_000 };

/**
 * Wraps a store so that it can never fail or stall a request (DESIGN.md: the cache never fails a
 * request). Each call is bounded by `timeoutMs`; an error or a timeout reads as a miss on `get`
 * and is swallowed on writes. After `failureThreshold` failures within `windowMs` the breaker
 * opens and calls skip the store; after `cooldownMs` one probe call goes through, and its
 * success closes the breaker again.
 */
export function withResilience<S extends CacheStore>(
  store: S,
  options: ResilienceOptions = {},
): ResilientStore<S> {
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidOption('timeoutMs', options.timeoutMs, 'a positive number of milliseconds');
  }
  const timeouts: Record<StoreOperation, number> = {
    get: timeoutMs,
    set: timeoutMs,
    delete: timeoutMs,
    clear: timeoutMs,
    scan: timeoutMs,
  };
  for (const [operation, limit] of Object.entries(options.operationTimeoutMs ?? {})) {
    if (!(operation in timeouts)) {
      throw invalidOption(
        'operationTimeoutMs',
        operation,
        'keyed by get, set, delete, clear or scan',
      );
    }
    if (!Number.isFinite(limit) || limit <= 0) {
      throw invalidOption(
        `operationTimeoutMs.${operation}`,
        limit,
        'a positive number of milliseconds',
      );
    }
    timeouts[operation as StoreOperation] = limit;
  }
  let breaker: Required<BreakerOptions> | undefined;
  if (options.breaker !== false) {
    const given = options.breaker ?? {};
    breaker = {
      failureThreshold: given.failureThreshold ?? DEFAULTS.failureThreshold,
      windowMs: given.windowMs ?? DEFAULTS.windowMs,
      cooldownMs: given.cooldownMs ?? DEFAULTS.cooldownMs,
    };
    if (!Number.isSafeInteger(breaker.failureThreshold) || breaker.failureThreshold < 1) {
      throw invalidOption('breaker.failureThreshold', given.failureThreshold, 'a positive integer');
    }
    if (!Number.isFinite(breaker.windowMs) || breaker.windowMs <= 0) {
      throw invalidOption('breaker.windowMs', given.windowMs, 'a positive number of milliseconds');
    }
    if (!Number.isFinite(breaker.cooldownMs) || breaker.cooldownMs < 0) {
      throw invalidOption(
        'breaker.cooldownMs',
        given.cooldownMs,
        'a non-negative number of milliseconds',
      );
    }
  }
  return new ResilientStore(store, timeouts, breaker, options);
}

export class ResilientStore<S extends CacheStore = CacheStore> implements CacheStore {
  readonly name: string;
  /** The wrapped store, for what only it offers (its client, its size). */
  readonly inner: S;
  readonly scan?: (match: string, batchSize?: number) => AsyncIterable<string>;
  readonly #timeouts: Record<StoreOperation, number>;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #clock: Clock;
  readonly #onError: ResilienceOptions['onError'];
  readonly #onStateChange: ResilienceOptions['onStateChange'];
  readonly #deadlines: Record<StoreOperation, DeadlineQueue>;
  #stats = { calls: 0, errors: 0, timeouts: 0, shortCircuits: 0, opened: 0 };

  constructor(
    inner: S,
    timeouts: Record<StoreOperation, number>,
    breaker: Required<BreakerOptions> | undefined,
    options: ResilienceOptions,
  ) {
    this.inner = inner;
    this.name = inner.name;
    this.#timeouts = timeouts;
    this.#deadlines = {
      get: new DeadlineQueue(timeouts.get),
      set: new DeadlineQueue(timeouts.set),
      delete: new DeadlineQueue(timeouts.delete),
      clear: new DeadlineQueue(timeouts.clear),
      scan: new DeadlineQueue(timeouts.scan),
    };
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError;
    this.#onStateChange = options.onStateChange;
    let previous: BreakerState = 'closed';
    this.#breaker =
      breaker === undefined
        ? undefined
        : new CircuitBreaker(breaker, (_key, next) => {
            if (next === 'open') this.#stats.opened++;
            const was = previous;
            previous = next;
            try {
              this.#onStateChange?.(next, was);
            } catch {
              // A listener's failure must not turn into a store failure.
            }
          });
    if (typeof inner.scan === 'function') {
      const scan = inner.scan.bind(inner);
      this.scan = (match, batchSize) => this.#scan(scan, match, batchSize);
    }
  }

  get state(): BreakerState {
    return this.#breaker?.state(CIRCUIT) ?? 'closed';
  }

  get stats(): ResilienceStats {
    return { ...this.#stats };
  }

  get(key: string, hints?: StoreHints): MaybePromise<StoredRecord | undefined> {
    return this.#call('get', () => this.inner.get(key, hints), undefined);
  }

  set(key: string, record: StoredRecord, ttlMs: number, hints?: StoreHints): MaybePromise<void> {
    return this.#call('set', () => this.inner.set(key, record, ttlMs, hints), undefined);
  }

  delete(key: string): MaybePromise<void> {
    return this.#call('delete', () => this.inner.delete(key), undefined);
  }

  clear(): MaybePromise<void> {
    return this.#call('clear', () => this.inner.clear(), undefined);
  }

  async close(): Promise<void> {
    try {
      await this.inner.close?.();
    } catch (error) {
      this.#report(
        new GatecacheError('ERR_STORE', `store "${this.name}" failed to close`, { cause: error }),
        'clear',
      );
    }
  }

  #call<T>(operation: StoreOperation, run: () => MaybePromise<T>, fallback: T): MaybePromise<T> {
    if (!this.#admit()) {
      this.#stats.shortCircuits++;
      return fallback;
    }
    this.#stats.calls++;
    let result: MaybePromise<T>;
    try {
      result = run();
    } catch (error) {
      this.#fail(operation, error, false);
      return fallback;
    }
    // A synchronous store (memory) answers without a timer or a promise.
    if (!isPromiseLike(result)) {
      this.#succeed();
      return result;
    }
    return this.#bounded(operation, result, fallback);
  }

  #bounded<T>(operation: StoreOperation, pending: PromiseLike<T>, fallback: T): Promise<T> {
    return new Promise<T>((resolve) => {
      const call = this.#deadlines[operation].add(() => {
        this.#fail(operation, undefined, true);
        resolve(fallback);
      });
      pending.then(
        (value) => {
          // Already settled as a timeout, or now never will be.
          if (!call.settle()) return;
          this.#succeed();
          resolve(value);
        },
        (error: unknown) => {
          // A rejection after the timeout was already counted as that timeout.
          if (!call.settle()) return;
          this.#fail(operation, error, false);
          resolve(fallback);
        },
      );
    });
  }

  async *#scan(
    scan: (match: string, batchSize?: number) => AsyncIterable<string>,
    match: string,
    batchSize: number | undefined,
  ): AsyncGenerator<string> {
    let iterator: AsyncIterator<string>;
    try {
      iterator = scan(match, batchSize)[Symbol.asyncIterator]();
    } catch (error) {
      this.#fail('scan', error, false);
      return;
    }
    const done = Symbol('done');
    try {
      for (;;) {
        // Each step is bounded like any other call; a failure ends the scan early.
        const next = await this.#call<string | typeof done>(
          'scan',
          async () => {
            const step = await iterator.next();
            return step.done ? done : step.value;
          },
          done,
        );
        if (next === done) return;
        yield next;
      }
    } finally {
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
  }

  // An idle breaker (no failure counted) allows every call and forgets every success: neither
  // needs the time, which is read only once a failure was counted.
  #admit(): boolean {
    const breaker = this.#breaker;
    if (breaker === undefined || breaker.idle) return true;
    return breaker.gate(CIRCUIT, this.#clock.now()).allow;
  }

  #succeed(): void {
    const breaker = this.#breaker;
    if (breaker === undefined || breaker.idle) return;
    breaker.record(CIRCUIT, true, this.#clock.now());
  }

  #fail(operation: StoreOperation, cause: unknown, timedOut: boolean): void {
    if (timedOut) this.#stats.timeouts++;
    else this.#stats.errors++;
    this.#report(
      timedOut
        ? new GatecacheError(
            'ERR_STORE_TIMEOUT',
            `store "${this.name}" did not answer ${operation} within ${this.#timeouts[operation]} ms; raise timeoutMs if the store is remote and slow`,
          )
        : new GatecacheError(
            'ERR_STORE',
            `store "${this.name}" failed on ${operation}: ${describe(cause)}`,
            {
              cause,
            },
          ),
      operation,
    );
    this.#breaker?.record(CIRCUIT, false, this.#clock.now());
  }

  #report(error: GatecacheError, operation: StoreOperation): void {
    try {
      this.#onError?.(error, operation);
    } catch {
      // Same as above: reporting never fails the request.
    }
  }
}

/** A call in flight: its deadline, and what to do when it passes unsettled. */
class PendingCall {
  constructor(
    readonly deadline: number,
    private onTimeout: (() => void) | undefined,
  ) {}

  /** True when this call settles now; false when it already had (it timed out). */
  settle(): boolean {
    if (this.onTimeout === undefined) return false;
    // Dropped at once, so a settled call keeps nothing of its request alive while it waits in line.
    this.onTimeout = undefined;
    return true;
  }

  get settled(): boolean {
    return this.onTimeout === undefined;
  }

  expire(): void {
    const onTimeout = this.onTimeout;
    this.onTimeout = undefined;
    onTimeout?.();
  }
}

/**
 * The calls in flight for one timeout length, behind one timer. They start in deadline order, so
 * the queue is a FIFO: a call costs a small object in an array rather than a Node timer armed and
 * cleared of its own, and the timer wakes only when the oldest unsettled call could be due.
 */
class DeadlineQueue {
  readonly #ms: number;
  #calls: Array<PendingCall | undefined> = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  add(onTimeout: () => void): PendingCall {
    this.#dropSettled();
    const call = new PendingCall(performance.now() + this.#ms, onTimeout);
    this.#calls.push(call);
    if (this.#timer === undefined) this.#arm(this.#ms);
    return call;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#expireDue, Math.max(1, Math.ceil(ms)));
    this.#timer.unref?.();
  }

  readonly #expireDue = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const due: PendingCall[] = [];
    while (this.#head < this.#calls.length) {
      const call = this.#calls[this.#head]!;
      if (!call.settled && call.deadline > now) break;
      this.#calls[this.#head++] = undefined;
      if (!call.settled) due.push(call);
    }
    this.#dropSettled();
    const next = this.#calls[this.#head];
    if (next !== undefined) this.#arm(next.deadline - now);
    // Timers run before the event loop reads sockets: in a busy process the answer may already be
    // waiting unread. One turn of I/O first, so that only a call still unanswered times out.
    if (due.length > 0) afterIo(() => expireAll(due));
  };

  /** Forgets settled calls at the front; resets the array once it is empty. */
  #dropSettled(): void {
    const calls = this.#calls;
    while (this.#head < calls.length && calls[this.#head]!.settled) calls[this.#head++] = undefined;
    if (this.#head === calls.length) {
      calls.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > calls.length) {
      this.#calls = calls.slice(this.#head);
      this.#head = 0;
    }
  }
}

/** After the event loop's next look at sockets: setImmediate where the runtime has it. */
function afterIo(work: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(work);
  else setTimeout(work, 0);
}

function expireAll(calls: readonly PendingCall[]): void {
  for (const call of calls) call.expire();
}

function isPromiseLike<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
