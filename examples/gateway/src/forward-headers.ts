import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { connectionOptions, isHopByHop } from './hop-by-hop.ts';

export interface UpstreamRequestHeaderOptions {
  /** `host[:port]` of the upstream, sent as Host unless `preserveHost`. */
  readonly upstreamHost: string;
  /** Send the client's Host to the upstream instead of the upstream's own. */
  readonly preserveHost: boolean;
}

function appendList(existing: string | readonly string[] | undefined, value: string): string {
  if (existing === undefined || existing.length === 0) return value;
  return `${typeof existing === 'string' ? existing : existing.join(', ')}, ${value}`;
}

/** What the gateway knows of the client connection a request arrived on. */
export interface ClientConnection {
  /** The peer address, appended to X-Forwarded-For. */
  readonly address: string | undefined;
  /** The connection is TLS (X-Forwarded-Proto). */
  readonly encrypted: boolean;
  /** `1.1`, `1.0`, `2.0`: for Via, and whether 1xx expectations mean anything. */
  readonly httpVersion: string;
}

/**
 * The header fields sent upstream: the client's end-to-end fields, read from `req.headers` so that
 * changes a cache layer made to the request (validators added on revalidation, removed on a fill)
 * reach the upstream.
 */
export function buildUpstreamRequestHeaders(
  req: IncomingMessage,
  options: UpstreamRequestHeaderOptions,
): OutgoingHttpHeaders {
  return forwardedRequestHeaders(req.headers, clientConnectionOf(req), options);
}

export function clientConnectionOf(req: IncomingMessage): ClientConnection {
  return {
    address: req.socket.remoteAddress,
    encrypted: (req.socket as Partial<TLSSocket>).encrypted === true,
    httpVersion: req.httpVersion,
  };
}

/** The same fields from a plain header record (lower-cased names), for the fetch-style proxy. */
export function forwardedRequestHeaders(
  source: Readonly<Record<string, string | readonly string[] | undefined>>,
  client: ClientConnection,
  options: UpstreamRequestHeaderOptions,
): OutgoingHttpHeaders {
  const listed = connectionOptions(source.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || isHopByHop(name, listed)) continue;
    headers[name] = typeof value === 'string' ? value : [...value];
  }
  // Transfer-Encoding is hop-by-hop, but a body without Content-Length still needs framing on the
  // next hop; Node re-chunks it when the field is set (RFC 9112 §6.1).
  if (source['transfer-encoding'] !== undefined && source['content-length'] === undefined) {
    headers['transfer-encoding'] = 'chunked';
  }
  // 1xx expectations mean nothing to an HTTP/1.0 peer (RFC 9110 §10.1.1).
  if (!versionSpeaksHttp11(client.httpVersion)) delete headers.expect;

  const clientHost = typeof source.host === 'string' ? source.host : undefined;
  headers.host =
    options.preserveHost && clientHost !== undefined ? clientHost : options.upstreamHost;
  // The de-facto X-Forwarded-* convention: each hop appends the address it received from; the
  // protocol and host the client first used are kept when an earlier proxy already recorded them.
  if (client.address !== undefined) {
    headers['x-forwarded-for'] = appendList(source['x-forwarded-for'], client.address);
  }
  if (source['x-forwarded-proto'] === undefined) {
    headers['x-forwarded-proto'] = client.encrypted ? 'https' : 'http';
  }
  if (source['x-forwarded-host'] === undefined && clientHost !== undefined) {
    headers['x-forwarded-host'] = clientHost;
  }
  // RFC 9110 §7.6.3: a gateway MUST send Via in each inbound request it forwards.
  headers.via = appendList(source.via, `${client.httpVersion} gatecache`);
  return headers;
}

/**
 * The upstream's response fields for the client, grouped by name in first-seen order. Repeated
 * lines (two Set-Cookie, two Cache-Control) stay separate values, which Node writes as separate
 * lines; the name keeps the upstream's spelling.
 */
export function responseHeadersForClient(
  rawHeaders: readonly string[],
): Array<[name: string, value: string | string[]]> {
  let connection: string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'connection')
      (connection ??= []).push(rawHeaders[i + 1] ?? '');
  }
  const listed = connectionOptions(connection);
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    const lower = name.toLowerCase();
    if (isHopByHop(lower, listed)) continue;
    const group = grouped.get(lower);
    if (group === undefined) grouped.set(lower, { name, values: [value] });
    else group.values.push(value);
  }
  return [...grouped.values()].map(({ name, values }) => [
    name,
    values.length === 1 ? (values[0] ?? '') : values,
  ]);
}

/** Interim (1xx) responses may only be sent to HTTP/1.1 and later clients (RFC 9110 §15.2). */
export function speaksHttp11(req: IncomingMessage): boolean {
  return req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
}

export function versionSpeaksHttp11(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 1);
}
