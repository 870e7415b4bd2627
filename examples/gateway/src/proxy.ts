/**
 * A streaming reverse proxy over Node's request and response objects, with no framework in it:
 * Express, Koa (`ctx.req`, `ctx.res`) and a bare `http.createServer` can all hand it a request.
 */
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream';
import type { ClientRequest, IncomingMessage, InformationEvent, ServerResponse } from 'node:http';
import {
  buildUpstreamRequestHeaders,
  responseHeadersForClient,
  speaksHttp11,
} from './forward-headers.ts';
import { connectionOptions, isHopByHop } from './hop-by-hop.ts';
import { invalidOption } from '@gatecache/core';
import { createUpstreamAgent, recordKeepAliveHint } from './upstream-agent.ts';
import type { UpstreamAgentOptions } from './upstream-agent.ts';

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;
/** How long a client that sent `Expect: 100-continue` waits for the upstream's 100 before the gateway sends its own. */
export const DEFAULT_CONTINUE_FALLBACK_MS = 1_000;

export interface ProxyOptions {
  /** Base URL of the upstream (`http:` or `https:`); a path in it prefixes every request path. */
  readonly upstream: string | URL;
  /** Longest the upstream may stay silent (no byte either way) before the gateway gives up: 504 before the response head, an aborted response after it. */
  readonly timeoutMs?: number;
  /** Connection pool for the upstream; by default a keep-alive agent that retires idle sockets before the upstream closes them. */
  readonly agent?: http.Agent;
  readonly agentOptions?: UpstreamAgentOptions;
  /** Send the client's Host upstream instead of the upstream's own host. */
  readonly preserveHost?: boolean;
  readonly continueFallbackMs?: number;
}

export interface UpstreamProxy {
  /** Proxies one request; never throws, and answers 502/504 itself when the upstream fails. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly upstream: URL;
  readonly agent: http.Agent;
  /** Closes the pooled upstream connections (when the proxy created the agent). */
  close(): void;
}

export const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
export const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE']);

export function parseUpstream(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidOption(
      'upstream',
      String(value),
      'an absolute http(s) URL such as "http://127.0.0.1:8080"',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption('upstream', url.href, 'a URL with http: or https:');
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw invalidOption('upstream', url.href, 'a URL without query, fragment or credentials');
  }
  return url;
}

export function positiveMs(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw invalidOption(name, value, 'a positive number of milliseconds');
  }
  return value;
}

/** The request target sent upstream: the base path of the upstream URL, then the client's path and query. */
function upstreamPath(basePath: string, req: IncomingMessage): string {
  // Express rewrites req.url under a mount path; originalUrl is what the client asked for.
  const raw = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  let target = raw;
  if (!raw.startsWith('/')) {
    // absolute-form (RFC 9112 §3.2.2) or asterisk-form: keep only path and query.
    if (raw === '*') return basePath === '' ? '*' : basePath + '/';
    try {
      const parsed = new URL(raw);
      target = parsed.pathname + parsed.search;
    } catch {
      target = '/' + raw;
    }
  }
  return basePath + target;
}

function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Answers with a JSON error, or cuts the connection when the response has already started. */
export function sendGatewayError(
  res: ServerResponse,
  status: 502 | 504,
  error: string,
  message: string,
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    // A truncated body must not look complete to the client (RFC 9112 §8).
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error, message });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    // A gateway error says nothing about the resource: no cache may keep it.
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** Early Hints values Node will accept: one link per entry (Node rejects comma-joined lists). */
export function earlyHintsFrom(
  rawHeaders: readonly string[],
): Record<string, string | string[]> | undefined {
  const links: string[] = [];
  const others: Record<string, string> = {};
  const listed = connectionOptions(undefined);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = (rawHeaders[i] ?? '').toLowerCase();
    const value = rawHeaders[i + 1] ?? '';
    if (isHopByHop(lower, listed)) continue;
    if (lower === 'link') links.push(...value.split(/,\s*(?=<)/));
    else others[lower] = lower in others ? `${others[lower]}, ${value}` : value;
  }
  if (links.length === 0) return undefined;
  return { ...others, link: links };
}

/** Everything both proxies (Node and fetch-style) derive from their options, validated once. */
export function resolveUpstream(options: ProxyOptions) {
  const upstream = parseUpstream(options.upstream);
  const isHttps = upstream.protocol === 'https:';
  return {
    upstream,
    timeoutMs: positiveMs('timeoutMs', options.timeoutMs, DEFAULT_UPSTREAM_TIMEOUT_MS),
    continueFallbackMs: positiveMs(
      'continueFallbackMs',
      options.continueFallbackMs,
      DEFAULT_CONTINUE_FALLBACK_MS,
    ),
    ownsAgent: options.agent === undefined,
    agent: options.agent ?? createUpstreamAgent(isHttps ? 'https:' : 'http:', options.agentOptions),
    request: isHttps ? https.request : http.request,
    hostname: upstream.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: upstream.port === '' ? (isHttps ? 443 : 80) : Number(upstream.port),
    basePath: upstream.pathname.replace(/\/+$/, ''),
    preserveHost: options.preserveHost ?? false,
  };
}

export function createProxy(options: ProxyOptions): UpstreamProxy {
  const {
    upstream,
    timeoutMs,
    continueFallbackMs,
    ownsAgent,
    agent,
    request,
    hostname,
    port,
    basePath,
    preserveHost,
  } = resolveUpstream(options);

  function proxyToUpstream(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const path = upstreamPath(basePath, req);
    const headers = buildUpstreamRequestHeaders(req, { upstreamHost: upstream.host, preserveHost });
    const hasBody = requestHasBody(req);
    const interim = speaksHttp11(req);
    const expectsContinue = interim && req.headers.expect?.toLowerCase() === '100-continue';
    let current: ClientRequest | undefined;
    let continueSent = false;
    let continueTimer: NodeJS.Timeout | undefined;

    const sendContinue = (): void => {
      clearTimeout(continueTimer);
      if (continueSent || res.headersSent || res.destroyed) return;
      continueSent = true;
      res.writeContinue();
    };
    if (expectsContinue) {
      // An upstream that ignores Expect would wait for a body the client is holding back.
      continueTimer = setTimeout(sendContinue, continueFallbackMs);
      continueTimer.unref();
    }

    req.on('error', () => {
      // A client abort surfaces on `res` as an early close, handled below.
    });
    res.on('close', () => {
      clearTimeout(continueTimer);
      // The client went away before the response ended: stop the upstream work too.
      if (!res.writableFinished) current?.destroy();
    });

    const send = (attempt: number): void => {
      let gotResponse = false;
      let timedOut = false;
      const upstreamReq = request({ hostname, port, method, path, headers, agent });
      current = upstreamReq;

      upstreamReq.setTimeout(timeoutMs, () => {
        timedOut = true;
        upstreamReq.destroy(new Error(`upstream sent nothing for ${timeoutMs} ms`));
      });
      if (expectsContinue) upstreamReq.on('continue', sendContinue);
      upstreamReq.on('information', (info: InformationEvent) => {
        if (!interim || res.headersSent || res.destroyed) return;
        if (info.statusCode === 103) {
          const hints = earlyHintsFrom(info.rawHeaders);
          if (hints === undefined) return;
          try {
            res.writeEarlyHints(hints);
          } catch {
            // Node refuses Link values outside its grammar; the hints are only an optimisation.
          }
        } else if (info.statusCode === 102) {
          res.writeProcessing();
        }
      });

      upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
        gotResponse = true;
        clearTimeout(continueTimer);
        recordKeepAliveHint(upstreamRes);
        if (res.destroyed) {
          upstreamRes.destroy();
          return;
        }
        res.statusCode = upstreamRes.statusCode ?? 502;
        for (const [name, value] of responseHeadersForClient(upstreamRes.rawHeaders)) {
          res.setHeader(name, value);
        }
        res.writeHead(res.statusCode, upstreamRes.statusMessage);
        pipeline(upstreamRes, res, (error) => {
          if (error !== undefined && error !== null) {
            upstreamReq.destroy();
            res.destroy();
          }
        });
      });

      upstreamReq.on('error', (error: Error) => {
        if (res.writableEnded || res.destroyed) return;
        if (gotResponse) {
          res.destroy();
          return;
        }
        // A pooled socket the upstream closed just as we wrote to it: nothing reached the
        // upstream, so an idempotent request without a body is safe to send once more
        // (RFC 9110 §9.2.2).
        const code = errorCode(error);
        if (
          attempt === 0 &&
          !timedOut &&
          upstreamReq.reusedSocket &&
          !hasBody &&
          IDEMPOTENT_METHODS.has(method) &&
          code !== undefined &&
          STALE_SOCKET_CODES.has(code)
        ) {
          send(attempt + 1);
          return;
        }
        if (hasBody) req.unpipe(upstreamReq);
        if (timedOut) {
          sendGatewayError(
            res,
            504,
            'gateway_timeout',
            `upstream did not answer within ${timeoutMs} ms`,
          );
        } else {
          sendGatewayError(res, 502, 'bad_gateway', `upstream unreachable: ${errorMessage(error)}`);
        }
      });

      if (hasBody) req.pipe(upstreamReq);
      else upstreamReq.end();
    };

    send(0);
  }

  return {
    handle: proxyToUpstream,
    upstream,
    agent,
    close() {
      if (ownsAgent) agent.destroy();
    },
  };
}
