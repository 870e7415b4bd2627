export { DataCache, createDataCache, cached } from './data-cache.ts';
export type {
  CachedOptions,
  DataCacheEvent,
  DataCacheOptions,
  DataEntryOptions,
  JsonValue,
} from './data-cache.ts';
export { WriteBehind, createWriteBehind } from './write-behind.ts';
export type {
  BackoffOptions,
  CloseReport,
  DropReason,
  QueuedWrite,
  WriteBehindEvent,
  WriteBehindOptions,
  WriteBehindStats,
} from './write-behind.ts';
export { createShutdown } from './shutdown.ts';
export type {
  Drainable,
  ShutdownLogger,
  ShutdownOptions,
  ShutdownReport,
  ShutdownStep,
} from './shutdown.ts';
export { stableStringify, argsKey, MAX_ARGS_KEY_LENGTH } from './stable-json.ts';
export { createManualTimers, systemTimers } from './timers.ts';
export type { ManualTimers, Timers } from './timers.ts';
