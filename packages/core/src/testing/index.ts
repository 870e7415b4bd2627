export { runStoreConformance, expectSameRecord } from './store-conformance.ts';
export type { StoreUnderTest, StoreFactory, StoreConformanceOptions } from './store-conformance.ts';
export { createManualClock } from './manual-clock.ts';
export type { ManualClock } from './manual-clock.ts';
export { makeEntry, makeVaryRecord, incompressibleBytes } from './records.ts';
