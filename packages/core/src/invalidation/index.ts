export { Invalidation, createInvalidation, classifyPattern } from './invalidation.ts';
export type {
  InvalidationEvent,
  InvalidationOptions,
  InvalidationTarget,
  PurgeCounts,
  PurgeOptions,
  PurgePattern,
  PurgeSpec,
} from './invalidation.ts';
export { EpochTable } from './epochs.ts';
export type { EpochRecord } from './epochs.ts';
export { createMemoryEpochStore, epochField, parseEpochField } from './epoch-store.ts';
export type { EpochStore } from './epoch-store.ts';
export {
  compileKeyPattern,
  compileUrlPattern,
  escapeGlob,
  namespacePrefix,
  parseKey,
} from './key-patterns.ts';
export type { CompiledKeyPattern, KeyParts } from './key-patterns.ts';
export { createPurgeHandler, parseSpec } from './purge-handler.ts';
export type {
  PurgeHandler,
  PurgeHandlerOptions,
  PurgeHttpRequest,
  PurgeHttpResponse,
} from './purge-handler.ts';
export {
  constantTimeEqual,
  createMemoryReplayGuard,
  createSignatureCheck,
  createTokenCheck,
  signPurge,
} from './purge-auth.ts';
export type { ReplayGuard } from './purge-auth.ts';
export { createWriteInvalidation } from './write-invalidation.ts';
export type {
  WriteInvalidation,
  WriteInvalidationOptions,
  WriteRule,
} from './write-invalidation.ts';
