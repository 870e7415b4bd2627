/**
 * The gateway's proxy as a fetch-style handler (`Request` → `Response`), for frameworks built on
 * Web-standard objects such as Hono. It talks to the upstream with Node's HTTP client, not with
 * `fetch`: fetch decodes compressed bodies (leaving a stale Content-Encoding), adds Accept-Language,
 * User-Agent and Sec-Fetch-Mode of its own, and never shows interim responses, so the upstream would
 * not see what the client sent, nor the client what the upstream sent.
 */
import type http from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { ClientRequest, IncomingMessage, InformationEvent } from 'node:http';
import {
  forwardedRequestHeaders,
  responseHeadersForClient,
  versionSpeaksHttp11,
} from './forward-headers.ts';
import type { ClientConnection } from './forward-headers.ts';
import {
  IDEMPOTENT_METHODS,
  STALE_SOCKET_CODES,
  earlyHintsFrom,
  errorCode,
  errorMessage,
  resolveUpstream,
} from './proxy.ts';
import type { ProxyOptions } from './proxy.ts';
import { recordKeepAliveHint } from './upstream-agent.ts';

/** What the server in front knows of the client; every field is optional (a background refresh has no client). */
export interface WebClient {
  readonly connection?: ClientConnection;
  /** Sends a 103 Early Hints to the client, where the server can (Node's `writeEarlyHints`). */
  readonly earlyHints?: (hints: Record<string, string | string[]>) => void;
  /**
   * Sends `100 Continue` to a client that asked with `Expect` and holds its body back; the server
   * in front must leave that to the handler (a `checkContinue` listener). Without it, the server
   * is assumed to have answered already and `Expect` is not forwarded.
   */
  readonly sendContinue?: () => void;
}

export interface WebProxy {
  /** Proxies one request; never rejects, and answers 502/504 itself when the upstream fails. */
  readonly fetch: (request: Request, client?: WebClient) => Promise<Response>;
  readonly upstream: URL;
  readonly agent: http.Agent;
  close(): void;
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

function gatewayError(status: 502 | 504, error: string, message: string): Response {
  return new Response(JSON.stringify({ error, message }), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      // A gateway error says nothing about the resource: no cache may keep it.
      'cache-control': 'no-store',
    },
  });
}

export function createWebProxy(options: ProxyOptions): WebProxy {
  const {
    upstream,
    timeoutMs,
    continueFallbackMs,
    ownsAgent,
    agent,
    request: send,
    hostname,
    port,
    basePath,
    preserveHost,
  } = resolveUpstream(options);

  function proxyRequest(request: Request, client: WebClient = {}): Promise<Response> {
    const url = new URL(request.url);
    const method = request.method;
    const source: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      source[name] = value;
    });
    const connection: ClientConnection = client.connection ?? {
      address: undefined,
      encrypted: url.protocol === 'https:',
      httpVersion: '1.1',
    };
    const headers = forwardedRequestHeaders(source, connection, {
      upstreamHost: upstream.host,
      preserveHost,
    });
    const expectsContinue =
      client.sendContinue !== undefined &&
      versionSpeaksHttp11(connection.httpVersion) &&
      source.expect?.toLowerCase() === '100-continue';
    // Otherwise the server in front has answered Expect itself and the body is on its way.
    if (!expectsContinue) delete headers.expect;
    const body = method === 'GET' || method === 'HEAD' ? null : request.body;
    const path = basePath + url.pathname + url.search;

    return new Promise<Response>((resolve) => {
      let current: ClientRequest | undefined;
      const onAbort = (): void => {
        current?.destroy(new Error('the client went away'));
      };
      request.signal.addEventListener('abort', onAbort, { once: true });
      let continued = false;
      let continueTimer: NodeJS.Timeout | undefined;
      const sendContinue = (): void => {
        clearTimeout(continueTimer);
        if (continued) return;
        continued = true;
        client.sendContinue?.();
      };
      if (expectsContinue) {
        // An upstream that ignores Expect would wait for a body the client is holding back.
        continueTimer = setTimeout(sendContinue, continueFallbackMs);
        continueTimer.unref();
      }
      const settle = (response: Response): void => {
        clearTimeout(continueTimer);
        resolve(response);
      };

      const attempt = (n: number): void => {
        let gotResponse = false;
        let timedOut = false;
        const upstreamReq = send({ hostname, port, method, path, headers, agent });
        current = upstreamReq;
        upstreamReq.setTimeout(timeoutMs, () => {
          timedOut = true;
          upstreamReq.destroy(new Error(`upstream sent nothing for ${timeoutMs} ms`));
        });
        if (expectsContinue) upstreamReq.on('continue', sendContinue);
        upstreamReq.on('information', (info: InformationEvent) => {
          if (info.statusCode !== 103 || client.earlyHints === undefined) return;
          const hints = earlyHintsFrom(info.rawHeaders);
          if (hints === undefined) return;
          try {
            client.earlyHints(hints);
          } catch {
            // Node refuses Link values outside its grammar; the hints are only an optimisation.
          }
        });
        upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
          gotResponse = true;
          recordKeepAliveHint(upstreamRes);
          upstreamRes.once('close', () => request.signal.removeEventListener('abort', onAbort));
          const status = upstreamRes.statusCode ?? 502;
          if (status < 200 || status > 599) {
            upstreamRes.destroy();
            settle(gatewayError(502, 'bad_gateway', `upstream answered status ${status}`));
            return;
          }
          const responseHeaders = new Headers();
          for (const [name, value] of responseHeadersForClient(upstreamRes.rawHeaders)) {
            for (const line of typeof value === 'string' ? [value] : value) {
              responseHeaders.append(name, line);
            }
          }
          const withoutBody = method === 'HEAD' || NULL_BODY_STATUSES.has(status);
          if (withoutBody) upstreamRes.resume();
          settle(
            new Response(
              withoutBody ? null : (Readable.toWeb(upstreamRes) as ReadableStream<Uint8Array>),
              { status, statusText: upstreamRes.statusMessage ?? '', headers: responseHeaders },
            ),
          );
        });
        upstreamReq.on('error', (error: Error) => {
          // After the head, a failure errors the body stream and the server cuts the client
          // connection: a truncated body must not look complete (RFC 9112 §8).
          if (gotResponse) return;
          // A pooled socket the upstream closed just as we wrote to it: nothing reached the
          // upstream, so an idempotent request without a body is sent once more (RFC 9110 §9.2.2).
          const code = errorCode(error);
          if (
            n === 0 &&
            !timedOut &&
            !request.signal.aborted &&
            upstreamReq.reusedSocket &&
            body === null &&
            IDEMPOTENT_METHODS.has(method) &&
            code !== undefined &&
            STALE_SOCKET_CODES.has(code)
          ) {
            attempt(n + 1);
            return;
          }
          request.signal.removeEventListener('abort', onAbort);
          settle(
            timedOut
              ? gatewayError(
                  504,
                  'gateway_timeout',
                  `upstream did not answer within ${timeoutMs} ms`,
                )
              : gatewayError(502, 'bad_gateway', `upstream unreachable: ${errorMessage(error)}`),
          );
        });

        if (body === null) {
          upstreamReq.end();
          return;
        }
        const stream = Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
        stream.on('error', () => upstreamReq.destroy(new Error('the client request body failed')));
        stream.pipe(upstreamReq);
      };

      attempt(0);
    });
  }

  return {
    fetch: proxyRequest,
    upstream,
    agent,
    close() {
      if (ownsAgent) agent.destroy();
    },
  };
}
