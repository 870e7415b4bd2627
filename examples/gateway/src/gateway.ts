import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Express } from 'express';
import type { HttpCache } from '@gatecache/core';
import { httpCache } from '@gatecache/express';
import type { ExpressCacheOptions } from '@gatecache/express';
import { createProxy } from './proxy.ts';
import type { ProxyOptions, UpstreamProxy } from './proxy.ts';

export interface GatewayOptions extends ProxyOptions {
  /** Options for the gatecache middleware (in-memory by default); `false` runs the gateway without a cache. */
  readonly cache?: ExpressCacheOptions | false;
}

export interface Gateway {
  readonly app: Express;
  /** Not listening until `listen` is called; answers `Expect: 100-continue` through the upstream. */
  readonly server: http.Server;
  readonly proxy: UpstreamProxy;
  /** The cache engine in front of the proxy (purge, stats), absent with `cache: false`. */
  readonly cache: HttpCache | undefined;
  /** Resolves with the gateway's base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

export function createGateway(options: GatewayOptions): Gateway {
  const proxy = createProxy(options);
  const app = express();
  // The gateway forwards the upstream's response as it is; Express adds nothing of its own.
  app.disable('x-powered-by');
  app.disable('etag');

  const cacheMiddleware = options.cache === false ? undefined : httpCache(options.cache);
  if (cacheMiddleware !== undefined) app.use(cacheMiddleware);
  app.use(function forwardToUpstream(req, res) {
    proxy.handle(req, res);
  });

  const server = http.createServer(app);
  // Without this listener Node answers 100 Continue itself before the upstream has had a say;
  // with it, the proxy relays the upstream's 100 or its final answer (RFC 9110 §10.1.1).
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    app(req, res);
  });

  return {
    app,
    server,
    proxy,
    cache: cacheMiddleware?.cache,
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
      proxy.close();
      await cacheMiddleware?.cache.close();
    },
  };
}
