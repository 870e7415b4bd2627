import type { Clock } from '../types.ts';

/**
 * Where delayed work is scheduled (write-behind flushes and retries, warming schedules, sizing
 * checks). Injected so tests move time by hand instead of sleeping.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd: a pending flush or schedule never keeps a process alive by itself. */
export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** A clock and timers that move only when told: `advance(ms)` runs what falls due, in order. */
export interface ManualTimers extends Timers, Clock {
  /** Moves time forward, firing due timers in time order and letting their promises settle. */
  advance(ms: number): Promise<void>;
  /** Timers waiting to fire. */
  readonly pending: number;
  /** Delay of the next timer from now, or undefined. */
  nextDelay(): number | undefined;
}

/** For tests of code that takes `clock` and `timers`. */
export function createManualTimers(start = 0): ManualTimers {
  let now = start;
  let sequence = 0;
  const queue = new Map<number, { at: number; fn: () => void }>();
  const settle = async (): Promise<void> => {
    // Several macrotask turns, so promise chains started by a timer run to their next wait.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++sequence;
      queue.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      queue.delete(handle as number);
    },
    get pending() {
      return queue.size;
    },
    nextDelay() {
      let next: number | undefined;
      for (const { at } of queue.values()) if (next === undefined || at < next) next = at;
      return next === undefined ? undefined : next - now;
    },
    async advance(ms) {
      const target = now + ms;
      await settle();
      for (;;) {
        let dueId: number | undefined;
        let dueAt = Infinity;
        for (const [id, timer] of queue) {
          if (timer.at <= target && timer.at < dueAt) {
            dueAt = timer.at;
            dueId = id;
          }
        }
        if (dueId === undefined) break;
        const timer = queue.get(dueId)!;
        queue.delete(dueId);
        now = Math.max(now, timer.at);
        timer.fn();
        await settle();
      }
      now = target;
      await settle();
    },
  };
}
