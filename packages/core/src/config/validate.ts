/** Validation of a whole configuration object into a `LoadedConfig`. */
import type { LayerName } from '../types.ts';
import type { ConfigPath } from './config-error.ts';
import type { ConfigEnv } from './env.ts';
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
  readPercent,
  readSize,
  readString,
  readStringList,
  type Raw,
  type ReadContext,
} from './read.ts';
import { readRule, readSettings, SETTINGS_KEYS, type RuleContext } from './rules.ts';
import type {
  CacheMonitoringConfig,
  CacheWarmingConfig,
  CacheWarmingStrategy,
  InvalidationConfig,
  InvalidationEventSource,
  InvalidationRule,
  LoadedConfig,
  MemoryLayerConfig,
  PolicyRule,
  PolicySettings,
  RedisConfig,
  RedisLayerConfig,
} from './schema.ts';

export const TOP_LEVEL_KEYS = [
  'cache',
  'response_cache',
  'invalidation',
  'cache_warming',
  'cache_monitoring',
  'redis',
] as const;

export interface ValidateOptions {
  /** Named in errors and kept in `LoadedConfig.source`; `"code"` by default. */
  readonly source?: string;
  /** Variables for `${NAME}`; `process.env` by default. */
  readonly env?: ConfigEnv;
  /** @internal position lookup supplied by the file parser. */
  readonly locate?: ReadContext['locate'];
  /** @internal files cannot hold functions; code can. */
  readonly allowFunctions?: boolean;
}

/** Optional keys whose value may be undefined become absent keys (exactOptionalPropertyTypes). */
type Compact<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

function compact<T extends object>(value: T): Compact<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Compact<T>;
}

function readMemoryLayer(ctx: ReadContext, value: unknown, path: ConfigPath): MemoryLayerConfig {
  const raw = readObject(ctx, value, path, ['type', 'max_size', 'max_entries', 'ttl_default']);
  readEnum(ctx, raw.type, [...path, 'type'], ['in_memory']);
  return compact({
    type: 'in_memory' as const,
    maxSizeBytes: optional(ctx, raw, 'max_size', path, (v, p) => readSize(ctx, v, p)),
    maxEntries: optional(ctx, raw, 'max_entries', path, (v, p) => readInteger(ctx, v, p, 1)),
    ttlDefault: optional(ctx, raw, 'ttl_default', path, (v, p) => readDuration(ctx, v, p)),
  });
}

function readRedisLayer(ctx: ReadContext, value: unknown, path: ConfigPath): RedisLayerConfig {
  const raw = readObject(ctx, value, path, [
    'type',
    'connection',
    'ttl_default',
    'compression',
    'serializer',
  ]);
  readEnum(ctx, raw.type, [...path, 'type'], ['redis']);
  return compact({
    type: 'redis' as const,
    connection: optional(ctx, raw, 'connection', path, (v, p) =>
      readString(ctx, v, p, { secret: true }),
    ),
    ttlDefault: optional(ctx, raw, 'ttl_default', path, (v, p) => readDuration(ctx, v, p)),
    compression: optional(ctx, raw, 'compression', path, (v, p) => readBoolean(ctx, v, p)) ?? false,
    serializer:
      optional(ctx, raw, 'serializer', path, (v, p) =>
        readEnum(ctx, v, p, ['json', 'msgpack'] as const),
      ) ?? 'json',
  });
}

function readInvalidation(ctx: ReadContext, value: unknown, path: ConfigPath): InvalidationConfig {
  const raw = readObject(ctx, value, path, ['strategies', 'rules']);
  const strategies = optional(ctx, raw, 'strategies', path, (v, p) => {
    const s = readObject(ctx, v, p, ['time_based', 'event_based', 'tag_based']);
    return compact({
      timeBased: optional(ctx, s, 'time_based', p, (tv, tp) => {
        const t = readObject(ctx, tv, tp, ['enabled', 'cleanup_interval']);
        return compact({
          enabled: optional(ctx, t, 'enabled', tp, (x, xp) => readBoolean(ctx, x, xp)) ?? true,
          cleanupInterval: optional(ctx, t, 'cleanup_interval', tp, (x, xp) =>
            readDuration(ctx, x, xp),
          ),
        });
      }),
      eventBased: optional(ctx, s, 'event_based', p, (ev, ep) => {
        const e = readObject(ctx, ev, ep, ['enabled', 'event_sources']);
        return {
          enabled: optional(ctx, e, 'enabled', ep, (x, xp) => readBoolean(ctx, x, xp)) ?? true,
          eventSources:
            optional(ctx, e, 'event_sources', ep, (x, xp) =>
              readArray(ctx, x, xp).map((item, i) => readEventSource(ctx, item, [...xp, i])),
            ) ?? [],
        };
      }),
      tagBased: optional(ctx, s, 'tag_based', p, (tv, tp) => {
        const t = readObject(ctx, tv, tp, ['enabled', 'batch_size']);
        return compact({
          enabled: optional(ctx, t, 'enabled', tp, (x, xp) => readBoolean(ctx, x, xp)) ?? true,
          batchSize: optional(ctx, t, 'batch_size', tp, (x, xp) => readInteger(ctx, x, xp, 1)),
        });
      }),
    });
  });
  const rules =
    optional(ctx, raw, 'rules', path, (v, p) =>
      readArray(ctx, v, p).map((item, i) => readInvalidationRule(ctx, item, [...p, i])),
    ) ?? [];
  return compact({ strategies, rules });
}

function readEventSource(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
): InvalidationEventSource {
  const raw = readObject(ctx, value, path, [
    'type',
    'endpoint',
    'authentication',
    'queue',
    'connection',
  ]);
  const type = readEnum(ctx, raw.type, [...path, 'type'], ['webhook', 'message_queue'] as const);
  if (type === 'webhook') {
    for (const key of ['queue', 'connection']) {
      if (raw[key] !== undefined)
        fail(ctx, [...path, key], 'belongs to type "message_queue", not "webhook"');
    }
    const endpoint = readString(ctx, raw.endpoint, [...path, 'endpoint']);
    if (!endpoint.startsWith('/'))
      failValue(ctx, [...path, 'endpoint'], 'a path starting with "/"', endpoint);
    return compact({
      type,
      endpoint,
      authentication: optional(ctx, raw, 'authentication', path, (v, p) => readString(ctx, v, p)),
    });
  }
  for (const key of ['endpoint', 'authentication']) {
    if (raw[key] !== undefined)
      fail(ctx, [...path, key], 'belongs to type "webhook", not "message_queue"');
  }
  return compact({
    type,
    queue: readString(ctx, raw.queue, [...path, 'queue']),
    connection: optional(ctx, raw, 'connection', path, (v, p) =>
      readString(ctx, v, p, { secret: true }),
    ),
  });
}

/** Event templates (`user:${user_id}`) name event fields, not environment variables. */
function readInvalidationRule(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
): InvalidationRule {
  const raw = readObject(ctx, value, path, ['event', 'action', 'tags', 'pattern', 'condition']);
  const event = readString(ctx, raw.event, [...path, 'event']);
  const action = readEnum(ctx, raw.action, [...path, 'action'], [
    'invalidate_tags',
    'invalidate_pattern',
    'invalidate_all',
  ] as const);
  const condition = optional(ctx, raw, 'condition', path, (v, p) =>
    readString(ctx, v, p, { interpolate: false }),
  );
  const only = (key: string, owner: string) => {
    if (raw[key] !== undefined) fail(ctx, [...path, key], `is used only by action "${owner}"`);
  };
  switch (action) {
    case 'invalidate_tags': {
      only('pattern', 'invalidate_pattern');
      const tags = readStringList(ctx, raw.tags, [...path, 'tags'], { interpolate: false });
      if (tags.length === 0) fail(ctx, [...path, 'tags'], 'must list at least one tag');
      return compact({ event, action, tags, condition });
    }
    case 'invalidate_pattern':
      only('tags', 'invalidate_tags');
      return compact({
        event,
        action,
        pattern: readString(ctx, raw.pattern, [...path, 'pattern'], { interpolate: false }),
        condition,
      });
    case 'invalidate_all':
      only('tags', 'invalidate_tags');
      only('pattern', 'invalidate_pattern');
      return compact({ event, action, condition });
  }
}

const CRON = /^(\S+\s+){4}\S+$/;

function readCacheWarming(ctx: ReadContext, value: unknown, path: ConfigPath): CacheWarmingConfig {
  const raw = readObject(ctx, value, path, ['enabled', 'schedule', 'strategies']);
  return compact({
    enabled: optional(ctx, raw, 'enabled', path, (v, p) => readBoolean(ctx, v, p)) ?? true,
    schedule: optional(ctx, raw, 'schedule', path, (v, p) => {
      const text = readString(ctx, v, p).trim();
      if (!CRON.test(text) || !/^[\d*/,\-\s]+$/.test(text)) {
        failValue(ctx, p, 'a five-field cron expression such as "0 */6 * * *"', text);
      }
      return text;
    }),
    strategies:
      optional(ctx, raw, 'strategies', path, (v, p) =>
        readArray(ctx, v, p).map((item, i) => readWarmingStrategy(ctx, item, [...p, i])),
      ) ?? [],
  });
}

function readWarmingStrategy(
  ctx: ReadContext,
  value: unknown,
  path: ConfigPath,
): CacheWarmingStrategy {
  const type = readEnum(ctx, (value as Raw | null)?.type, [...path, 'type'], [
    'popular_endpoints',
    'static_content',
    'user_specific',
  ] as const);
  switch (type) {
    case 'popular_endpoints': {
      const raw = readObject(ctx, value, path, ['type', 'source', 'limit']);
      return compact({
        type,
        source: readString(ctx, raw.source, [...path, 'source']),
        limit: optional(ctx, raw, 'limit', path, (v, p) => readInteger(ctx, v, p, 1)),
      });
    }
    case 'static_content': {
      const raw = readObject(ctx, value, path, ['type', 'paths']);
      const paths = readStringList(ctx, raw.paths, [...path, 'paths']);
      paths.forEach((target, i) => {
        if (!target.startsWith('/'))
          failValue(ctx, [...path, 'paths', i], 'a path starting with "/"', target);
      });
      return { type, paths };
    }
    case 'user_specific': {
      const raw = readObject(ctx, value, path, ['type', 'condition', 'data_types']);
      return compact({
        type,
        condition: optional(ctx, raw, 'condition', path, (v, p) =>
          readString(ctx, v, p, { interpolate: false }),
        ),
        dataTypes: readStringList(ctx, raw.data_types, [...path, 'data_types']),
      });
    }
  }
}

function readMonitoring(ctx: ReadContext, value: unknown, path: ConfigPath): CacheMonitoringConfig {
  const raw = readObject(ctx, value, path, ['metrics', 'dashboards']);
  const metrics =
    optional(ctx, raw, 'metrics', path, (v, p) => {
      const m = readObject(ctx, v, p, ['hit_rate', 'memory_usage', 'response_time']);
      return compact({
        hitRate: optional(ctx, m, 'hit_rate', p, (x, xp) => {
          const o = readObject(ctx, x, xp, ['alert_threshold']);
          return compact({
            alertThreshold: optional(ctx, o, 'alert_threshold', xp, (y, yp) =>
              readPercent(ctx, y, yp),
            ),
          });
        }),
        memoryUsage: optional(ctx, m, 'memory_usage', p, (x, xp) => {
          const o = readObject(ctx, x, xp, ['warning_threshold', 'critical_threshold']);
          return compact({
            warningThreshold: optional(ctx, o, 'warning_threshold', xp, (y, yp) =>
              readPercent(ctx, y, yp),
            ),
            criticalThreshold: optional(ctx, o, 'critical_threshold', xp, (y, yp) =>
              readPercent(ctx, y, yp),
            ),
          });
        }),
        responseTime: optional(ctx, m, 'response_time', p, (x, xp) => {
          const o = readObject(ctx, x, xp, ['p95_threshold', 'p99_threshold']);
          return compact({
            p95Threshold: optional(ctx, o, 'p95_threshold', xp, (y, yp) =>
              readDuration(ctx, y, yp),
            ),
            p99Threshold: optional(ctx, o, 'p99_threshold', xp, (y, yp) =>
              readDuration(ctx, y, yp),
            ),
          });
        }),
      });
    }) ?? {};
  const dashboards =
    optional(ctx, raw, 'dashboards', path, (v, p) =>
      readArray(ctx, v, p).map((item, i) => {
        const d = readObject(ctx, item, [...p, i], ['name', 'panels']);
        return {
          name: readString(ctx, d.name, [...p, i, 'name']),
          panels: readStringList(ctx, d.panels, [...p, i, 'panels']),
        };
      }),
    ) ?? [];
  return { metrics, dashboards };
}

const EVICTION_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;

function readRedis(ctx: ReadContext, value: unknown, path: ConfigPath): RedisConfig {
  const raw = readObject(ctx, value, path, [
    'url',
    'cluster',
    'connection_pool',
    'persistence',
    'memory',
  ]);
  return compact({
    url: optional(ctx, raw, 'url', path, (v, p) => readString(ctx, v, p, { secret: true })),
    cluster: optional(ctx, raw, 'cluster', path, (v, p) => {
      const c = readObject(ctx, v, p, ['enabled', 'nodes']);
      const nodes = optional(ctx, c, 'nodes', p, (x, xp) => readStringList(ctx, x, xp)) ?? [];
      nodes.forEach((node, i) => {
        if (!/^[^\s:]+:\d{1,5}$/.test(node))
          failValue(ctx, [...p, 'nodes', i], 'a "host:port"', node);
      });
      return {
        enabled: optional(ctx, c, 'enabled', p, (x, xp) => readBoolean(ctx, x, xp)) ?? true,
        nodes,
      };
    }),
    connectionPool: optional(ctx, raw, 'connection_pool', path, (v, p) => {
      const c = readObject(ctx, v, p, [
        'max_connections',
        'max_idle_connections',
        'connection_timeout',
        'read_timeout',
      ]);
      return compact({
        maxConnections: optional(ctx, c, 'max_connections', p, (x, xp) =>
          readInteger(ctx, x, xp, 1),
        ),
        maxIdleConnections: optional(ctx, c, 'max_idle_connections', p, (x, xp) =>
          readInteger(ctx, x, xp, 0),
        ),
        connectionTimeout: optional(ctx, c, 'connection_timeout', p, (x, xp) =>
          readDuration(ctx, x, xp),
        ),
        readTimeout: optional(ctx, c, 'read_timeout', p, (x, xp) => readDuration(ctx, x, xp)),
      });
    }),
    persistence: optional(ctx, raw, 'persistence', path, (v, p) => {
      const c = readObject(ctx, v, p, ['enabled', 'save_interval']);
      return compact({
        enabled: optional(ctx, c, 'enabled', p, (x, xp) => readBoolean(ctx, x, xp)) ?? true,
        saveInterval: optional(ctx, c, 'save_interval', p, (x, xp) => {
          const text = readString(ctx, x, xp).trim();
          const numbers = text.split(/\s+/);
          if (numbers.length % 2 !== 0 || !numbers.every((n) => /^\d+$/.test(n))) {
            failValue(ctx, xp, 'Redis "save" pairs of seconds and changes, such as "300 10"', text);
          }
          const pairs: { seconds: number; changes: number }[] = [];
          for (let i = 0; i < numbers.length; i += 2) {
            pairs.push({ seconds: Number(numbers[i]), changes: Number(numbers[i + 1]) });
          }
          return pairs;
        }),
      });
    }),
    memory: optional(ctx, raw, 'memory', path, (v, p) => {
      const c = readObject(ctx, v, p, ['max_memory', 'eviction_policy']);
      return compact({
        maxMemoryBytes: optional(ctx, c, 'max_memory', p, (x, xp) => readSize(ctx, x, xp)),
        evictionPolicy: optional(ctx, c, 'eviction_policy', p, (x, xp) =>
          readEnum(ctx, x, xp, EVICTION_POLICIES),
        ),
      });
    }),
  });
}

/**
 * Validates a configuration object (parsed from a file or written in code) and resolves its
 * units. Throws a `ConfigError` at the first problem, naming the source, field path and value.
 */
export function validateConfig(value: unknown, options: ValidateOptions = {}): LoadedConfig {
  const ctx: ReadContext = {
    source: options.source ?? 'code',
    env: options.env ?? process.env,
    locate: options.locate,
    allowFunctions: options.allowFunctions ?? true,
  };
  const root =
    value === undefined || value === null ? {} : readObject(ctx, value, [], TOP_LEVEL_KEYS);
  const cacheRaw: Raw =
    optional(ctx, root, 'cache', [], (v, p) =>
      readObject(ctx, v, p, ['enabled', 'layers', 'defaults', 'policies']),
    ) ?? {};
  const layersRaw = optional(ctx, cacheRaw, 'layers', ['cache'], (v, p) =>
    readObject(ctx, v, p, ['l1', 'l2']),
  );
  const l1 =
    layersRaw &&
    optional(ctx, layersRaw, 'l1', ['cache', 'layers'], (v, p) => readMemoryLayer(ctx, v, p));
  const l2 =
    layersRaw &&
    optional(ctx, layersRaw, 'l2', ['cache', 'layers'], (v, p) => readRedisLayer(ctx, v, p));
  const definedLayers = new Set<LayerName>();
  if (l1) definedLayers.add('l1');
  if (l2) definedLayers.add('l2');
  const ruleCtx: RuleContext = {
    ...ctx,
    layers: layersRaw === undefined ? undefined : definedLayers,
  };

  let defaults: PolicySettings =
    optional(ctx, cacheRaw, 'defaults', ['cache'], (v, p) =>
      readSettings(ruleCtx, readObject(ctx, v, p, SETTINGS_KEYS), p, []),
    ) ?? {};

  const responseRaw: Raw =
    optional(ctx, root, 'response_cache', [], (v, p) =>
      readObject(ctx, v, p, ['enabled', 'default_ttl', 'rules']),
    ) ?? {};
  const defaultTtl = optional(ctx, responseRaw, 'default_ttl', ['response_cache'], (v, p) =>
    readDuration(ctx, v, p),
  );
  if (defaultTtl !== undefined) {
    if (defaults.ttl !== undefined) {
      fail(
        ctx,
        ['response_cache', 'default_ttl'],
        'and cache.defaults.ttl set the same default; keep one',
      );
    }
    defaults = { ...defaults, ttl: defaultTtl };
  }

  const rules: PolicyRule[] = [];
  const readRules = (raw: Raw, section: string, key: string) =>
    optional(ctx, raw, key, [section], (v, p) =>
      readArray(ctx, v, p).forEach((item, i) =>
        rules.push(readRule(ruleCtx, item, [...p, i], `${section}.${key}[${i}]`)),
      ),
    );
  readRules(cacheRaw, 'cache', 'policies');
  readRules(responseRaw, 'response_cache', 'rules');

  const cacheEnabled =
    optional(ctx, cacheRaw, 'enabled', ['cache'], (v, p) => readBoolean(ctx, v, p)) ?? true;
  const responseEnabled =
    optional(ctx, responseRaw, 'enabled', ['response_cache'], (v, p) => readBoolean(ctx, v, p)) ??
    true;

  return compact({
    source: ctx.source,
    cache: {
      enabled: cacheEnabled && responseEnabled,
      layers: compact({ l1, l2 }),
      defaults,
    },
    rules,
    invalidation: optional(ctx, root, 'invalidation', [], (v, p) => readInvalidation(ctx, v, p)),
    cacheWarming: optional(ctx, root, 'cache_warming', [], (v, p) => readCacheWarming(ctx, v, p)),
    cacheMonitoring: optional(ctx, root, 'cache_monitoring', [], (v, p) =>
      readMonitoring(ctx, v, p),
    ),
    redis: optional(ctx, root, 'redis', [], (v, p) => readRedis(ctx, v, p)),
  });
}

/** Validates rules written in code (`compilePolicies([...])`), paths read `rules[2].ttl`. */
export function validateRules(value: unknown, options: ValidateOptions = {}): PolicyRule[] {
  const ctx: RuleContext = {
    source: options.source ?? 'code',
    env: options.env ?? process.env,
    locate: undefined,
    allowFunctions: true,
  };
  return readArray(ctx, value, ['rules']).map((item, i) =>
    readRule(ctx, item, ['rules', i], `rules[${i}]`),
  );
}
