export { runStoreConformance, expectSameRecord } from './store-conformance.ts';
export type { StoreUnderTest, StoreFactory, StoreConformanceOptions } from './store-conformance.ts';
export { createManualClock } from './manual-clock.ts';
export type { ManualClock } from './manual-clock.ts';
export { makeEntry, makeVaryRecord, incompressibleBytes } from './records.ts';
export { createFaultyStore } from './faulty-store.ts';
export type { Fault, FaultyStore } from './faulty-store.ts';
export {
  runAdapterParity,
  type ParityAdapter,
  type ParityApp,
  type ParityBody,
  type ParityReply,
  type ParityRequest,
  type ParityRoute,
  type ParityRouting,
  type ParityServer,
} from './adapter-parity.ts';
