import type { Clock } from './types.ts';

/** The only place that reads the wall clock; everything else takes a `Clock`. */
export const systemClock: Clock = { now: () => Date.now() };
