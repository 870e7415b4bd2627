import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { HttpCache } from '@gatecache/core';
import { invalidOption } from '@gatecache/core';
import { createCacheStack } from './cache-stack.ts';
import type { CacheStack, CacheStackOptions, GatewayEngineOptions } from './cache-stack.ts';
import { createExpressApp } from './express-app.ts';
import { createHonoApp } from './hono-app.ts';
import { createKoaApp } from './koa-app.ts';
import { createProxy } from './proxy.ts';
import type { ProxyOptions } from './proxy.ts';
import { createWebProxy } from './web-proxy.ts';

export const ADAPTERS = ['express', 'koa', 'hono'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export interface GatewayOptions extends ProxyOptions, Omit<CacheStackOptions, 'engine'> {
  /** The framework the gateway runs on. Default `express`; the behaviour is the same on each. */
  readonly adapter?: AdapterName;
  /** Engine options (in-memory by default); `false` runs the gateway without a cache. */
  readonly cache?: GatewayEngineOptions | false;
}

export interface Gateway {
  readonly adapter: AdapterName;
  /** Not listening until `listen` is called. */
  readonly server: http.Server;
  /** Engine, tiers, purge and metrics; absent with `cache: false`. */
  readonly stack: CacheStack | undefined;
  /** The cache engine in front of the proxy (purge, stats), absent with `cache: false`. */
  readonly cache: HttpCache | undefined;
  /** Resolves with the gateway's base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const adapter = options.adapter ?? 'express';
  if (!ADAPTERS.includes(adapter)) {
    throw invalidOption('adapter', adapter, `one of ${ADAPTERS.join(', ')}`);
  }
  const { cache: engine, ...rest } = options;
  const stack =
    engine === false
      ? undefined
      : await createCacheStack({ ...rest, ...(engine !== undefined && { engine }) });

  let handle: (req: http.IncomingMessage, res: http.ServerResponse) => unknown;
  let closeProxy: () => void;
  if (adapter === 'hono') {
    const proxy = createWebProxy(options);
    closeProxy = () => proxy.close();
    handle = getRequestListener(createHonoApp(stack, proxy).fetch);
  } else {
    const proxy = createProxy(options);
    closeProxy = () => proxy.close();
    handle =
      adapter === 'koa' ? createKoaApp(stack, proxy).callback() : createExpressApp(stack, proxy);
  }
  // Each framework answers its own errors; nothing is left for the caller to await.
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void handle(req, res);
  };
  const server = http.createServer(listener);
  const ownPaths = gatewayPaths(stack);
  // Without this listener Node answers 100 Continue itself before the upstream has had a say;
  // with it, the proxy relays the upstream's 100 or its final answer (RFC 9110 §10.1.1). The
  // gateway's own endpoints read their bodies at once, so they get their 100 here.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (ownPaths.some((own) => path === own || path.startsWith(own + '/'))) res.writeContinue();
    listener(req, res);
  });

  return {
    adapter,
    server,
    stack,
    cache: stack?.cache,
    listen(port = 0, host?: string) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        const onListening = (): void => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(
            `http://${shown === '::' || shown === '[::]' || shown === '0.0.0.0' ? 'localhost' : shown}:${address.port}`,
          );
        };
        if (host === undefined) server.listen(port, onListening);
        else server.listen(port, host, onListening);
      });
    },
    async close() {
      if (server.listening) {
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error === undefined ? resolve() : reject(error)));
          server.closeIdleConnections();
        });
      }
      closeProxy();
      await stack?.close();
    },
  };
}

/** Paths the gateway answers itself instead of proxying. */
function gatewayPaths(stack: CacheStack | undefined): string[] {
  const paths: string[] = [];
  if (stack?.purge !== undefined) paths.push(stack.purge.path);
  if (stack?.metrics !== undefined) paths.push('/_gatecache', '/metrics');
  return paths;
}
