export {
  compilePolicies,
  buildPolicy,
  CLASSIFICATION_DEFAULTS,
  DEFAULT_PARTITION,
} from './compile.ts';
export type { BuiltPolicy, CompileOptions } from './compile.ts';
export { ConfigError, formatConfigPath } from './config-error.ts';
export type { ConfigPath } from './config-error.ts';
export { expandPreset, normalizeDirectives, DOWNSTREAM_PRESETS } from './downstream.ts';
export type { DownstreamPreset } from './downstream.ts';
export { parseDuration, tryParseDuration } from './duration.ts';
export { interpolateEnv } from './env.ts';
export type { ConfigEnv } from './env.ts';
export { compilePathPattern, compileHostPattern, normalizePathForMatch } from './glob.ts';
export type { CompiledPattern } from './glob.ts';
export { createPartitionResolver, readCookie } from './partition.ts';
export type { PartitionResolver, PartitionSource } from './partition.ts';
export { loadConfigFile, parseConfig } from './parse.ts';
export type { ConfigFormat, LoadConfigOptions, ParseConfigOptions } from './parse.ts';
export type {
  CacheMonitoringConfig,
  CacheWarmingConfig,
  CacheWarmingStrategy,
  DownstreamInput,
  DurationInput,
  GatecacheConfig,
  HeaderCondition,
  InvalidationConfig,
  InvalidationEventSource,
  InvalidationRule,
  LoadedConfig,
  MemoryLayerConfig,
  MemoryLayerInput,
  PartitionInput,
  PolicyFunction,
  PolicyRule,
  PolicyRuleInput,
  PolicySettings,
  PolicySettingsInput,
  PolicySource,
  RedisConfig,
  RedisLayerConfig,
  RedisLayerInput,
  ResolvedPolicy,
  SizeInput,
  VaryByInput,
} from './schema.ts';
export { parseSize, tryParseSize } from './size.ts';
export { classifyVaryEntry, CREDENTIAL_HEADERS, HEADER_NAMES_WITHOUT_DASH } from './vary.ts';
export type { VaryEntry } from './vary.ts';
export { validateConfig, validateRules } from './validate.ts';
export type { ValidateOptions } from './validate.ts';
export { watchConfigFile } from './watch.ts';
export type { ConfigWatcher, WatchConfigOptions } from './watch.ts';
