export {
  applyOriginRequestHeaders,
  cacheRequestFromNode,
  runNodeOrigin,
  setHeaderList,
  snapshotHeaders,
  writePlan,
} from './bridge.ts';
export type { NodeOriginOptions, NodeRequestOptions } from './bridge.ts';
export { injectRequest } from './inject.ts';
export type { InjectedRequest, NodeHandler } from './inject.ts';
export { runThroughNodeApp, takeNodeBackgroundCall } from './background.ts';
export { frontHandler } from './front.ts';
export type { FrontOptions } from './front.ts';
