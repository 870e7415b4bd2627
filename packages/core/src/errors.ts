/** Stable codes callers can switch on. */
export type GatecacheErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_CONFIG'
  | 'ERR_STORE'
  | 'ERR_STORE_TIMEOUT'
  | 'ERR_CIRCUIT_OPEN'
  | 'ERR_CORRUPT_ENTRY'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_BAD_REQUEST'
  | 'ERR_QUEUE_FULL'
  | 'ERR_QUEUE_CLOSED';

/** The one error family of gatecache. Messages start with `[gatecache]` and say what to change. */
export class GatecacheError extends Error {
  readonly code: GatecacheErrorCode;

  constructor(code: GatecacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message.startsWith('[gatecache]') ? message : `[gatecache] ${message}`, options);
    this.name = 'GatecacheError';
    this.code = code;
  }
}

/** An option that fails validation: names the option and shows the bad value. */
export function invalidOption(name: string, value: unknown, expected: string): GatecacheError {
  return new GatecacheError(
    'ERR_INVALID_OPTION',
    `[gatecache] option "${name}" must be ${expected}; got ${describeValue(value)}`,
  );
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return typeof value;
}

/** A timeout option: `fallback` when absent, else a positive finite number of milliseconds. */
export function positiveMilliseconds(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  const ms = value ?? fallback;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw invalidOption(name, value, 'a positive number of milliseconds');
  }
  return ms;
}
