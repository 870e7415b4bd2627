/**
 * The parity suite's HTTP client. `fetch` is not used because it rewrites conditional requests
 * (the Fetch standard adds `Cache-Control: no-cache` and `Pragma: no-cache` next to
 * `If-None-Match`), which would test the client rather than the cache.
 */
import { request } from 'node:http';
import { Readable } from 'node:stream';

export interface ParityRequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends one request on its own connection and returns a Web `Response` over the reply. */
export function send(url: string, init: ParityRequestInit = {}): Promise<Response> {
  const method = init.method ?? 'GET';
  return new Promise<Response>((resolve, reject) => {
    const req = request(url, { method, headers: init.headers, agent: false }, (res) => {
      const headers = new Headers();
      const raw = res.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
      const status = res.statusCode ?? 0;
      const empty = method === 'HEAD' || status === 204 || status === 304;
      if (empty) res.resume();
      const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
      resolve(new Response(body, { status, statusText: res.statusMessage ?? '', headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
