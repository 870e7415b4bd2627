import { describeValue, GatecacheError } from '../errors.ts';

/**
 * Binary multiples, as Redis reads `2gb` in its own configuration: a cache budget is memory, and
 * memory is counted in powers of two. `KiB`/`MiB`/`GiB` are accepted as unambiguous spellings.
 */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

/**
 * Parses a size into bytes: a bare number is bytes, a string is `<number><unit>` with units `B`,
 * `KB`, `MB`, `GB`, `TB` (1024-based, case-insensitive; `KiB`… also accepted): `100MB`, `2gb`,
 * `1.5MB`. Fractions round down to whole bytes. Throws a `GatecacheError` on anything else.
 */
export function parseSize(input: number | string): number {
  const bytes = tryParseSize(input);
  if (bytes === undefined) {
    throw new GatecacheError(
      'ERR_INVALID_OPTION',
      `[gatecache] size must be a number of bytes or a string like "512KB", "100MB", "2GB"; got ${describeValue(input)}`,
    );
  }
  return bytes;
}

/** `parseSize` that returns undefined instead of throwing. */
export function tryParseSize(input: unknown): number | undefined {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? Math.floor(input) : undefined;
  }
  if (typeof input !== 'string') return undefined;
  const match = SIZE.exec(input.trim().toLowerCase());
  if (match === null) return undefined;
  const unit = match[2] === '' ? 1 : SIZE_UNITS[match[2] ?? ''];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
