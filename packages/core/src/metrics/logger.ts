/**
 * The logger shape gatecache writes to: pino's (`logger.warn(obj, msg)`), which bunyan, a
 * `console`-backed adapter and most structured loggers accept too. Quiet unless one is given.
 */
export interface GatecacheLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

/** Logs nothing: the default, so a cache never writes to stdout unasked. */
export const silentLogger: GatecacheLogger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
});

/** Checks the shape once, at creation. */
export function isLogger(value: unknown): value is GatecacheLogger {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((level) => typeof v[level] === 'function');
}

/**
 * What of an error may be logged: its class, code and first line of message, cut short. Never the
 * error object itself (a Redis error may carry the command and its arguments, that is keys).
 */
export function errorSummary(error: unknown): { name: string; code?: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = (error.message.split('\n')[0] ?? '').slice(0, 200);
    return typeof code === 'string'
      ? { name: error.name, code, message }
      : { name: error.name, message };
  }
  return { name: typeof error, message: '' };
}

/** Calls the logger without letting a faulty one break the caller. */
export function safeLog(
  logger: GatecacheLogger,
  level: keyof GatecacheLogger,
  obj: object,
  msg: string,
): void {
  try {
    logger[level](obj, msg);
  } catch {
    // Logging is best effort.
  }
}
