import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, readBody, startGateway, startUpstream, CACHE_MODES } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

interface Exchange {
  informational: Array<{ status: number; headers: http.IncomingHttpHeaders }>;
  gotContinue: boolean;
  bodySent: boolean;
  status: number;
  body: string;
}

/**
 * A client that holds its body back until it receives 100 Continue, as `Expect` asks
 * (RFC 9110 §10.1.1), and records every interim response.
 */
function exchange(
  url: string,
  options: { method?: string; expectContinue?: boolean; body?: string } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const result: Exchange = {
      informational: [],
      gotContinue: false,
      bodySent: false,
      status: 0,
      body: '',
    };
    const headers: http.OutgoingHttpHeaders = {};
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    if (options.expectContinue === true) headers.expect = '100-continue';
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers, agent: false },
      (res) => {
        result.status = res.statusCode ?? 0;
        void readBody(res).then((b) => {
          result.body = b.toString();
          resolve(result);
        }, reject);
      },
    );
    req.on('information', (info) =>
      result.informational.push({ status: info.statusCode, headers: info.headers }),
    );
    req.on('error', reject);
    if (options.expectContinue === true) {
      req.on('continue', () => {
        result.gotContinue = true;
        result.bodySent = true;
        req.end(options.body);
      });
      // Send the headers now; the body waits for 100 Continue.
      req.flushHeaders();
    } else {
      result.bodySent = options.body !== undefined;
      req.end(options.body);
    }
  });
}

describe.each(CACHE_MODES)('$mode', ({ cache, adapter }) => {
  describe('interim responses', () => {
    it('relays 103 Early Hints before the final response', async () => {
      const upstream = await startUpstream((_req, res) => {
        res.writeEarlyHints({
          link: ['</app.css>; rel=preload; as=style', '</app.js>; rel=preload; as=script'],
        });
        setTimeout(() => res.end('page'), 20);
      });
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter });
      cleanup.push(() => gw.close());
      const result = await exchange(`${gw.url}/page`);
      expect(result.status).toBe(200);
      expect(result.body).toBe('page');
      const hints = result.informational.filter((i) => i.status === 103);
      expect(hints).toHaveLength(1);
      expect(hints[0]?.headers.link).toBe(
        '</app.css>; rel=preload; as=style, </app.js>; rel=preload; as=script',
      );
    });

    it('relays the upstream 100 Continue, then streams the held-back body', async () => {
      let upstreamSawExpect: string | undefined;
      const server = http.createServer();
      server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
        upstreamSawExpect = req.headers.expect;
        res.writeContinue();
        void readBody(req).then((body) => res.end(`got ${body.toString()}`));
      });
      const upstream = await listen(server);
      cleanup.push(() => upstream.close());
      const gw = await startGateway({ upstream: upstream.url, cache, adapter });
      cleanup.push(() => gw.close());
      const result = await exchange(`${gw.url}/upload`, {
        method: 'POST',
        expectContinue: true,
        body: 'payload',
      });
      expect(upstreamSawExpect).toBe('100-continue');
      expect(result.gotContinue).toBe(true);
      expect(result.status).toBe(200);
      expect(result.body).toBe('got payload');
    });

    it('relays a final refusal without asking the client for its body', async () => {
      const server = http.createServer();
      server.on('checkContinue', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' });
        res.end('too large');
      });
      const upstream = await listen(server);
      cleanup.push(() => upstream.close());
      const gw = await startGateway({
        upstream: upstream.url,
        cache,
        adapter,
        continueFallbackMs: 5_000,
      });
      cleanup.push(() => gw.close());
      const result = await exchange(`${gw.url}/upload`, {
        method: 'POST',
        expectContinue: true,
        body: 'x'.repeat(1000),
      });
      expect(result.status).toBe(413);
      expect(result.body).toBe('too large');
      expect(result.gotContinue).toBe(false);
      expect(result.bodySent).toBe(false);
    });

    it('sends 100 Continue itself when the upstream ignores Expect', async () => {
      // A bare TCP upstream that never sends 100: it waits for the whole body, then answers.
      const server = net.createServer((socket) => {
        let buffered = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          const end = buffered.indexOf('\r\n\r\n');
          if (end === -1) return;
          const length = Number(
            /content-length:\s*(\d+)/i.exec(buffered.subarray(0, end).toString())?.[1] ?? 0,
          );
          if (buffered.length - end - 4 < length) return;
          const body = buffered.subarray(end + 4, end + 4 + length).toString();
          const reply = `echo ${body}`;
          socket.end(
            `HTTP/1.1 200 OK\r\nContent-Length: ${reply.length}\r\nConnection: close\r\n\r\n${reply}`,
          );
        });
      });
      const upstream = await listen(server);
      cleanup.push(() => upstream.close());
      const gw = await startGateway({
        upstream: upstream.url,
        cache,
        adapter,
        continueFallbackMs: 100,
      });
      cleanup.push(() => gw.close());
      const result = await exchange(`${gw.url}/upload`, {
        method: 'POST',
        expectContinue: true,
        body: 'hello',
      });
      expect(result.gotContinue).toBe(true);
      expect(result.body).toBe('echo hello');
    });
  });
});
