/**
 * Compiles policy rules into the engine's `policy` function. Everything that does not depend on the
 * request is done here once: globs become RegExps, defaults and classification are merged, and
 * each rule's policy object is built and frozen, so a request costs a few RegExp tests and, for a
 * rule without tag templates, no allocation at all (the same frozen object is returned).
 */
import type { CacheRequest, Classification, DownstreamHeaders } from '../types.ts';
import type { DownstreamPreset } from './downstream.ts';
import { expandPreset } from './downstream.ts';
import type { ConfigEnv } from './env.ts';
import {
  compileHostPattern,
  compilePathPattern,
  decodeCapture,
  normalizePathForMatch,
  parseTemplate,
  type TemplatePart,
} from './glob.ts';
import {
  createPartitionResolver,
  type PartitionResolver,
  type PartitionSource,
} from './partition.ts';
import type {
  HeaderCondition,
  LoadedConfig,
  PolicyFunction,
  PolicyRule,
  PolicySettings,
  PolicySource,
  ResolvedPolicy,
} from './schema.ts';
import { validateConfig, validateRules } from './validate.ts';

/**
 * Defaults by data classification (the seed's security section). They apply where the rule itself
 * is silent, and win over `cache.defaults`:
 * - `public`: long freshness, 1 hour;
 * - `personal`: short freshness, 60 s, stored per user (partition: the Authorization credential
 *   unless the rule names another) and sent downstream as `private, no-cache` so no shared cache
 *   downstream keeps it;
 * - `sensitive`: never stored (`cache: false`) and `no-store` downstream.
 */
export const CLASSIFICATION_DEFAULTS: Readonly<Record<Classification, PolicySettings>> = {
  public: { ttl: 3600 },
  personal: { ttl: 60, private: true, downstream: 'private' },
  sensitive: { cache: false, downstream: 'no-store' },
};

/** A private rule that names no partition source is partitioned by the Authorization credential. */
export const DEFAULT_PARTITION: readonly PartitionSource[] = [
  { kind: 'header', name: 'authorization' },
];

export interface CompileOptions {
  /** Named in validation errors for rules and configs written in code; `"code"` by default. */
  readonly source?: string;
  /** Variables for `${NAME}` in code configs; `process.env` by default. */
  readonly env?: ConfigEnv;
}

interface CompiledRule {
  readonly methods: ReadonlySet<string> | undefined;
  readonly path: RegExp | undefined;
  readonly hosts: readonly RegExp[] | undefined;
  readonly headers: readonly HeaderCondition[] | undefined;
  readonly policy: ResolvedPolicy;
  /** Capture names in group order, when tags need them. */
  readonly captures: readonly string[];
  /** Per-tag template parts, when at least one tag is templated. */
  readonly tagParts: readonly (readonly TemplatePart[])[] | undefined;
  /** Resolver of a private rule's partition. */
  readonly partition: PartitionResolver | undefined;
}

export interface BuiltPolicy {
  readonly policy: ResolvedPolicy;
  readonly partition: PartitionResolver | undefined;
}

function isLoadedConfig(value: unknown): value is LoadedConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Partial<LoadedConfig>;
  return (
    typeof v.source === 'string' && Array.isArray(v.rules) && typeof v.cache?.enabled === 'boolean'
  );
}

function freezeDeep<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) freezeDeep(item);
  }
  return value;
}

function resolveDownstream(
  downstream: DownstreamHeaders | DownstreamPreset | undefined,
  ttl: number | undefined,
): DownstreamHeaders | undefined {
  return typeof downstream === 'string' ? expandPreset(downstream, ttl) : downstream;
}

/**
 * Merges defaults, classification defaults and the rule: the static policy (frozen) and, for a
 * private rule, the resolver of its partition.
 */
export function buildPolicy(
  name: string,
  defaults: PolicySettings,
  own: PolicySettings,
): BuiltPolicy {
  const classification = own.classification ?? defaults.classification;
  const settings: PolicySettings = {
    ...defaults,
    ...(classification !== undefined ? CLASSIFICATION_DEFAULTS[classification] : {}),
    ...own,
  };
  const downstream = resolveDownstream(settings.downstream, settings.ttl);
  if (settings.cache === false) {
    const policy: ResolvedPolicy = {
      name,
      cache: false,
      ...(classification !== undefined && { classification }),
      ...(downstream !== undefined && { downstream }),
    };
    return { policy: freezeDeep(policy), partition: undefined };
  }
  let partition = settings.partition;
  if (settings.private === true && (partition === undefined || partition.length === 0)) {
    partition = DEFAULT_PARTITION;
  }
  const policy: ResolvedPolicy = {
    name,
    ...(settings.cache !== undefined && { cache: settings.cache }),
    ...(settings.ttl !== undefined && { ttl: settings.ttl }),
    ...(settings.override !== undefined && { override: settings.override }),
    ...(settings.layers !== undefined && { layers: settings.layers }),
    ...(settings.tags !== undefined && { tags: settings.tags }),
    ...(partition !== undefined && partition.length > 0
      ? { private: true }
      : settings.private !== undefined && { private: settings.private }),
    ...(settings.varyHeaders !== undefined && { varyHeaders: settings.varyHeaders }),
    ...(settings.queryAllow !== undefined && { queryAllow: settings.queryAllow }),
    ...(settings.queryIgnore !== undefined && { queryIgnore: settings.queryIgnore }),
    ...(settings.staleWhileRevalidate !== undefined && {
      staleWhileRevalidate: settings.staleWhileRevalidate,
    }),
    ...(settings.staleIfError !== undefined && { staleIfError: settings.staleIfError }),
    ...(settings.maxBodyBytes !== undefined && { maxBodyBytes: settings.maxBodyBytes }),
    ...(settings.statuses !== undefined && { statuses: settings.statuses }),
    ...(settings.contentTypes !== undefined && { contentTypes: settings.contentTypes }),
    ...(classification !== undefined && { classification }),
    ...(settings.storeSetCookie !== undefined && { storeSetCookie: settings.storeSetCookie }),
    ...(downstream !== undefined && { downstream }),
  };
  return {
    policy: freezeDeep(policy),
    partition:
      partition !== undefined && partition.length > 0
        ? createPartitionResolver(partition)
        : undefined,
  };
}

function compileRule(rule: PolicyRule, defaults: PolicySettings): CompiledRule {
  const pattern = rule.pattern === undefined ? undefined : compilePathPattern(rule.pattern);
  const captures = pattern?.captures ?? [];
  const templates = (rule.tags ?? []).map((tag) => parseTemplate(tag, captures));
  const templated = templates.some((parts) => parts.some((part) => typeof part !== 'string'));
  return {
    methods: rule.methods && new Set(rule.methods),
    path: pattern?.regex,
    hosts: rule.hosts?.map(compileHostPattern),
    headers: rule.headers,
    ...buildPolicy(rule.name, defaults, rule),
    captures,
    tagParts: templated ? templates : undefined,
  };
}

function headerText(value: string | readonly string[] | undefined): string | undefined {
  return value === undefined || typeof value === 'string' ? value : value.join(', ');
}

function headersMatch(request: CacheRequest, conditions: readonly HeaderCondition[]): boolean {
  for (const condition of conditions) {
    const value = headerText(request.headers[condition.name]);
    if ('present' in condition) {
      if ((value !== undefined) !== condition.present) return false;
    } else if (value === undefined || !condition.values.includes(value)) {
      return false;
    }
  }
  return true;
}

function expandTags(
  parts: readonly (readonly TemplatePart[])[],
  captures: readonly string[],
  match: RegExpExecArray,
): string[] {
  const tags: string[] = [];
  for (const template of parts) {
    let tag = '';
    for (const part of template) {
      if (typeof part === 'string') tag += part;
      else tag += decodeCapture(match[captures.indexOf(part.capture) + 1] ?? '');
    }
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/**
 * Turns rules into the function the engine calls per request. Accepts a `LoadedConfig` (from
 * `loadConfigFile`/`parseConfig`), a `GatecacheConfig` object, or an array of rules; the last two
 * are validated here, once, and a problem throws a `ConfigError` naming the field.
 *
 * The first rule that matches wins, in the order written (`cache.policies`, then
 * `response_cache.rules`): put specific rules before general ones. A request no rule matches gets
 * the `cache.defaults` policy, or undefined (engine defaults) when there are none.
 */
export function compilePolicies(
  source: PolicySource,
  options: CompileOptions = {},
): PolicyFunction {
  const validate = {
    source: options.source ?? 'code',
    ...(options.env !== undefined && { env: options.env }),
  };
  const config: LoadedConfig = isLoadedConfig(source)
    ? source
    : Array.isArray(source)
      ? {
          source: validate.source,
          cache: { enabled: true, layers: {}, defaults: {} },
          rules: validateRules(source, validate),
        }
      : validateConfig(source, validate);

  if (!config.cache.enabled) {
    const disabled: ResolvedPolicy = Object.freeze({ name: 'cache.enabled=false', cache: false });
    return function resolvePolicy() {
      return disabled;
    };
  }

  const defaults = config.cache.defaults;
  const rules = config.rules.map((rule) => compileRule(rule, defaults));
  const fallback =
    Object.keys(defaults).length > 0
      ? compileRule({ name: 'cache.defaults', origin: 'cache.defaults', ...defaults }, {})
      : undefined;

  return function resolvePolicy(request: CacheRequest): ResolvedPolicy | undefined {
    const url = request.url;
    let end = url.indexOf('?');
    if (end === -1) end = url.indexOf('#');
    const path = normalizePathForMatch(end === -1 ? url : url.slice(0, end));
    for (const rule of rules) {
      if (rule.methods !== undefined && !rule.methods.has(request.method)) continue;
      if (rule.hosts !== undefined) {
        const host = request.host ?? headerText(request.headers.host);
        if (host === undefined || !rule.hosts.some((re) => re.test(host))) continue;
      }
      if (rule.headers !== undefined && !headersMatch(request, rule.headers)) continue;
      if (rule.path === undefined) return finish(rule, request, null);
      if (rule.tagParts === undefined) {
        if (rule.path.test(path)) return finish(rule, request, null);
        continue;
      }
      const match = rule.path.exec(path);
      if (match !== null) return finish(rule, request, match);
    }
    return fallback && finish(fallback, request, null);
  };
}

/**
 * Prototype of per-request policies that carry a partition: `JSON.stringify` and `console.log`
 * show `partition` as "[redacted]". Being inherited, these methods are not copied by the engine's
 * merge (Object.entries) while the partition itself, an own enumerable property, is.
 */
const REDACTED_PARTITION: object = Object.freeze(
  Object.defineProperties(
    {},
    {
      toJSON: {
        value: function toJSON(this: ResolvedPolicy) {
          return { ...this, partition: '[redacted]' };
        },
      },
      [Symbol.for('nodejs.util.inspect.custom')]: {
        value: function inspect(this: ResolvedPolicy) {
          return { ...this, partition: '[redacted]' };
        },
      },
    },
  ),
);

/** The static policy as is, or a copy with this request's tags and partition. */
function finish(
  rule: CompiledRule,
  request: CacheRequest,
  match: RegExpExecArray | null,
): ResolvedPolicy {
  if (rule.partition === undefined && (rule.tagParts === undefined || match === null)) {
    return rule.policy;
  }
  const partition = rule.partition?.(request);
  const result: { -readonly [K in keyof ResolvedPolicy]: ResolvedPolicy[K] } =
    partition === undefined
      ? { ...rule.policy }
      : Object.assign(Object.create(REDACTED_PARTITION) as object, rule.policy);
  if (rule.tagParts !== undefined && match !== null) {
    result.tags = Object.freeze(expandTags(rule.tagParts, rule.captures, match));
  }
  if (partition !== undefined) result.partition = partition;
  return Object.freeze(result);
}
