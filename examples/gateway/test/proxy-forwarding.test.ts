import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterName, GatewayOptions } from '../src/gateway.ts';
import {
  deferred,
  rawExchange,
  rawValues,
  readBody,
  request,
  sha256,
  startGateway,
  startUpstream,
  CACHE_MODES,
} from './helpers.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

/** An upstream that records each request and answers 200 with the body's digest. */
async function recordingUpstream() {
  const seen: Seen[] = [];
  const upstream = await startUpstream((req, res) => {
    void readBody(req).then((body) => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      res.setHeader('content-type', 'text/plain');
      res.end(sha256(body));
    });
  });
  cleanup.push(() => upstream.close());
  return { upstream, seen };
}

async function gatewayFor(
  upstreamUrl: string,
  cache: NonNullable<GatewayOptions['cache']>,
  adapter: AdapterName,
) {
  const gw = await startGateway({ upstream: upstreamUrl, cache, adapter });
  cleanup.push(() => gw.close());
  return gw;
}

describe.each(CACHE_MODES)('$mode', ({ cache, adapter }) => {
  describe('request forwarding', () => {
    it('forwards method, path and query, and end-to-end headers', async () => {
      const { upstream, seen } = await recordingUpstream();
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const res = await request(`${gw.url}/api/items?page=2&sort=name%20asc`, {
        method: 'PATCH',
        headers: { 'x-request-id': 'abc', authorization: 'Bearer t', accept: 'application/json' },
      });
      expect(res.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]?.method).toBe('PATCH');
      expect(seen[0]?.url).toBe('/api/items?page=2&sort=name%20asc');
      expect(seen[0]?.headers['x-request-id']).toBe('abc');
      expect(seen[0]?.headers.authorization).toBe('Bearer t');
      expect(seen[0]?.headers.accept).toBe('application/json');
    });

    it('prefixes the path of the upstream URL', async () => {
      const { upstream, seen } = await recordingUpstream();
      const gw = await gatewayFor(`${upstream.url}/v1/`, cache, adapter);
      await request(`${gw.url}/users?x=1`);
      expect(seen[0]?.url).toBe('/v1/users?x=1');
    });

    it('drops hop-by-hop fields, including those Connection lists', async () => {
      const { upstream, seen } = await recordingUpstream();
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const port = Number(new URL(gw.url).port);
      const response = await rawExchange(
        port,
        [
          'GET /hop HTTP/1.1',
          'Host: gateway.test',
          'Connection: close, X-Session-Hop',
          'X-Session-Hop: secret',
          'Keep-Alive: timeout=5',
          'Proxy-Authorization: Basic dXNlcjpwYXNz',
          'Proxy-Connection: keep-alive',
          'TE: trailers',
          'Trailer: X-Checksum',
          'Upgrade: h2c',
          'X-End-To-End: kept',
          '',
          '',
        ].join('\r\n'),
      );
      expect(response).toMatch(/^HTTP\/1\.1 200 /);
      const headers = seen[0]?.headers ?? {};
      expect(headers['x-end-to-end']).toBe('kept');
      for (const name of [
        'x-session-hop',
        'keep-alive',
        'proxy-authorization',
        'proxy-connection',
        'te',
        'trailer',
        'upgrade',
      ]) {
        expect(headers[name], name).toBeUndefined();
      }
      // The gateway's own connection to the upstream is keep-alive, whatever the client asked for.
      expect(headers.connection).toBe('keep-alive');
    });

    it('adds X-Forwarded-For/Proto/Host and Via, and sends the upstream its own Host', async () => {
      const { upstream, seen } = await recordingUpstream();
      const gw = await gatewayFor(upstream.url, cache, adapter);
      await request(`${gw.url}/a`, { headers: { host: 'shop.example' } });
      await request(`${gw.url}/b`, {
        headers: {
          host: 'shop.example',
          'x-forwarded-for': '203.0.113.7',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'www.shop.example',
        },
      });
      expect(seen[0]?.headers.host).toBe(new URL(upstream.url).host);
      expect(seen[0]?.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen[0]?.headers['x-forwarded-proto']).toBe('http');
      expect(seen[0]?.headers['x-forwarded-host']).toBe('shop.example');
      expect(seen[0]?.headers.via).toBe('1.1 gatecache');
      expect(seen[1]?.headers['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
      expect(seen[1]?.headers['x-forwarded-proto']).toBe('https');
      expect(seen[1]?.headers['x-forwarded-host']).toBe('www.shop.example');
    });

    it('streams a large binary body with Content-Length byte for byte', async () => {
      const { upstream, seen } = await recordingUpstream();
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const body = randomBytes(5 * 1024 * 1024);
      const res = await request(`${gw.url}/upload`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        body,
      });
      expect(res.body.toString()).toBe(sha256(body));
      expect(seen[0]?.headers['content-length']).toBe(String(body.length));
      expect(seen[0]?.body.equals(body)).toBe(true);
    });

    it('re-frames a chunked body as chunked, for methods without a default body too', async () => {
      const { upstream, seen } = await recordingUpstream();
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const chunks = [randomBytes(10_000), Buffer.from([0, 13, 10, 0]), randomBytes(70_000)];
      const whole = Buffer.concat(chunks);
      for (const method of ['POST', 'DELETE']) {
        const res = await request(`${gw.url}/chunked`, {
          method,
          headers: { 'transfer-encoding': 'chunked' },
          body: chunks,
        });
        expect(res.body.toString(), method).toBe(sha256(whole));
      }
      for (const s of seen) {
        expect(s.headers['transfer-encoding']).toBe('chunked');
        expect(s.headers['content-length']).toBeUndefined();
        expect(s.body.equals(whole)).toBe(true);
      }
    });

    it('streams the request body to the upstream before the client has finished sending it', async () => {
      const firstChunkArrived = deferred();
      const upstream = await startUpstream((req, res) => {
        req.once('data', () => firstChunkArrived.resolve());
        void readBody(req).then((rest) => res.end(`rest:${rest.length}`));
      });
      cleanup.push(() => upstream.close());
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const result = new Promise<string>((resolve, reject) => {
        const req = http.request(`${gw.url}/stream-up`, { method: 'POST', agent: false }, (res) => {
          void readBody(res).then((b) => resolve(b.toString()), reject);
        });
        req.on('error', reject);
        req.write('first');
        // Only once the upstream holds the first chunk does the client send the rest.
        void firstChunkArrived.promise.then(() => req.end('second'));
      });
      expect(await result).toMatch(/^rest:/);
    });
  });

  describe('response relaying', () => {
    it('keeps status, reason phrase, duplicate header lines and their spelling', async () => {
      const upstream = await startUpstream((_req, res) => {
        res.writeHead(418, 'Short And Stout', [
          'Set-Cookie',
          'a=1; Path=/',
          'Cache-Control',
          'public',
          'Set-Cookie',
          'b=2; Path=/',
          'Cache-Control',
          'max-age=60',
          'X-Custom-Case',
          'Value',
          'Content-Type',
          'text/plain',
        ]);
        res.end('teapot');
      });
      cleanup.push(() => upstream.close());
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const res = await request(`${gw.url}/tea`);
      expect(res.status).toBe(418);
      expect(rawValues(res.rawHeaders, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      if (adapter === 'hono') {
        // A Response has no reason phrase for @hono/node-server to write, and Headers joins
        // repeated lines of a list field (an equivalent form, RFC 9110 §5.3); Set-Cookie stays apart.
        expect(res.statusMessage).toBe("I'm a Teapot");
        expect(rawValues(res.rawHeaders, 'cache-control')).toEqual(['public, max-age=60']);
      } else {
        expect(res.statusMessage).toBe('Short And Stout');
        expect(rawValues(res.rawHeaders, 'cache-control')).toEqual(['public', 'max-age=60']);
      }
      // Field names are case-insensitive (RFC 9110 §5.1); the bare Node proxy keeps their
      // spelling, the cache and Headers lower-case them.
      if (cache === false && adapter !== 'hono') expect(res.rawHeaders).toContain('X-Custom-Case');
      else expect(res.headers['x-custom-case']).toBe('Value');
      expect(res.body.toString()).toBe('teapot');
    });

    it('drops hop-by-hop response fields and those the upstream lists in Connection', async () => {
      const upstream = await startUpstream((_req, res) => {
        res.writeHead(200, [
          'Connection',
          'keep-alive, X-Upstream-Hop',
          'X-Upstream-Hop',
          'internal',
          'Keep-Alive',
          'timeout=5',
          'Proxy-Authenticate',
          'Basic',
          'Trailer',
          'X-Checksum',
          'Upgrade',
          'h2c',
          'X-Kept',
          'yes',
        ]);
        res.end('ok');
      });
      cleanup.push(() => upstream.close());
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const res = await request(`${gw.url}/`);
      expect(res.headers['x-kept']).toBe('yes');
      for (const name of ['x-upstream-hop', 'proxy-authenticate', 'trailer', 'upgrade']) {
        expect(res.headers[name], name).toBeUndefined();
      }
      // Keep-Alive and Connection that the client sees describe the gateway's connection, not the upstream's.
      expect(res.headers.connection).toBe('close');
    });

    it('streams a large binary response byte for byte, with and without Content-Length', async () => {
      const payload = randomBytes(4 * 1024 * 1024);
      const upstream = await startUpstream((req, res) => {
        if (req.url === '/sized') res.setHeader('content-length', payload.length);
        res.setHeader('content-type', 'application/octet-stream');
        for (let i = 0; i < payload.length; i += 256 * 1024)
          res.write(payload.subarray(i, i + 256 * 1024));
        res.end();
      });
      cleanup.push(() => upstream.close());
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const sized = await request(`${gw.url}/sized`);
      const chunked = await request(`${gw.url}/chunked`);
      expect(sized.headers['content-length']).toBe(String(payload.length));
      expect(sized.body.equals(payload)).toBe(true);
      expect(chunked.headers['transfer-encoding']).toBe('chunked');
      expect(chunked.body.equals(payload)).toBe(true);
    });

    it('delivers the first bytes of a response before the upstream has finished it', async () => {
      const release = deferred();
      const upstream = await startUpstream((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        void release.promise.then(() => res.end('data: two\n\n'));
      });
      cleanup.push(() => upstream.close());
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const text = await new Promise<string>((resolve, reject) => {
        http
          .get(`${gw.url}/events`, { agent: false }, (res) => {
            let received = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              received += chunk;
              // The upstream finishes only after the client saw its first event.
              if (received === 'data: one\n\n') release.resolve();
            });
            res.on('end', () => resolve(received));
          })
          .on('error', reject);
      });
      expect(text).toBe('data: one\n\ndata: two\n\n');
    });

    it('answers HEAD with the upstream headers and no body', async () => {
      const upstream = await startUpstream((_req, res) => {
        res.setHeader('content-length', '1234');
        res.end();
      });
      cleanup.push(() => upstream.close());
      const gw = await gatewayFor(upstream.url, cache, adapter);
      const res = await request(`${gw.url}/file`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('1234');
      expect(res.body.length).toBe(0);
    });
  });
});
