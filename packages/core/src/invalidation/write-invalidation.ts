import {
  compilePathPattern,
  decodeCapture,
  normalizePathForMatch,
  parseTemplate,
  type TemplatePart,
} from '../config/glob.ts';
import { invalidOption } from '../errors.ts';
import type { Origin } from '../origin.ts';
import type { CacheRequest } from '../types.ts';

/** Tags to purge when an unsafe request to `pattern` succeeds: `PUT /api/users/{id}` → `user:{id}`. */
export interface WriteRule {
  /** Path pattern in the grammar of policy rules; `{name}` captures feed the tag templates. */
  readonly pattern: string;
  /** Default POST, PUT, PATCH, DELETE. */
  readonly methods?: readonly string[];
  /** Tag templates (`user:{id}`, `users`). */
  readonly tags: readonly string[];
}

export interface WriteInvalidationOptions {
  /** Whatever purges tags: an `Invalidation`. */
  readonly invalidation: { invalidateTags(tags: readonly string[]): Promise<number> };
  /** A purge that fails after the write succeeded: the response is already on its way. */
  readonly onError?: (error: unknown) => void;
}

export interface WriteInvalidation {
  /** The tags a request would purge on success (empty when no rule matches). */
  tagsFor(method: string, url: string): string[];
  /**
   * Purges the rule's tags when `status` is a success (2xx, 3xx), as RFC 9111 §4.4 does for the
   * target URL itself. Resolves with the number of tags purged.
   */
  afterResponse(method: string, url: string, status: number): Promise<number>;
  /** An origin that purges the rule's tags once the wrapped origin's response succeeded. */
  wrapOrigin(request: CacheRequest, origin: Origin): Origin;
}

interface CompiledWriteRule {
  readonly regex: RegExp;
  readonly captures: readonly string[];
  readonly methods: ReadonlySet<string>;
  readonly tags: readonly TemplatePart[][];
}

const UNSAFE = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** Compiles write rules once; an invalid rule throws naming it. */
export function createWriteInvalidation(
  rules: readonly WriteRule[],
  options: WriteInvalidationOptions,
): WriteInvalidation {
  if (!Array.isArray(rules)) throw invalidOption('rules', rules, 'an array of write rules');
  if (typeof options?.invalidation?.invalidateTags !== 'function') {
    throw invalidOption(
      'invalidation',
      options?.invalidation,
      'an Invalidation (createInvalidation)',
    );
  }
  const compiled: CompiledWriteRule[] = rules.map((rule: WriteRule, index: number) => {
    const where = `rules[${index}]`;
    let pattern: ReturnType<typeof compilePathPattern>;
    try {
      pattern = compilePathPattern(rule.pattern);
    } catch (error) {
      throw invalidOption(
        `${where}.pattern`,
        rule.pattern,
        `a path pattern (${(error as Error).message})`,
      );
    }
    const methods = (rule.methods ?? UNSAFE).map((m) => String(m).toUpperCase());
    if (methods.length === 0 || !methods.every((m) => UNSAFE.includes(m))) {
      throw invalidOption(
        `${where}.methods`,
        rule.methods,
        'unsafe methods (POST, PUT, PATCH, DELETE)',
      );
    }
    if (!Array.isArray(rule.tags) || rule.tags.length === 0) {
      throw invalidOption(`${where}.tags`, rule.tags, 'a non-empty array of tag templates');
    }
    const tags = rule.tags.map((template: string) => {
      try {
        return parseTemplate(template, pattern.captures);
      } catch (error) {
        throw invalidOption(
          `${where}.tags`,
          template,
          `a template over the pattern's captures (${(error as Error).message})`,
        );
      }
    });
    return { regex: pattern.regex, captures: pattern.captures, methods: new Set(methods), tags };
  });
  const { invalidation } = options;

  function tagsFor(method: string, url: string): string[] {
    const upper = method.toUpperCase();
    const q = url.indexOf('?');
    const path = normalizePathForMatch(q === -1 ? url : url.slice(0, q));
    const out = new Set<string>();
    for (const rule of compiled) {
      if (!rule.methods.has(upper)) continue;
      const match = rule.regex.exec(path);
      if (match === null) continue;
      const values = new Map<string, string>();
      rule.captures.forEach((name, i) => values.set(name, decodeCapture(match[i + 1] ?? '')));
      for (const parts of rule.tags) {
        let tag = '';
        for (const part of parts)
          tag += typeof part === 'string' ? part : (values.get(part.capture) ?? '');
        if (tag !== '') out.add(tag);
      }
    }
    return [...out];
  }

  async function afterResponse(method: string, url: string, status: number): Promise<number> {
    if (!(status >= 200 && status < 400)) return 0;
    const tags = tagsFor(method, url);
    if (tags.length === 0) return 0;
    try {
      return await invalidation.invalidateTags(tags);
    } catch (error) {
      options.onError?.(error);
      return 0;
    }
  }

  return {
    tagsFor,
    afterResponse,
    wrapOrigin(request, origin) {
      return async function writeInvalidatingOrigin(call) {
        const outcome = await origin(call);
        if (outcome.error === undefined)
          await afterResponse(request.method, request.url, outcome.status);
        return outcome;
      };
    },
  };
}
