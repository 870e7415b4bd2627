import { GatecacheError } from '../errors.ts';

export type ConfigPath = readonly (string | number)[];

/** `["cache", "policies", 2, "ttl"]` → `cache.policies[2].ttl`. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * A configuration that fails validation. The message names the source (file), the line when the
 * file format tells it, the field path and the bad value; the same parts are fields for tools.
 */
export class ConfigError extends GatecacheError {
  /** File path or the `source` given by the caller. */
  readonly source: string;
  /** Field path such as `cache.policies[2].ttl`. */
  readonly path: string;
  /** 1-based line and column in the file, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(
    source: string,
    path: string,
    problem: string,
    position?: { line: number; column: number },
    options?: { cause?: unknown },
  ) {
    const where = position ? `${source}:${position.line}:${position.column}` : source;
    super('ERR_INVALID_CONFIG', `[gatecache] ${where}: ${path} ${problem}`, options);
    this.name = 'ConfigError';
    this.source = source;
    this.path = path;
    this.line = position?.line;
    this.column = position?.column;
  }
}
