import { digest } from '../hash.ts';
import { invalidOption } from '../errors.ts';

/**
 * JSON with object keys sorted at every level, so `{a, b}` and `{b, a}` name the same key.
 * Follows JSON's own rules otherwise (undefined members dropped, `toJSON` honoured); values JSON
 * cannot carry (functions, symbols, bigints, cycles) are refused rather than silently collapsed.
 */
export function stableStringify(value: unknown): string {
  const seen = new Set<object>();
  const walk = (input: unknown, inArray: boolean): string | undefined => {
    let item = input;
    if (
      item !== null &&
      typeof item === 'object' &&
      typeof (item as { toJSON?: unknown }).toJSON === 'function'
    ) {
      item = (item as { toJSON: () => unknown }).toJSON();
    }
    switch (typeof item) {
      case 'string':
      case 'boolean':
        return JSON.stringify(item);
      case 'number':
        return Number.isFinite(item) ? JSON.stringify(item) : 'null';
      case 'undefined':
        return inArray ? 'null' : undefined;
      case 'bigint':
      case 'function':
      case 'symbol':
        throw invalidOption('cache key arguments', item, 'JSON data (or pass a `key` option)');
      default:
        break;
    }
    if (item === null) return 'null';
    const object = item as object;
    if (seen.has(object)) {
      throw invalidOption('cache key arguments', object, 'JSON data without cycles');
    }
    seen.add(object);
    let out: string;
    if (Array.isArray(object)) {
      out = `[${object.map((element: unknown) => walk(element, true) ?? 'null').join(',')}]`;
    } else {
      const parts: string[] = [];
      for (const name of Object.keys(object).sort()) {
        const member = walk((object as Record<string, unknown>)[name], false);
        if (member !== undefined) parts.push(`${JSON.stringify(name)}:${member}`);
      }
      out = `{${parts.join(',')}}`;
    }
    seen.delete(object);
    return out;
  };
  return walk(value, false) ?? 'null';
}

/** Longest argument part kept readable in a key; longer ones are hashed. */
export const MAX_ARGS_KEY_LENGTH = 120;

/** A key part for call arguments: their stable JSON, or its digest when long. */
export function argsKey(args: readonly unknown[]): string {
  const json = stableStringify(args);
  return json.length <= MAX_ARGS_KEY_LENGTH ? json : `#${digest(json)}`;
}
