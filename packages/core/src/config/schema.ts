/**
 * Shapes of the configuration: `GatecacheConfig` is what a user writes (in YAML, JSON or code, with
 * the seed's snake_case keys so that one table documents all three), `LoadedConfig` what
 * validation returns (durations in seconds, sizes in bytes, camelCase, nothing left to parse).
 */
import type {
  CachePolicy,
  CacheRequest,
  Classification,
  DownstreamHeaders,
  LayerName,
} from '../types.ts';
import type { DownstreamPreset } from './downstream.ts';
import type { PartitionResolver, PartitionSource } from './partition.ts';

/** Seconds as a number, or a string such as `"300"`, `"5m"`, `"1h"`, `"50ms"`. */
export type DurationInput = number | string;
/** Bytes as a number, or a string such as `"512KB"`, `"100MB"`, `"2GB"`. */
export type SizeInput = number | string;

/** `authorization` (the Authorization credential), a header, a cookie, or a function (code only). */
export type PartitionInput =
  'authorization' | { readonly header: string } | { readonly cookie: string } | PartitionResolver;

export type VaryByInput =
  readonly string[] | { readonly headers?: readonly string[]; readonly query?: readonly string[] };

export type DownstreamInput =
  | DownstreamPreset
  | {
      readonly cache_control?: string;
      readonly cdn_cache_control?: string;
      readonly surrogate_control?: string;
    };

/** What a rule does to the requests it matches (also the shape of `cache.defaults`). */
export interface PolicySettingsInput {
  readonly cache?: boolean;
  readonly ttl?: DurationInput;
  readonly override?: boolean;
  readonly layers?: readonly LayerName[];
  readonly tags?: readonly string[];
  readonly private?: boolean;
  readonly partition?: PartitionInput;
  readonly vary_by?: VaryByInput;
  readonly query_params?: {
    readonly allow?: readonly string[];
    readonly ignore?: readonly string[];
  };
  readonly stale_while_revalidate?: DurationInput;
  readonly stale_if_error?: DurationInput;
  readonly max_body_size?: SizeInput;
  readonly statuses?: readonly number[];
  readonly content_types?: readonly string[];
  readonly classification?: Classification;
  readonly store_set_cookie?: boolean;
  readonly downstream?: DownstreamInput;
}

/** One policy rule: which requests (`pattern`/`path`, `methods`, `host`, `headers`) and what. */
export interface PolicyRuleInput extends PolicySettingsInput {
  readonly name?: string;
  /** Path glob (`cache.policies[]` spelling). */
  readonly pattern?: string;
  /** Path glob (`response_cache.rules[]` spelling); give `pattern` or `path`, not both. */
  readonly path?: string;
  readonly methods?: readonly string[];
  readonly host?: string | readonly string[];
  /** Request header conditions: a value, any of several values, `true` present, `false` absent. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | boolean>>;
}

export interface MemoryLayerInput {
  readonly type: 'in_memory';
  readonly max_size?: SizeInput;
  readonly max_entries?: number;
  readonly ttl_default?: DurationInput;
}

export interface RedisLayerInput {
  readonly type: 'redis';
  readonly connection?: string;
  readonly ttl_default?: DurationInput;
  readonly compression?: boolean;
  readonly serializer?: 'json' | 'msgpack';
}

export interface GatecacheConfig {
  readonly cache?: {
    readonly enabled?: boolean;
    readonly layers?: { readonly l1?: MemoryLayerInput; readonly l2?: RedisLayerInput };
    readonly defaults?: PolicySettingsInput;
    readonly policies?: readonly PolicyRuleInput[];
  };
  readonly response_cache?: {
    readonly enabled?: boolean;
    readonly default_ttl?: DurationInput;
    readonly rules?: readonly PolicyRuleInput[];
  };
  /** Seed blocks validated for shape here and wired by the features that use them. */
  readonly invalidation?: Readonly<Record<string, unknown>>;
  readonly cache_warming?: Readonly<Record<string, unknown>>;
  readonly cache_monitoring?: Readonly<Record<string, unknown>>;
  readonly redis?: Readonly<Record<string, unknown>>;
}

// ---- normalized ----

export type HeaderCondition =
  | { readonly name: string; readonly present: boolean }
  | { readonly name: string; readonly values: readonly string[] };

/** A validated rule: matching conditions plus settings, units resolved. */
export interface PolicySettings {
  readonly cache?: boolean;
  readonly ttl?: number;
  readonly override?: boolean;
  readonly layers?: readonly LayerName[];
  /** Tag templates, expanded per request from the pattern's captures. */
  readonly tags?: readonly string[];
  readonly private?: boolean;
  readonly partition?: readonly PartitionSource[];
  readonly varyHeaders?: readonly string[];
  readonly queryAllow?: readonly string[];
  readonly queryIgnore?: readonly string[];
  readonly staleWhileRevalidate?: number;
  readonly staleIfError?: number;
  readonly maxBodyBytes?: number;
  readonly statuses?: readonly number[];
  readonly contentTypes?: readonly string[];
  readonly classification?: Classification;
  readonly storeSetCookie?: boolean;
  readonly downstream?: DownstreamHeaders | DownstreamPreset;
}

export interface PolicyRule extends PolicySettings {
  readonly name: string;
  /** Where the rule was written, e.g. `cache.policies[2]`, for errors and metrics. */
  readonly origin: string;
  readonly pattern?: string;
  readonly methods?: readonly string[];
  readonly hosts?: readonly string[];
  readonly headers?: readonly HeaderCondition[];
}

export interface MemoryLayerConfig {
  readonly type: 'in_memory';
  readonly maxSizeBytes?: number;
  readonly maxEntries?: number;
  /** Seconds an entry stays in this layer at most. */
  readonly ttlDefault?: number;
}

export interface RedisLayerConfig {
  readonly type: 'redis';
  readonly connection?: string;
  readonly ttlDefault?: number;
  readonly compression: boolean;
  readonly serializer: 'json' | 'msgpack';
}

export interface InvalidationConfig {
  readonly strategies?: {
    readonly timeBased?: { readonly enabled: boolean; readonly cleanupInterval?: number };
    readonly eventBased?: {
      readonly enabled: boolean;
      readonly eventSources: readonly InvalidationEventSource[];
    };
    readonly tagBased?: { readonly enabled: boolean; readonly batchSize?: number };
  };
  readonly rules: readonly InvalidationRule[];
}

export type InvalidationEventSource =
  | { readonly type: 'webhook'; readonly endpoint: string; readonly authentication?: string }
  | { readonly type: 'message_queue'; readonly queue: string; readonly connection?: string };

/** `tags` and `pattern` are templates over event fields (`user:${user_id}`), kept as written. */
export type InvalidationRule =
  | {
      readonly event: string;
      readonly action: 'invalidate_tags';
      readonly tags: readonly string[];
      readonly condition?: string;
    }
  | {
      readonly event: string;
      readonly action: 'invalidate_pattern';
      readonly pattern: string;
      readonly condition?: string;
    }
  | { readonly event: string; readonly action: 'invalidate_all'; readonly condition?: string };

export interface CacheWarmingConfig {
  readonly enabled: boolean;
  /** Five-field cron expression. */
  readonly schedule?: string;
  readonly strategies: readonly CacheWarmingStrategy[];
}

export type CacheWarmingStrategy =
  | { readonly type: 'popular_endpoints'; readonly source: string; readonly limit?: number }
  | { readonly type: 'static_content'; readonly paths: readonly string[] }
  | {
      readonly type: 'user_specific';
      readonly condition?: string;
      readonly dataTypes: readonly string[];
    };

export interface CacheMonitoringConfig {
  readonly metrics: {
    /** Ratios in [0, 1] (`50%` is 0.5). */
    readonly hitRate?: { readonly alertThreshold?: number };
    readonly memoryUsage?: {
      readonly warningThreshold?: number;
      readonly criticalThreshold?: number;
    };
    /** Seconds (`50ms` is 0.05). */
    readonly responseTime?: { readonly p95Threshold?: number; readonly p99Threshold?: number };
  };
  readonly dashboards: readonly { readonly name: string; readonly panels: readonly string[] }[];
}

export interface RedisConfig {
  readonly url?: string;
  readonly cluster?: { readonly enabled: boolean; readonly nodes: readonly string[] };
  readonly connectionPool?: {
    readonly maxConnections?: number;
    readonly maxIdleConnections?: number;
    /** Seconds. */
    readonly connectionTimeout?: number;
    readonly readTimeout?: number;
  };
  readonly persistence?: {
    readonly enabled: boolean;
    /** Redis `save` pairs: `"300 10"` is after 300 s if at least 10 keys changed. */
    readonly saveInterval?: readonly { readonly seconds: number; readonly changes: number }[];
  };
  readonly memory?: { readonly maxMemoryBytes?: number; readonly evictionPolicy?: string };
}

export interface LoadedConfig {
  /** File path, or the `source` given to `parseConfig`/`validateConfig` (`"code"` by default). */
  readonly source: string;
  readonly cache: {
    /** false turns the response cache off: every request bypasses it. */
    readonly enabled: boolean;
    readonly layers: { readonly l1?: MemoryLayerConfig; readonly l2?: RedisLayerConfig };
    readonly defaults: PolicySettings;
  };
  /** Every rule in match order: `cache.policies`, then `response_cache.rules`. */
  readonly rules: readonly PolicyRule[];
  readonly invalidation?: InvalidationConfig;
  readonly cacheWarming?: CacheWarmingConfig;
  readonly cacheMonitoring?: CacheMonitoringConfig;
  readonly redis?: RedisConfig;
}

/** What `compilePolicies` accepts. */
export type PolicySource = LoadedConfig | GatecacheConfig | readonly PolicyRuleInput[];

/** The function the engine's `policy` option takes. */
export type PolicyFunction = (request: CacheRequest) => ResolvedPolicy | undefined;

/**
 * The engine's `CachePolicy`. For a private rule, `partition` holds the raw partition (the
 * Authorization credential, a cookie value, a resolver's result): the engine keys by its one-way
 * hash and never logs it. `JSON.stringify` and `console.log` of the returned policy show it as
 * "[redacted]"; a copy made by spreading or merging is plain and must not be logged whole.
 */
export type ResolvedPolicy = CachePolicy & { readonly partition?: string | undefined };
