import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxy } from '../src/proxy.ts';
import {
  deferred,
  listen,
  readBody,
  request,
  startGateway,
  startUpstream,
  CACHE_MODES,
} from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function closedPort(): Promise<number> {
  const probe = await listen(net.createServer());
  await probe.close();
  return probe.port;
}

describe.each(CACHE_MODES)('$mode', ({ cache, adapter }) => {
  describe('upstream failures', () => {
    it('answers 502 with a JSON body when the upstream is unreachable', async () => {
      const port = await closedPort();
      const gw = await startGateway({ upstream: `http://127.0.0.1:${port}`, cache, adapter });
      cleanup.push(() => gw.close());
      const res = await request(`${gw.url}/api/products`);
      expect(res.status).toBe(502);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      const body = JSON.parse(res.body.toString()) as { error: string; message: string };
      expect(body.error).toBe('bad_gateway');
      expect(body.message).toMatch(/^upstream unreachable: .*ECONNREFUSED/);
    });

    it('answers 502 when the upstream resets the connection before answering', async () => {
      const upstream = await startUpstream((req) => req.socket.destroy());
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter });
      cleanup.push(() => gw.close());
      const res = await request(`${gw.url}/reset`, { method: 'POST', body: 'x' });
      expect(res.status).toBe(502);
      expect((JSON.parse(res.body.toString()) as { message: string }).message).toMatch(
        /^upstream unreachable: /,
      );
    });

    it('cuts the client connection when the upstream dies mid-body, and keeps serving', async () => {
      const upstream = await startUpstream((req, res) => {
        if (req.url === '/ok') {
          res.end('fine');
          return;
        }
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 20);
      });
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter });
      cleanup.push(() => gw.close());
      await expect(request(`${gw.url}/truncated`)).rejects.toThrow();
      const res = await request(`${gw.url}/ok`);
      expect(res.body.toString()).toBe('fine');
    });

    it('answers 504 when the upstream stays silent past the timeout, and abandons the upstream request', async () => {
      const upstreamClosed = deferred();
      const upstream = await startUpstream((_req, res) => {
        res.on('close', () => upstreamClosed.resolve());
      });
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter, timeoutMs: 200 });
      cleanup.push(() => gw.close());
      const res = await request(`${gw.url}/hang`);
      expect(res.status).toBe(504);
      expect(JSON.parse(res.body.toString())).toEqual({
        error: 'gateway_timeout',
        message: 'upstream did not answer within 200 ms',
      });
      await upstreamClosed.promise;
    });
  });

  describe('client aborts', () => {
    it('destroys the upstream request when the client leaves mid-response, and keeps serving', async () => {
      const upstreamClosed = deferred<boolean>();
      const upstream = await startUpstream((req, res) => {
        if (req.url === '/ok') {
          res.end('fine');
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk');
        res.on('close', () => upstreamClosed.resolve(res.writableFinished));
      });
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter });
      cleanup.push(() => gw.close());

      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${gw.url}/stream`, { agent: false }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        req.on('response', (res) => res.on('error', () => undefined));
        setTimeout(() => reject(new Error('no first chunk')), 5_000).unref();
      });
      expect(await upstreamClosed.promise).toBe(false);
      expect((await request(`${gw.url}/ok`)).body.toString()).toBe('fine');
    });

    it('destroys the upstream request when the client leaves mid-upload', async () => {
      const upstreamAborted = deferred<boolean>();
      const upstream = await startUpstream((req) => {
        req.once('data', () => undefined);
        req.on('close', () => upstreamAborted.resolve(req.complete));
      });
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter });
      cleanup.push(() => gw.close());

      const req = http.request(`${gw.url}/upload`, {
        method: 'POST',
        agent: false,
        headers: { 'content-length': '1000000' },
      });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(64 * 1024));
      setTimeout(() => req.destroy(), 50);
      expect(await upstreamAborted.promise).toBe(false);
    });
  });
});

describe('createProxy options', () => {
  it('rejects an upstream that is not an http(s) URL, naming the option', () => {
    expect(() => createProxy({ upstream: 'localhost:8080' })).toThrow(/"upstream"/);
    expect(() => createProxy({ upstream: 'ftp://example.com' })).toThrow(/http: or https:/);
    expect(() => createProxy({ upstream: 'http://a/?x=1' })).toThrow(/query/);
  });

  it('rejects a non-positive timeout', () => {
    expect(() => createProxy({ upstream: 'http://127.0.0.1:1', timeoutMs: 0 })).toThrow(
      /"timeoutMs".*got 0/,
    );
  });

  it('works on a bare node:http server without any framework', async () => {
    const upstream = await startUpstream((req, res) => {
      void readBody(req).then((b) => res.end(`bare ${req.method} ${req.url} ${b.toString()}`));
    });
    cleanup.push(() => upstream.close());
    const proxy = createProxy({ upstream: upstream.url });
    const front = await listen(http.createServer((req, res) => proxy.handle(req, res)));
    cleanup.push(async () => {
      proxy.close();
      await front.close();
    });
    const res = await request(`${front.url}/x?y=1`, { method: 'PUT', body: 'z' });
    expect(res.body.toString()).toBe('bare PUT /x?y=1 z');
  });
});
