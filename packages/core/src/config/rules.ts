/** Validation of policy rules (`cache.policies[]`, `response_cache.rules[]`, `cache.defaults`). */
import type { Classification, DownstreamHeaders, LayerName } from '../types.ts';
import type { ConfigPath } from './config-error.ts';
import { DOWNSTREAM_PRESETS, normalizeDirectives, type DownstreamPreset } from './downstream.ts';
import { compileHostPattern, compilePathPattern, parseTemplate } from './glob.ts';
import type { PartitionResolver, PartitionSource } from './partition.ts';
import {
  fail,
  failValue,
  optional,
  readArray,
  readBoolean,
  readDuration,
  readEnum,
  readInteger,
  readObject,
  readSize,
  readString,
  readStringList,
  type Raw,
  type ReadContext,
} from './read.ts';
import type { HeaderCondition, PolicyRule, PolicySettings } from './schema.ts';
import { classifyVaryEntry, CREDENTIAL_HEADERS, headerName, queryName } from './vary.ts';

export const SETTINGS_KEYS = [
  'cache',
  'ttl',
  'override',
  'layers',
  'tags',
  'private',
  'partition',
  'vary_by',
  'query_params',
  'stale_while_revalidate',
  'stale_if_error',
  'max_body_size',
  'statuses',
  'content_types',
  'classification',
  'store_set_cookie',
  'downstream',
] as const;

export const RULE_KEYS = [
  'name',
  'pattern',
  'path',
  'methods',
  'host',
  'headers',
  ...SETTINGS_KEYS,
] as const;

const LAYER_NAMES: readonly LayerName[] = ['l1', 'l2'];
const CLASSIFICATIONS: readonly Classification[] = ['public', 'personal', 'sensitive'];
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Z-]+$/;
const MEDIA_RANGE = /^(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)\/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*\*?)$/;

export interface RuleContext extends ReadContext {
  /** Layers the configuration defines; a rule may only name these. Undefined: any layer. */
  readonly layers?: ReadonlySet<LayerName> | undefined;
}

function wrap<T>(ctx: ReadContext, path: ConfigPath, value: unknown, run: () => T): T {
  try {
    return run();
  } catch (error) {
    return fail(ctx, path, `${(error as Error).message}; got ${JSON.stringify(value)}`);
  }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function readPartition(ctx: ReadContext, value: unknown, path: ConfigPath): PartitionSource {
  if (typeof value === 'function') {
    if (!ctx.allowFunctions)
      return failValue(ctx, path, '"authorization", { header } or { cookie }', value);
    return { kind: 'function', resolve: value as PartitionResolver };
  }
  if (typeof value === 'string') {
    const text = readString(ctx, value, path);
    if (text.toLowerCase() === 'authorization') return { kind: 'header', name: 'authorization' };
    return failValue(ctx, path, '"authorization", { header: NAME } or { cookie: NAME }', text);
  }
  const raw = readObject(ctx, value, path, ['header', 'cookie']);
  const header = optional(ctx, raw, 'header', path, (v, p) =>
    wrap(ctx, p, v, () => headerName(readString(ctx, v, p))),
  );
  const cookie = optional(ctx, raw, 'cookie', path, (v, p) => readString(ctx, v, p));
  if ((header === undefined) === (cookie === undefined)) {
    return fail(ctx, path, 'must have exactly one of "header" or "cookie"');
  }
  return header !== undefined
    ? { kind: 'header', name: header }
    : { kind: 'cookie', name: cookie ?? '' };
}

function readDownstream(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
): DownstreamHeaders | DownstreamPreset {
  if (typeof value === 'string') return readEnum(ctx, value, path, DOWNSTREAM_PRESETS);
  const raw = readObject(ctx, value, path, [
    'cache_control',
    'cdn_cache_control',
    'surrogate_control',
  ]);
  const field = (key: string) =>
    optional(ctx, raw, key, path, (v, p) => {
      const text = readString(ctx, v, p);
      return wrap(ctx, p, text, () => normalizeDirectives(text));
    });
  const cacheControl = field('cache_control');
  const cdnCacheControl = field('cdn_cache_control');
  const surrogateControl = field('surrogate_control');
  return {
    ...(cacheControl !== undefined && { cacheControl }),
    ...(cdnCacheControl !== undefined && { cdnCacheControl }),
    ...(surrogateControl !== undefined && { surrogateControl }),
  };
}

interface VaryResult {
  headers: string[];
  query: string[] | undefined;
  credentials: string[];
}

function readVaryBy(ctx: ReadContext, value: unknown, path: ConfigPath): VaryResult {
  const headers: string[] = [];
  let query: string[] | undefined;
  const addHeader = (name: string) => headers.push(name);
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const p = [...path, i];
      const entry = wrap(ctx, p, item, () => classifyVaryEntry(readString(ctx, item, p)));
      if (entry.kind === 'header') addHeader(entry.name);
      else (query ??= []).push(entry.name);
    });
  } else {
    const raw = readObject(ctx, value, path, ['headers', 'query']);
    optional(ctx, raw, 'headers', path, (v, p) =>
      readStringList(ctx, v, p).forEach((name, i) =>
        addHeader(wrap(ctx, [...p, i], name, () => headerName(name))),
      ),
    );
    query = optional(ctx, raw, 'query', path, (v, p) =>
      readStringList(ctx, v, p).map((name, i) => wrap(ctx, [...p, i], name, () => queryName(name))),
    );
  }
  return {
    headers: unique(headers.filter((h) => !CREDENTIAL_HEADERS.has(h))),
    query: query && unique(query),
    credentials: unique(headers.filter((h) => CREDENTIAL_HEADERS.has(h))),
  };
}

/**
 * Validates what a rule (or `cache.defaults`) does. `captures` are the names the rule's pattern
 * captures, for tag templates.
 */
export function readSettings(
  ctx: RuleContext,
  raw: Raw,
  path: ConfigPath,
  captures: readonly string[],
): PolicySettings {
  const cache = optional(ctx, raw, 'cache', path, (v, p) => readBoolean(ctx, v, p));
  const ttl = optional(ctx, raw, 'ttl', path, (v, p) => readDuration(ctx, v, p));
  const override = optional(ctx, raw, 'override', path, (v, p) => readBoolean(ctx, v, p));
  if (override === true && ttl === undefined) {
    fail(
      ctx,
      [...path, 'override'],
      'needs "ttl" in the same rule: override replaces the origin freshness with it',
    );
  }
  const layers = optional(ctx, raw, 'layers', path, (v, p) => {
    const names = readArray(ctx, v, p).map((item, i) => {
      const name = readEnum(ctx, item, [...p, i], LAYER_NAMES);
      if (ctx.layers !== undefined && !ctx.layers.has(name)) {
        fail(ctx, [...p, i], `names layer "${name}", which cache.layers does not define`);
      }
      return name;
    });
    if (names.length === 0)
      fail(ctx, p, 'must name at least one layer; use "cache: false" to bypass');
    return unique(names);
  });
  const tags = optional(ctx, raw, 'tags', path, (v, p) =>
    unique(
      readStringList(ctx, v, p).map((tag, i) => {
        wrap(ctx, [...p, i], tag, () => parseTemplate(tag, captures));
        return tag;
      }),
    ),
  );
  const explicitPrivate = optional(ctx, raw, 'private', path, (v, p) => readBoolean(ctx, v, p));
  const partition: PartitionSource[] = [];
  const explicitPartition = optional(ctx, raw, 'partition', path, (v, p) =>
    readPartition(ctx, v, p),
  );
  if (explicitPartition !== undefined) partition.push(explicitPartition);
  const vary = optional(ctx, raw, 'vary_by', path, (v, p) => readVaryBy(ctx, v, p));
  for (const name of vary?.credentials ?? []) {
    if (!partition.some((s) => s.kind === 'header' && s.name === name))
      partition.push({ kind: 'header', name });
  }
  if (explicitPrivate === false && partition.length > 0) {
    fail(
      ctx,
      [...path, 'private'],
      'is false, but the rule is partitioned by a credential (partition or vary_by Authorization/Cookie); remove one',
    );
  }
  const queryParams = optional(ctx, raw, 'query_params', path, (v, p) => {
    const q = readObject(ctx, v, p, ['allow', 'ignore']);
    return {
      allow: optional(ctx, q, 'allow', p, (a, ap) =>
        readStringList(ctx, a, ap).map((name, i) =>
          wrap(ctx, [...ap, i], name, () => {
            if (name.includes('*'))
              throw new Error('lists exact names; "*" prefixes belong in "ignore"');
            return queryName(name);
          }),
        ),
      ),
      ignore: optional(ctx, q, 'ignore', p, (a, ap) =>
        readStringList(ctx, a, ap).map((name, i) =>
          wrap(ctx, [...ap, i], name, () => {
            if (name.indexOf('*') !== -1 && name.indexOf('*') !== name.length - 1) {
              throw new Error('may have "*" only at the end (a prefix, as in "utm_*")');
            }
            if (name !== '*') queryName(name.endsWith('*') ? name.slice(0, -1) : name);
            return name;
          }),
        ),
      ),
    };
  });
  let queryAllow: string[] | undefined;
  if (vary?.query !== undefined || queryParams?.allow !== undefined) {
    queryAllow = unique([...(vary?.query ?? []), ...(queryParams?.allow ?? [])]);
  }
  const queryIgnore = queryParams?.ignore && unique(queryParams.ignore);
  const staleWhileRevalidate = optional(ctx, raw, 'stale_while_revalidate', path, (v, p) =>
    readDuration(ctx, v, p),
  );
  const staleIfError = optional(ctx, raw, 'stale_if_error', path, (v, p) =>
    readDuration(ctx, v, p),
  );
  const maxBodyBytes = optional(ctx, raw, 'max_body_size', path, (v, p) => readSize(ctx, v, p));
  const statuses = optional(ctx, raw, 'statuses', path, (v, p) =>
    unique(readArray(ctx, v, p).map((item, i) => readInteger(ctx, item, [...p, i], 100, 599))),
  );
  const contentTypes = optional(ctx, raw, 'content_types', path, (v, p) =>
    unique(
      readStringList(ctx, v, p).map((type, i) => {
        const lower = type.trim().toLowerCase();
        if (!MEDIA_RANGE.test(lower)) {
          failValue(
            ctx,
            [...p, i],
            'a media type "type/subtype" ("*" wildcards allowed, no parameters)',
            type,
          );
        }
        return lower;
      }),
    ),
  );
  const classification = optional(ctx, raw, 'classification', path, (v, p) =>
    readEnum(ctx, v, p, CLASSIFICATIONS),
  );
  if (classification === 'sensitive' && cache === true) {
    fail(
      ctx,
      [...path, 'cache'],
      'is true, but classification "sensitive" is never stored; remove one',
    );
  }
  const storeSetCookie = optional(ctx, raw, 'store_set_cookie', path, (v, p) =>
    readBoolean(ctx, v, p),
  );
  const downstream = optional(ctx, raw, 'downstream', path, (v, p) => readDownstream(ctx, v, p));
  const isPrivate = partition.length > 0 ? true : explicitPrivate;
  return {
    ...(cache !== undefined && { cache }),
    ...(ttl !== undefined && { ttl }),
    ...(override !== undefined && { override }),
    ...(layers !== undefined && { layers }),
    ...(tags !== undefined && { tags }),
    ...(isPrivate !== undefined && { private: isPrivate }),
    ...(partition.length > 0 && { partition }),
    ...(vary !== undefined && vary.headers.length > 0 && { varyHeaders: vary.headers }),
    ...(queryAllow !== undefined && { queryAllow }),
    ...(queryIgnore !== undefined && { queryIgnore }),
    ...(staleWhileRevalidate !== undefined && { staleWhileRevalidate }),
    ...(staleIfError !== undefined && { staleIfError }),
    ...(maxBodyBytes !== undefined && { maxBodyBytes }),
    ...(statuses !== undefined && { statuses }),
    ...(contentTypes !== undefined && { contentTypes }),
    ...(classification !== undefined && { classification }),
    ...(storeSetCookie !== undefined && { storeSetCookie }),
    ...(downstream !== undefined && { downstream }),
  };
}

function readHeaderConditions(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
): HeaderCondition[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return failValue(
      ctx,
      path,
      'a mapping of header name to value, list of values, true or false',
      value,
    );
  }
  return Object.entries(value as Raw).map(([key, condition]) => {
    const p = [...path, key];
    const name = wrap(ctx, p, key, () => headerName(key));
    if (typeof condition === 'boolean') return { name, present: condition };
    if (Array.isArray(condition)) {
      const values = readStringList(ctx, condition, p);
      if (values.length === 0) fail(ctx, p, 'must list at least one value');
      return { name, values };
    }
    if (typeof condition === 'string') return { name, values: [readString(ctx, condition, p)] };
    return failValue(
      ctx,
      p,
      'a value, a list of values, true (present) or false (absent)',
      condition,
    );
  });
}

/** Validates one rule; `origin` is where it was written (`cache.policies[2]`). */
export function readRule(
  ctx: RuleContext,
  value: unknown,
  path: ConfigPath,
  origin: string,
): PolicyRule {
  const raw = readObject(ctx, value, path, RULE_KEYS);
  if (raw.pattern !== undefined && raw.path !== undefined) {
    fail(ctx, [...path, 'path'], 'and "pattern" are the same setting; keep one');
  }
  const patternKey = raw.pattern !== undefined ? 'pattern' : 'path';
  const pattern = optional(ctx, raw, patternKey, path, (v, p) => readString(ctx, v, p));
  const captures =
    pattern === undefined
      ? []
      : wrap(ctx, [...path, patternKey], pattern, () => compilePathPattern(pattern)).captures;
  const methods = optional(ctx, raw, 'methods', path, (v, p) => {
    const list = readStringList(ctx, v, p).map((m, i) => {
      const upper = m.trim().toUpperCase();
      if (!METHOD.test(upper)) failValue(ctx, [...p, i], 'an HTTP method such as "GET"', m);
      return upper;
    });
    if (list.length === 0)
      fail(ctx, p, 'must list at least one method; leave it out to match every method');
    return unique(list);
  });
  const hosts = optional(ctx, raw, 'host', path, (v, p) => {
    const list = Array.isArray(v) ? readStringList(ctx, v, p) : [readString(ctx, v, p)];
    list.forEach((host, i) =>
      wrap(ctx, Array.isArray(v) ? [...p, i] : p, host, () => compileHostPattern(host)),
    );
    return list.map((h) => h.toLowerCase());
  });
  const headers = optional(ctx, raw, 'headers', path, (v, p) => readHeaderConditions(ctx, v, p));
  const name = optional(ctx, raw, 'name', path, (v, p) => readString(ctx, v, p));
  const settings = readSettings(ctx, raw, path, captures);
  return {
    name: name ?? pattern ?? origin,
    origin,
    ...(pattern !== undefined && { pattern }),
    ...(methods !== undefined && { methods }),
    ...(hosts !== undefined && { hosts }),
    ...(headers !== undefined && { headers }),
    ...settings,
  };
}
