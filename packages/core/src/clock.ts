import type { Clock } from './types.ts';

/** The only place that reads the wall clock; everything else takes a `Clock`. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Milliseconds on a monotonic clock, for bounding real waits (lease polling, coalescing). Never
 * used for freshness, which always follows the injected `Clock`.
 */
export function monotonicNow(): number {
  return performance.now();
}
