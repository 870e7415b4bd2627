export {
  applyOriginRequestHeaders,
  cacheRequestFromNode,
  runNodeOrigin,
  snapshotHeaders,
  writePlan,
} from './bridge.ts';
export type { NodeRequestOptions } from './bridge.ts';
