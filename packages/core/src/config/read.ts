/**
 * Typed readers for configuration values: each checks one value, interpolates `${ENV}` in strings,
 * and throws a `ConfigError` naming the source, the field path and the bad value.
 */
import { describeValue } from '../errors.ts';
import { ConfigError, formatConfigPath, type ConfigPath } from './config-error.ts';
import { tryParseDuration } from './duration.ts';
import { interpolateEnv, type ConfigEnv } from './env.ts';
import { tryParseSize } from './size.ts';

export interface ReadContext {
  readonly source: string;
  readonly env: ConfigEnv;
  /** Position of a field in the file, when the format tells it. */
  readonly locate?:
    ((path: ConfigPath) => { line: number; column: number } | undefined) | undefined;
  /** Rules written in code may hold functions (a partition resolver); files cannot. */
  readonly allowFunctions: boolean;
}

export type Raw = Readonly<Record<string, unknown>>;

export function fail(ctx: ReadContext, path: ConfigPath, problem: string, cause?: unknown): never {
  const position = ctx.locate?.(path);
  throw new ConfigError(
    ctx.source,
    formatConfigPath(path),
    problem,
    position,
    cause === undefined ? undefined : { cause },
  );
}

export function failValue(
  ctx: ReadContext,
  path: ConfigPath,
  expected: string,
  value: unknown,
  secret = false,
): never {
  return fail(
    ctx,
    path,
    `must be ${expected}; got ${secret ? 'a value (not shown: it may hold a secret)' : describeValue(value)}`,
  );
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min(
        current + 1,
        (row[j - 1] ?? 0) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}

function suggest(key: string, allowed: readonly string[]): string {
  const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');
  if (snake !== key && allowed.includes(snake)) return `; did you mean "${snake}"?`;
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = levenshtein(key.toLowerCase(), candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? `; known keys: ${allowed.join(', ')}` : `; did you mean "${best}"?`;
}

/** An object whose keys are all known: a typo must fail loudly, not disable a rule silently. */
export function readObject(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
  allowed: readonly string[],
): Raw {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return failValue(ctx, path, 'an object (a mapping of keys)', value);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      fail(ctx, [...path, key], `is not a known key${suggest(key, allowed)}`);
  }
  return value as Raw;
}

export function readArray(ctx: ReadContext, value: unknown, path: ConfigPath): readonly unknown[] {
  if (!Array.isArray(value)) return failValue(ctx, path, 'a list', value);
  return value;
}

function interpolated(ctx: ReadContext, value: string, path: ConfigPath): string {
  try {
    return interpolateEnv(value, ctx.env);
  } catch (error) {
    return fail(ctx, path, (error as Error).message);
  }
}

export function readString(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
  options: {
    readonly interpolate?: boolean;
    readonly secret?: boolean;
    readonly nonEmpty?: boolean;
  } = {},
): string {
  if (typeof value !== 'string') return failValue(ctx, path, 'a string', value, options.secret);
  const text = options.interpolate === false ? value : interpolated(ctx, value, path);
  if (options.nonEmpty !== false && text.trim() === '') {
    return failValue(ctx, path, 'a non-empty string', text, options.secret);
  }
  return text;
}

/** A scalar that may arrive as a string through `${ENV}`: returns the expanded text then. */
function scalarText(ctx: ReadContext, value: unknown, path: ConfigPath): string | undefined {
  return typeof value === 'string' && value.includes('${')
    ? interpolated(ctx, value, path).trim()
    : undefined;
}

export function readBoolean(ctx: ReadContext, value: unknown, path: ConfigPath): boolean {
  if (typeof value === 'boolean') return value;
  const text = scalarText(ctx, value, path);
  if (text === 'true') return true;
  if (text === 'false') return false;
  return failValue(ctx, path, 'true or false', text ?? value);
}

export function readInteger(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const text = scalarText(ctx, value, path);
  const number = text !== undefined && /^-?\d+$/.test(text) ? Number(text) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    return failValue(ctx, path, `a whole number ${range}`, text ?? value);
  }
  return number;
}

export function readDuration(ctx: ReadContext, value: unknown, path: ConfigPath): number {
  const input = typeof value === 'string' ? interpolated(ctx, value, path) : value;
  const seconds = tryParseDuration(input);
  if (seconds === undefined) {
    return failValue(
      ctx,
      path,
      'a duration: seconds, or a string such as "300", "5m", "1h", "50ms"',
      input,
    );
  }
  return seconds;
}

export function readSize(ctx: ReadContext, value: unknown, path: ConfigPath): number {
  const input = typeof value === 'string' ? interpolated(ctx, value, path) : value;
  const bytes = tryParseSize(input);
  if (bytes === undefined) {
    return failValue(
      ctx,
      path,
      'a size: bytes, or a string such as "512KB", "100MB", "2GB"',
      input,
    );
  }
  return bytes;
}

/** `50%` → 0.5; a number is taken as a ratio and must lie in [0, 1]. */
export function readPercent(ctx: ReadContext, value: unknown, path: ConfigPath): number {
  const input = typeof value === 'string' ? interpolated(ctx, value, path).trim() : value;
  if (typeof input === 'number' && input >= 0 && input <= 1) return input;
  if (typeof input === 'string') {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(input);
    if (match !== null && Number(match[1]) <= 100) return Number(match[1]) / 100;
  }
  return failValue(ctx, path, 'a percentage such as "50%" (or a ratio from 0 to 1)', input);
}

export function readEnum<T extends string>(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
  allowed: readonly T[],
): T {
  const text = typeof value === 'string' ? interpolated(ctx, value, path) : value;
  if (typeof text === 'string' && (allowed as readonly string[]).includes(text)) return text as T;
  return failValue(ctx, path, `one of ${allowed.map((a) => `"${a}"`).join(', ')}`, text);
}

export function readStringList(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
  options: { readonly interpolate?: boolean } = {},
): string[] {
  return readArray(ctx, value, path).map((item, i) => readString(ctx, item, [...path, i], options));
}

/** Reads `raw[key]` with `reader` when present; `key:` with no value (null) is an error. */
export function optional<T>(
  ctx: ReadContext,
  raw: Raw,
  key: string,
  path: ConfigPath,
  reader: (value: unknown, path: ConfigPath) => T,
): T | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (value === null) fail(ctx, [...path, key], 'has no value; give one or remove the key');
  return reader(value, [...path, key]);
}
