import { describeValue, GatecacheError } from '../errors.ts';

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
};

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/**
 * Parses a duration into seconds: a bare number is seconds (the seed's `ttl: 300`), a string is one
 * or more `<number><unit>` parts with units `ms`, `s`, `m`, `h`, `d`, `w` (`5m`, `1h30m`, `50ms`).
 * The result may be fractional (`50ms` is 0.05). Throws a `GatecacheError` on anything else.
 */
export function parseDuration(input: number | string): number {
  const seconds = tryParseDuration(input);
  if (seconds === undefined) {
    throw new GatecacheError(
      'ERR_INVALID_OPTION',
      `[gatecache] duration must be a number of seconds or a string like "300", "5m", "1h30m", "50ms"; got ${describeValue(input)}`,
    );
  }
  return seconds;
}

/** `parseDuration` that returns undefined instead of throwing. */
export function tryParseDuration(input: unknown): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  if (typeof input !== 'string') return undefined;
  const text = input.trim().toLowerCase();
  if (text === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text);
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    DURATION_PART.lastIndex = at;
    const part = DURATION_PART.exec(text);
    if (part === null) return undefined;
    total += Number(part[1]) * (DURATION_UNITS[part[2] ?? ''] ?? Number.NaN);
    at = DURATION_PART.lastIndex;
  }
  // Rounded to the millisecond so that 0.1s + 0.2s reads as 0.3.
  return Number.isFinite(total) ? Math.round(total * 1000) / 1000 : undefined;
}
