import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createGateway } from '../src/gateway.ts';
import type { AdapterName, Gateway, GatewayOptions } from '../src/gateway.ts';

export interface Started<S extends net.Server> {
  readonly server: S;
  readonly url: string;
  readonly port: number;
  /** TCP connections the server has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Listens on a free loopback port and tracks sockets so `close` never hangs on keep-alive. */
export async function listen<S extends net.Server>(server: S): Promise<Started<S>> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on('connection', (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

export function startUpstream(
  handler: http.RequestListener,
  options: http.ServerOptions = {},
): Promise<Started<http.Server>> {
  return listen(http.createServer(options, handler));
}

export async function startGateway(
  options: GatewayOptions,
): Promise<{ gateway: Gateway; url: string; close(): Promise<void> }> {
  const gateway = await createGateway(options);
  const url = await gateway.listen(0, '127.0.0.1');
  return { gateway, url, close: () => gateway.close() };
}

export interface ClientResponse {
  readonly status: number;
  readonly statusMessage: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** One request over a fresh connection (no pooling in the test client), body sent as given. */
export function request(
  url: string,
  options: http.RequestOptions & { body?: Buffer | string | readonly Buffer[] } = {},
): Promise<ClientResponse> {
  const { body, ...rest } = options;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const chunk of body as readonly Buffer[]) req.write(chunk);
      req.end();
    } else {
      req.end(body as Buffer | string | undefined);
    }
  });
}

export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Values of every line named `name` (case-insensitive) in wire order. */
export function rawValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) values.push(rawHeaders[i + 1] ?? '');
  }
  return values;
}

/** Sends bytes exactly as written over a new TCP connection and returns all that comes back until the peer closes. */
export function rawExchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(payload);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolver outside, for handing a signal between a test and a server. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The proxy suites run on both proxies bare (the Node one, and the fetch-style one Hono uses) and
 * behind the gatecache middleware on each framework.
 */
export const CACHE_MODES: ReadonlyArray<{
  mode: string;
  adapter: AdapterName;
  cache: false | Record<string, never>;
}> = [
  { mode: 'bare proxy', adapter: 'express', cache: false },
  { mode: 'bare fetch-style proxy (hono)', adapter: 'hono', cache: false },
  { mode: 'express, behind the cache', adapter: 'express', cache: {} },
  { mode: 'koa, behind the cache', adapter: 'koa', cache: {} },
  { mode: 'hono, behind the cache', adapter: 'hono', cache: {} },
];

/** Polls `check` until it returns true or `timeoutMs` passes; resolves with the last answer. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 2_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}
