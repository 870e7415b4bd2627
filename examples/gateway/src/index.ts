export { ADAPTERS, createGateway } from './gateway.ts';
export type { AdapterName, Gateway, GatewayOptions } from './gateway.ts';
export { GATEWAY_NAMESPACE, createCacheStack } from './cache-stack.ts';
export type {
  CacheStack,
  CacheStackOptions,
  GatewayEngineOptions,
  GatewayLog,
} from './cache-stack.ts';
export { createDemoApp, startDemoBackend } from './demo-backend.ts';
export type { DemoBackend, DemoBackendOptions, Product } from './demo-backend.ts';
export { createProxy } from './proxy.ts';
export type { ProxyOptions, UpstreamProxy } from './proxy.ts';
export { createWebProxy } from './web-proxy.ts';
export type { WebClient, WebProxy } from './web-proxy.ts';
