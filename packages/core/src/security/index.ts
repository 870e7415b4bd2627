export { createSealer, createSealerFromEnv, sealerKeysFromEnv } from './sealer.ts';
export type {
  EncryptionScope,
  Sealer,
  SealerKey,
  SealerOptions,
  SealerStats,
  SealRejectReason,
} from './sealer.ts';
export { revokeOnDelete } from './revoking-store.ts';
export {
  BudgetedMemoryStore,
  OVERFLOW_BUDGET,
  budgetPerTenant,
  createBudgetedMemoryStore,
} from './budgeted-store.ts';
export type {
  Budget,
  BudgetLimits,
  BudgetUsage,
  BudgetedMemoryStoreOptions,
  RouteBudget,
  TenantBudgetOptions,
} from './budgeted-store.ts';
export { isPersonalKey, parseKey, tenantOfKey } from './key-parts.ts';
export type { KeyParts } from './key-parts.ts';
