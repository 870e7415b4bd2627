export { DEFAULTS } from './defaults.ts';
export { HttpCache, createHttpCache } from './engine.ts';
export type {
  BackgroundRunner,
  CacheEvent,
  HttpCacheOptions,
  Lookahead,
  PriorLookup,
} from './engine.ts';
export {
  createMemoryStore,
  MemoryStore,
  sizeOfRecord,
  RECORD_OVERHEAD_BYTES,
  globToRegExp,
} from './memory-store.ts';
export type { MemoryStoreOptions } from './memory-store.ts';
export { GatecacheError, invalidOption, positiveMilliseconds } from './errors.ts';
export type { GatecacheErrorCode } from './errors.ts';
export { monotonicNow, systemClock } from './clock.ts';
export { formatCacheStatus } from './cache-status.ts';
export type { CacheStatusParts, ForwardReason } from './cache-status.ts';
export {
  parseCacheControl,
  parseDeltaSeconds,
  parseHttpDate,
  DELTA_SECONDS_MAX,
} from './cache-control.ts';
export type { CacheControl, DirectiveValue } from './cache-control.ts';
export {
  assessStorability,
  computeFreshnessLifetime,
  computeInitialAge,
  currentAge,
  decideReuse,
  canServeStaleOnError,
  parseRequestDirectives,
  responseDirectives,
  varyFields,
} from './policy.ts';
export type {
  NotStoredReason,
  PolicySettings,
  RequestDirectives,
  ReuseDecision,
  StorabilityVerdict,
} from './policy.ts';
export {
  buildPrimaryKey,
  normalizeTarget,
  variantKey,
  KEY_VERSION,
  MAX_KEY_LENGTH,
} from './key.ts';
export type { KeySettings } from './key.ts';
export { digest, generateETag } from './hash.ts';
export { headerListFromRaw, headerListFromRecord, withoutHopByHop, splitList } from './headers.ts';
export type {
  HandleResult,
  HeadAction,
  Origin,
  OriginCall,
  OriginOutcome,
  OriginRequestHeaders,
  SendPlan,
} from './origin.ts';
export type {
  CacheEntry,
  CachePolicy,
  CacheRequest,
  CacheStore,
  Classification,
  Clock,
  DownstreamHeaders,
  EntryFlags,
  HeaderList,
  InvalidationBus,
  InvalidationMessage,
  LayerName,
  LeaseManager,
  MaybePromise,
  RequestHeaders,
  StoreHints,
  StoredRecord,
  VaryRecord,
} from './types.ts';
export { withResilience, ResilientStore } from './resilient-store.ts';
export type {
  BreakerOptions,
  BreakerState,
  ResilienceOptions,
  ResilienceStats,
  StoreOperation,
} from './resilient-store.ts';
export { createTieredStore, TieredStore } from './tiered-store.ts';
export type { TieredStoreOptions, TierOperation } from './tiered-store.ts';
export { CircuitBreaker } from './circuit-breaker.ts';
export type { BreakerGate, CircuitBreakerOptions } from './circuit-breaker.ts';
export {
  BACKGROUND_FIELD,
  NOT_COPIED_TO_BACKGROUND,
  registerBackgroundCall,
  takeBackgroundCall,
} from './background-calls.ts';
export type { PendingBackgroundCall } from './background-calls.ts';
export {
  UNKEYED_HEADERS,
  contentTypeContradictsPath,
  findUnkeyedHeader,
  hasRequestBody,
  hasUnsafeHeader,
} from './defences.ts';
export { stripIgnoredQuery } from './key.ts';
export { resolveAdapterOptions } from './adapter-options.ts';
export type { AdapterOptions, ResolvedAdapterOptions } from './adapter-options.ts';
