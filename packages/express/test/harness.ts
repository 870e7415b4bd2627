import express, { type Express } from 'express';
import { createServer, request } from 'node:http';
import { afterEach } from 'vitest';
import { listen, manualClock } from '../../../test/support/http.ts';
import { httpCache, type ExpressCacheOptions } from '../src/index.ts';

export interface Harness {
  readonly base: string;
  readonly clock: ReturnType<typeof manualClock>;
  /** Origin calls per path. */
  readonly calls: Map<string, number>;
  readonly middleware: ReturnType<typeof httpCache>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  count(path: string): number;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/**
 * A real Express app on a loopback port with the cache in front, an injected clock, and a
 * counter of origin calls per path.
 */
export async function setup(
  routes: (app: Express, hit: (path: string) => number) => void,
  options: ExpressCacheOptions = {},
  before?: (app: Express) => void,
): Promise<Harness> {
  const clock = manualClock();
  const calls = new Map<string, number>();
  const app = express();
  before?.(app);
  const middleware = httpCache({ clock, ...options });
  app.use(middleware);
  const hit = (path: string): number => {
    const n = (calls.get(path) ?? 0) + 1;
    calls.set(path, n);
    return n;
  };
  routes(app, hit);
  const server = createServer(app);
  const { base, close } = await listen(server);
  closers.push(close);
  return {
    base,
    clock,
    calls,
    middleware,
    get: (path, headers) => rawGet(base + path, headers ?? {}),
    count: (path) => calls.get(path) ?? 0,
  };
}

/**
 * A GET that sends exactly the given header fields. (fetch adds Cache-Control: no-cache to
 * conditional requests, which would change what these tests measure.)
 */
export function rawGet(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const out = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        }
        const status = res.statusCode ?? 0;
        const body =
          status === 304 || status === 204 || method === 'HEAD' ? null : Buffer.concat(chunks);
        resolve(new Response(body, { status, headers: out }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
