import { compilePathPattern, normalizePathForMatch } from '../config/glob.ts';
import { KEY_VERSION } from '../key.ts';

/** The parts of a store key (`gc1:<namespace>:<host><path>?<query>[ p=…][ v=…]`). */
export interface KeyParts {
  readonly host: string;
  readonly path: string;
  readonly query: string;
}

/** The prefix every key of a namespace starts with. */
export function namespacePrefix(namespace: string): string {
  return `${KEY_VERSION}:${namespace}:`;
}

/** Escapes the glob characters of a literal (Redis glob and the memory store's alike). */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Splits a key of the namespace into host, path and query; undefined for keys of another
 * namespace or shape. A space never occurs in the target (the engine escapes it), so the first
 * space ends it; partition, variant and digest suffixes follow.
 */
export function parseKey(key: string, prefix: string): KeyParts | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const slash = key.indexOf('/', prefix.length);
  if (slash === -1) return undefined;
  const space = key.indexOf(' ', slash);
  const target = space === -1 ? key.slice(slash) : key.slice(slash, space);
  const q = target.indexOf('?');
  return {
    host: key.slice(prefix.length, slash),
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
  };
}

/** A pattern purge, decided once: what to ask the store for and how to filter what comes back. */
export interface CompiledKeyPattern {
  readonly kind: 'url' | 'key';
  readonly source: string;
  /** Glob handed to `CacheStore.scan`. */
  readonly scan: string;
  /** True when a scanned key is to be deleted. */
  matches(key: string): boolean;
}

/**
 * A URL glob in the path grammar of policy rules (`/api/products/**`, `/api/users/*`), applied to
 * the path of every key of the namespace, on any host and with any query. Matching ignores ASCII
 * case as rule matching does, so the store is scanned for the whole namespace and the path is
 * tested here (a SCAN visits every key either way; only the transfer differs).
 */
export function compileUrlPattern(glob: string, namespace: string): CompiledKeyPattern {
  const compiled = compilePathPattern(glob);
  const prefix = namespacePrefix(namespace);
  return {
    kind: 'url',
    source: glob,
    scan: `${escapeGlob(prefix)}*`,
    matches(key) {
      const parts = parseKey(key, prefix);
      return parts !== undefined && compiled.regex.test(normalizePathForMatch(parts.path));
    },
  };
}

/**
 * A Redis-style glob over the keys of the namespace, after `gc1:<namespace>:`
 * (`api.example.com/api/products*`). The namespace prefix is literal, so a glob never reaches
 * another namespace.
 */
export function compileKeyPattern(glob: string, namespace: string): CompiledKeyPattern {
  const prefix = namespacePrefix(namespace);
  return {
    kind: 'key',
    source: glob,
    scan: escapeGlob(prefix) + glob,
    matches: (key) => key.startsWith(prefix),
  };
}
