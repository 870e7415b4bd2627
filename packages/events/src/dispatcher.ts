import { invalidOption } from '@gatecache/core';
import type { InvalidationRule } from '@gatecache/core/config';
import { escapeGlob, type PurgeCounts, type PurgeSpec } from '@gatecache/core/invalidation';
import { parseCondition, type Condition } from './condition.ts';
import { expandTemplate, parseTemplate, type Template } from './template.ts';

/** Where events go: an `Invalidation` from `@gatecache/core/invalidation`. */
export interface InvalidationSink {
  invalidate(spec: PurgeSpec): Promise<PurgeCounts>;
}

export interface EventLogger {
  warn(message: string, details?: Readonly<Record<string, unknown>>): void;
  error(message: string, details?: Readonly<Record<string, unknown>>): void;
}

export interface EventDispatcherOptions {
  /** The seed's `invalidation.rules` (as `LoadedConfig.invalidation.rules`, or written in code). */
  readonly rules: readonly InvalidationRule[];
  readonly invalidation: InvalidationSink;
  /**
   * Names conditions may use besides event fields (`current_version`). A function is called at
   * each evaluation. A variable wins over an event field of the same name: an event cannot
   * forge what the gateway knows.
   */
  readonly variables?: Readonly<Record<string, unknown>>;
  /** Soft purges (stale, still usable for stale-if-error) for every action. Default false. */
  readonly soft?: boolean;
  readonly logger?: EventLogger;
}

/** What became of one message. Only a failure to apply a purge rejects (the source retries). */
export type DispatchResult =
  | {
      readonly outcome: 'applied';
      readonly event: string;
      readonly rules: number;
      readonly counts: PurgeCounts;
    }
  | {
      readonly outcome: 'ignored';
      readonly event: string;
      readonly reason: 'no-rule' | 'condition-false';
    }
  | { readonly outcome: 'rejected'; readonly reason: string };

export interface EventDispatcher {
  /** Handles a raw message (JSON bytes or text) or an already parsed event object. */
  dispatch(message: Uint8Array | string | object): Promise<DispatchResult>;
  /** The purge an event maps to, without applying it (undefined when no rule applies). */
  plan(event: object): PurgeSpec | undefined;
}

interface CompiledRule {
  readonly event: string;
  readonly action: InvalidationRule['action'];
  readonly tags: readonly Template[];
  readonly pattern: Template | undefined;
  readonly condition: Condition | undefined;
}

const consoleLogger: EventLogger = {
  warn: (message, details) => console.warn(message, details ?? ''),
  error: (message, details) => console.error(message, details ?? ''),
};

class Malformed extends Error {}

/** Compiles rules once; an invalid template or condition throws naming the rule. */
export function createEventDispatcher(options: EventDispatcherOptions): EventDispatcher {
  if (options === null || typeof options !== 'object')
    throw invalidOption('options', options, 'an object');
  if (typeof options.invalidation?.invalidate !== 'function') {
    throw invalidOption(
      'invalidation',
      options.invalidation,
      'an Invalidation (createInvalidation)',
    );
  }
  if (!Array.isArray(options.rules))
    throw invalidOption('rules', options.rules, 'an array of invalidation rules');
  const rules = options.rules.map((rule: InvalidationRule, index: number) =>
    compileRule(rule, index),
  );
  const byEvent = new Map<string, CompiledRule[]>();
  for (const rule of rules) byEvent.set(rule.event, [...(byEvent.get(rule.event) ?? []), rule]);
  const variables = options.variables ?? {};
  const logger = options.logger ?? consoleLogger;
  const soft = options.soft === true;

  function resolver(payload: Record<string, unknown>, root: Record<string, unknown>) {
    return (path: readonly string[]): unknown => {
      const head = path[0]!;
      if (Object.hasOwn(variables, head)) {
        const variable = variables[head];
        return walk(
          typeof variable === 'function' ? (variable as () => unknown)() : variable,
          path.slice(1),
        );
      }
      const fromPayload = walk(payload, path);
      return fromPayload !== undefined ? fromPayload : walk(root, path);
    };
  }

  function plan(event: object): PurgeSpec | undefined {
    const root = event as Record<string, unknown>;
    const type = eventType(root);
    if (type === undefined) throw new Malformed('the event has no "type" (or "event") string');
    const data = root['data'] ?? root['payload'];
    const payload =
      data !== null && typeof data === 'object' && !Array.isArray(data)
        ? (data as Record<string, unknown>)
        : root;
    const resolve = resolver(payload, root);
    const matching = byEvent.get(type) ?? [];
    const tags: string[] = [];
    const patterns: string[] = [];
    let all = false;
    let applied = 0;
    for (const rule of matching) {
      if (rule.condition !== undefined && !rule.condition.evaluate(resolve)) continue;
      applied++;
      try {
        switch (rule.action) {
          case 'invalidate_tags':
            for (const template of rule.tags) tags.push(expandTemplate(template, resolve));
            break;
          case 'invalidate_pattern': {
            const template = rule.pattern!;
            const urlGlob = template.source.startsWith('/');
            patterns.push(expandTemplate(template, resolve, urlGlob ? literalSegment : escapeGlob));
            break;
          }
          case 'invalidate_all':
            all = true;
            break;
          default:
            return rule.action satisfies never;
        }
      } catch (error) {
        throw new Malformed((error as Error).message);
      }
    }
    if (applied === 0) return undefined;
    return {
      ...(tags.length > 0 ? { tags } : {}),
      ...(patterns.length > 0 ? { patterns } : {}),
      ...(all ? { all: true } : {}),
      ...(soft ? { soft: true } : {}),
    };
  }

  async function dispatch(message: Uint8Array | string | object): Promise<DispatchResult> {
    let event: object;
    let type: string | undefined;
    let spec: PurgeSpec | undefined;
    try {
      event = parseMessage(message);
      type = eventType(event as Record<string, unknown>);
      spec = plan(event);
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
      logger.warn(
        '[gatecache] invalidation event dropped: ' + error.message,
        type === undefined ? {} : { event: type },
      );
      return { outcome: 'rejected', reason: error.message };
    }
    if (spec === undefined) {
      const reason = (byEvent.get(type!)?.length ?? 0) === 0 ? 'no-rule' : 'condition-false';
      if (reason === 'no-rule')
        logger.warn('[gatecache] no invalidation rule for event', { event: type });
      return { outcome: 'ignored', event: type!, reason };
    }
    const counts = await options.invalidation.invalidate(spec);
    return { outcome: 'applied', event: type!, rules: byEvent.get(type!)!.length, counts };
  }

  return { dispatch, plan };
}

function compileRule(rule: InvalidationRule, index: number): CompiledRule {
  const where = `rules[${index}]`;
  if (
    rule === null ||
    typeof rule !== 'object' ||
    typeof rule.event !== 'string' ||
    rule.event === ''
  ) {
    throw invalidOption(
      `${where}.event`,
      (rule as { event?: unknown } | null)?.event,
      'an event name',
    );
  }
  const parse = (field: string, text: unknown): Template => {
    if (typeof text !== 'string' || text === '')
      throw invalidOption(field, text, 'a non-empty template');
    try {
      return parseTemplate(text);
    } catch (error) {
      throw invalidOption(
        field,
        text,
        `a template over event fields: it ${(error as Error).message}`,
      );
    }
  };
  let condition: Condition | undefined;
  if (rule.condition !== undefined) {
    try {
      condition = parseCondition(rule.condition);
    } catch (error) {
      throw invalidOption(
        `${where}.condition`,
        rule.condition,
        `a condition such as "a.b != c": it ${(error as Error).message}`,
      );
    }
  }
  switch (rule.action) {
    case 'invalidate_tags':
      if (!Array.isArray(rule.tags) || rule.tags.length === 0) {
        throw invalidOption(`${where}.tags`, rule.tags, 'a non-empty array of tag templates');
      }
      return {
        event: rule.event,
        action: rule.action,
        tags: rule.tags.map((tag: string, i: number) => parse(`${where}.tags[${i}]`, tag)),
        pattern: undefined,
        condition,
      };
    case 'invalidate_pattern':
      return {
        event: rule.event,
        action: rule.action,
        tags: [],
        pattern: parse(`${where}.pattern`, rule.pattern),
        condition,
      };
    case 'invalidate_all':
      return { event: rule.event, action: rule.action, tags: [], pattern: undefined, condition };
    default:
      throw invalidOption(
        `${where}.action`,
        (rule as { action?: unknown }).action,
        '"invalidate_tags", "invalidate_pattern" or "invalidate_all"',
      );
  }
}

function parseMessage(message: Uint8Array | string | object): object {
  if (message instanceof Uint8Array || typeof message === 'string') {
    let value: unknown;
    try {
      value = JSON.parse(
        typeof message === 'string'
          ? message
          : new TextDecoder('utf-8', { fatal: true }).decode(message),
      );
    } catch {
      throw new Malformed('the message is not JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Malformed('the message is not a JSON object');
    return value;
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message))
    throw new Malformed('the message is not an object');
  return message;
}

function eventType(event: Record<string, unknown>): string | undefined {
  for (const field of ['type', 'event', 'event_type']) {
    const value = event[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function walk(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, segment))
      return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** A value put into a URL glob must stay one literal piece of a segment. */
function literalSegment(value: string): string {
  if (/[*{}/?#\s]/.test(value))
    throw new Error(`a field value "${value.slice(0, 40)}" would change the URL pattern`);
  return value;
}
