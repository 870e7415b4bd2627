/** Reading configuration text (YAML or JSON) and files. */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigPath } from './config-error.ts';
import type { ConfigEnv } from './env.ts';
import type { LoadedConfig } from './schema.ts';
import { validateConfig } from './validate.ts';

export type ConfigFormat = 'yaml' | 'json';

export interface ParseConfigOptions {
  /** `yaml` (also reads JSON) or `json`; from the source's extension by default, else `yaml`. */
  readonly format?: ConfigFormat;
  /** File name (or any label) for errors and `LoadedConfig.source`; `"config"` by default. */
  readonly source?: string;
  /** Variables for `${NAME}`; `process.env` by default. */
  readonly env?: ConfigEnv;
}

export interface LoadConfigOptions {
  readonly format?: ConfigFormat;
  readonly env?: ConfigEnv;
}

function formatOf(source: string, format: ConfigFormat | undefined): ConfigFormat {
  if (format !== undefined) return format;
  return extname(source).toLowerCase() === '.json' ? 'json' : 'yaml';
}

function yamlLocator(doc: Document, lines: LineCounter) {
  return (path: ConfigPath) => {
    // The deepest node that exists on the path: an unknown key points at its own line.
    let node: unknown = doc.contents;
    let found = node;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
        if (pair === undefined) break;
        found = pair.key;
        node = pair.value;
        if (node !== null) found = node;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (node === undefined) break;
        found = node;
      } else {
        break;
      }
    }
    const range = (found as { range?: [number, number, number] } | null)?.range;
    if (range === undefined) return undefined;
    const position = lines.linePos(range[0]);
    return { line: position.line, column: position.col };
  };
}

function jsonPosition(text: string, error: unknown): { line: number; column: number } | undefined {
  const match = /position (\d+)/.exec(String((error as Error).message));
  if (match === null) return undefined;
  const before = text.slice(0, Number(match[1]));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Parses and validates configuration text. Throws a `ConfigError` (code `ERR_INVALID_CONFIG`)
 * naming the source, the line and column when known, the field path and the bad value.
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): LoadedConfig {
  const source = options.source ?? 'config';
  const format = formatOf(source, options.format);
  const env = options.env ?? process.env;
  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(
        source,
        '(root)',
        `is not valid JSON: ${(error as Error).message}`,
        jsonPosition(text, error),
        {
          cause: error,
        },
      );
    }
    return validateConfig(value, { source, env, allowFunctions: false });
  }
  const lines = new LineCounter();
  // YAML 1.2 core schema: `yes`/`no`/`on` stay strings, so they fail a boolean field loudly.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const position = lines.linePos(first.pos[0]);
    throw new ConfigError(
      source,
      '(root)',
      `is not valid YAML: ${first.message.split('\n')[0] ?? first.message}`,
      { line: position.line, column: position.col },
      { cause: first },
    );
  }
  if (doc.contents === null) {
    // An empty file is most often one caught mid-write: reading it as "no rules" would drop every
    // rule, `cache: false` ones included.
    throw new ConfigError(
      source,
      '(root)',
      'is empty; write at least one section such as "cache:"',
    );
  }
  return validateConfig(doc.toJS({ maxAliasCount: 100 }) as unknown, {
    source,
    env,
    locate: yamlLocator(doc, lines),
    allowFunctions: false,
  });
}

/** Reads, parses and validates a YAML or JSON configuration file. */
export async function loadConfigFile(
  path: string,
  options: LoadConfigOptions = {},
): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      path,
      '(file)',
      `cannot be read: ${(error as Error).message}`,
      undefined,
      { cause: error },
    );
  }
  return parseConfig(text, { source: path, ...options });
}
