export {
  applyOriginRequestHeaders,
  cacheRequestFromNode,
  runNodeOrigin,
  setHeaderList,
  snapshotHeaders,
  toDictionaryMode,
  writePlan,
} from './bridge.ts';
export type { NodeRequestOptions } from './bridge.ts';
export { injectRequest } from './inject.ts';
export type { InjectedRequest, NodeHandler } from './inject.ts';
export { runThroughNodeApp, takeNodeBackgroundCall } from './background.ts';
export { frontHandler, takePriorLookup } from './front.ts';
export type { FrontMountOptions, FrontOptions } from './front.ts';
