import { systemClock } from '../clock.ts';
import { GatecacheError, invalidOption } from '../errors.ts';
import type { Clock, RequestHeaders } from '../types.ts';
import type { PurgeCounts, PurgePattern, PurgeSpec } from './invalidation.ts';
import {
  createMemoryReplayGuard,
  createSignatureCheck,
  createTokenCheck,
  type ReplayGuard,
} from './purge-auth.ts';

/** The request as any framework can give it: lower-cased header names, the raw body. */
export interface PurgeHttpRequest {
  readonly method: string;
  readonly headers: RequestHeaders;
  /** The raw body; the handler reads at most `maxBodyBytes` of it. */
  readonly body:
    Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> | null | undefined;
}

/** What the adapter writes back. `body` is JSON text. */
export interface PurgeHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface PurgeHandlerOptions {
  /** Whatever applies a purge: an `Invalidation`. */
  readonly invalidation: { invalidate(spec: PurgeSpec): Promise<PurgeCounts> };
  /** Where adapters mount it. Default `/cache/invalidate` (the seed's webhook endpoint). */
  readonly path?: string;
  /** Bearer tokens accepted (several, for rotation); at least 16 characters each. */
  readonly tokens?: readonly string[];
  /** HMAC-SHA256 secrets accepted (several, for rotation). */
  readonly secrets?: readonly (string | Uint8Array)[];
  /** Default `x-gatecache-signature` (`sha256=<hex>` of `<timestamp>.<body>`). */
  readonly signatureHeader?: string;
  /** Default `x-gatecache-timestamp` (Unix seconds). */
  readonly timestampHeader?: string;
  /** Seconds a signed request is valid either side of now; reuse within it is refused. Default 300. */
  readonly replayWindowSeconds?: number;
  /** Where used signatures are remembered. Default: in this process. */
  readonly replayGuard?: ReplayGuard;
  /** Largest body read, in bytes (413 beyond). Default 64 KiB. */
  readonly maxBodyBytes?: number;
  /** Largest number of URLs, tags or patterns in one request. Default 1000. */
  readonly maxItems?: number;
  readonly clock?: Clock;
  /** Told of every refused or failed purge (never of credentials). */
  readonly onError?: (error: GatecacheError) => void;
}

export interface PurgeHandler {
  readonly path: string;
  (request: PurgeHttpRequest): Promise<PurgeHttpResponse>;
}

const FIELDS = new Set(['urls', 'tags', 'patterns', 'all', 'soft', 'host']);
const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(reason);
  }
}

/**
 * The purge endpoint, framework-neutral (Web Crypto-free hashing, no Node API: it runs on
 * Workers too). Credentials: a bearer token, or an HMAC signature with a timestamp; cookies
 * never authenticate, so a browser cannot be tricked into purging (CSRF).
 */
export function createPurgeHandler(options: PurgeHandlerOptions): PurgeHandler {
  if (options === null || typeof options !== 'object')
    throw invalidOption('options', options, 'an object');
  if (typeof options.invalidation?.invalidate !== 'function') {
    throw invalidOption(
      'invalidation',
      options.invalidation,
      'an Invalidation (createInvalidation)',
    );
  }
  const path = options.path ?? '/cache/invalidate';
  if (typeof path !== 'string' || !path.startsWith('/') || path.includes('?')) {
    throw invalidOption('path', path, 'a path starting with "/"');
  }
  const tokens = options.tokens ?? [];
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string' && t.length >= 16)) {
    throw invalidOption('tokens', options.tokens, 'an array of tokens of at least 16 characters');
  }
  const secrets = options.secrets ?? [];
  if (
    !Array.isArray(secrets) ||
    !secrets.every((s) => (typeof s === 'string' || s instanceof Uint8Array) && s.length >= 16)
  ) {
    throw invalidOption(
      'secrets',
      options.secrets,
      'an array of secrets of at least 16 characters or bytes',
    );
  }
  if (tokens.length === 0 && secrets.length === 0) {
    throw invalidOption(
      'tokens',
      options.tokens,
      'set (or "secrets"): a purge endpoint without credentials would let anyone empty the cache',
    );
  }
  const windowSeconds = options.replayWindowSeconds ?? 300;
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1) {
    throw invalidOption('replayWindowSeconds', windowSeconds, 'a positive integer');
  }
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 2) {
    throw invalidOption('maxBodyBytes', maxBodyBytes, 'a positive integer');
  }
  const maxItems = options.maxItems ?? 1000;
  if (!Number.isSafeInteger(maxItems) || maxItems < 1)
    throw invalidOption('maxItems', maxItems, 'a positive integer');
  const clock = options.clock ?? systemClock;
  const signatureHeader = (options.signatureHeader ?? 'x-gatecache-signature').toLowerCase();
  const timestampHeader = (options.timestampHeader ?? 'x-gatecache-timestamp').toLowerCase();
  const tokenOk = tokens.length > 0 ? createTokenCheck(tokens) : undefined;
  const signatureOk = secrets.length > 0 ? createSignatureCheck(secrets) : undefined;
  const replay = options.replayGuard ?? createMemoryReplayGuard(100_000, () => clock.now());
  const { invalidation } = options;

  async function authenticate(request: PurgeHttpRequest): Promise<Uint8Array | undefined> {
    const authorization = header(request.headers, 'authorization');
    const signature = header(request.headers, signatureHeader);
    if (tokenOk !== undefined && authorization !== undefined) {
      const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
      if (match !== null && tokenOk(match[1]!)) return undefined;
      throw unauthorized('invalid bearer token');
    }
    if (signatureOk !== undefined && signature !== undefined) {
      const timestamp = header(request.headers, timestampHeader);
      if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) {
        throw unauthorized(`signed requests need a ${timestampHeader} field (Unix seconds)`);
      }
      const skew = Math.abs(clock.now() / 1000 - Number(timestamp));
      if (skew > windowSeconds) throw unauthorized('timestamp outside the replay window');
      const body = await readBody(
        request.body,
        maxBodyBytes,
        header(request.headers, 'content-length'),
      );
      if (!signatureOk(signature, timestamp, body)) throw unauthorized('invalid signature');
      if (!(await replay.claim(signature.toLowerCase(), windowSeconds * 2000))) {
        throw unauthorized('signature already used');
      }
      return body;
    }
    throw unauthorized('credentials required');
  }

  const handler = async function purgeHandler(
    request: PurgeHttpRequest,
  ): Promise<PurgeHttpResponse> {
    try {
      if (request.method.toUpperCase() !== 'POST') {
        throw new Refusal(405, 'use POST', { allow: 'POST' });
      }
      const signed = await authenticate(request);
      const contentType = header(request.headers, 'content-type');
      if (
        contentType !== undefined &&
        !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)
      ) {
        throw new Refusal(415, 'send the body as application/json');
      }
      const body =
        signed ??
        (await readBody(request.body, maxBodyBytes, header(request.headers, 'content-length')));
      const spec = parseSpec(body, maxItems);
      let counts: PurgeCounts;
      try {
        counts = await invalidation.invalidate(spec);
      } catch (error) {
        if (error instanceof GatecacheError && error.code === 'ERR_BAD_REQUEST') {
          throw new Refusal(400, error.message.replace(/^\[gatecache\] /, ''));
        }
        throw new Refusal(503, 'the purge could not be applied everywhere; retry', {
          'retry-after': '1',
        });
      }
      return {
        status: 202,
        headers: JSON_HEADERS,
        body: JSON.stringify({ accepted: true, counts }),
      };
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal(500, 'purge failed');
      options.onError?.(
        new GatecacheError(
          refusal.status === 401 ? 'ERR_UNAUTHORIZED' : 'ERR_BAD_REQUEST',
          `[gatecache] purge refused (${refusal.status}): ${refusal.reason}`,
          { cause: error },
        ),
      );
      return {
        status: refusal.status,
        headers: { ...JSON_HEADERS, ...refusal.headers },
        body: JSON.stringify({ error: refusal.reason }),
      };
    }
  };
  return Object.assign(handler, { path });
}

function unauthorized(reason: string): Refusal {
  return new Refusal(401, reason, { 'www-authenticate': 'Bearer realm="gatecache"' });
}

function header(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}

async function readBody(
  body: PurgeHttpRequest['body'],
  limit: number,
  declared: string | undefined,
): Promise<Uint8Array> {
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  if (body === null || body === undefined) return new Uint8Array(0);
  if (body instanceof Uint8Array) {
    if (body.byteLength > limit) throw tooLarge(limit);
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const iterable: AsyncIterable<Uint8Array> =
    Symbol.asyncIterator in body ? body : streamIterable(body);
  for await (const chunk of iterable) {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    size += bytes.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(bytes);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

async function* streamIterable(stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stops the upload when the limit is hit.
    await reader.cancel().catch(() => undefined);
  }
}

function tooLarge(limit: number): Refusal {
  return new Refusal(413, `body larger than ${limit} bytes`);
}

/** Validates the JSON body into a purge; every refusal says what is wrong. */
export function parseSpec(body: Uint8Array, maxItems = 1000): PurgeSpec {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new Refusal(400, 'body must be JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Refusal(400, 'body must be a JSON object with "urls", "tags", "patterns" or "all"');
  }
  const input = value as Record<string, unknown>;
  for (const name of Object.keys(input)) {
    if (!FIELDS.has(name)) throw new Refusal(400, `unknown field "${name.slice(0, 40)}"`);
  }
  const strings = (name: string): string[] | undefined => {
    const list = input[name];
    if (list === undefined) return undefined;
    if (
      !Array.isArray(list) ||
      !list.every((item) => typeof item === 'string' && item.length > 0 && item.length <= 2048)
    ) {
      throw new Refusal(400, `"${name}" must be an array of non-empty strings`);
    }
    if (list.length > maxItems) throw new Refusal(400, `"${name}" has more than ${maxItems} items`);
    return list as string[];
  };
  const urls = strings('urls');
  const tags = strings('tags');
  let patterns: PurgePattern[] | undefined;
  if (input['patterns'] !== undefined) {
    const list = input['patterns'];
    if (!Array.isArray(list)) throw new Refusal(400, '"patterns" must be an array');
    if (list.length > maxItems)
      throw new Refusal(400, `"patterns" has more than ${maxItems} items`);
    patterns = list.map((item: unknown, index): PurgePattern => {
      if (typeof item === 'string' && item.length > 0 && item.length <= 2048) return item;
      if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
        const entries = Object.entries(item as Record<string, unknown>);
        const [kind, text] = entries[0] ?? [];
        if (
          entries.length === 1 &&
          (kind === 'url' || kind === 'key' || kind === 'tag') &&
          typeof text === 'string' &&
          text.length > 0 &&
          text.length <= 2048
        ) {
          return kind === 'url' ? { url: text } : kind === 'key' ? { key: text } : { tag: text };
        }
      }
      throw new Refusal(
        400,
        `"patterns[${index}]" must be a non-empty string or one of {"url"}, {"key"}, {"tag"}`,
      );
    });
  }
  for (const flag of ['all', 'soft'] as const) {
    if (input[flag] !== undefined && typeof input[flag] !== 'boolean') {
      throw new Refusal(400, `"${flag}" must be true or false`);
    }
  }
  const host = input['host'];
  if (host !== undefined && (typeof host !== 'string' || !/^[A-Za-z0-9.-]+(:\d+)?$/.test(host))) {
    throw new Refusal(400, '"host" must be a host name');
  }
  const all = input['all'] === true;
  if (!all && !urls?.length && !tags?.length && !patterns?.length) {
    throw new Refusal(400, 'nothing to purge: name "urls", "tags", "patterns" or "all": true');
  }
  return {
    ...(urls !== undefined ? { urls } : {}),
    ...(tags !== undefined ? { tags } : {}),
    ...(patterns !== undefined ? { patterns } : {}),
    ...(all ? { all } : {}),
    ...(input['soft'] === true ? { soft: true } : {}),
    ...(typeof host === 'string' ? { host } : {}),
  };
}
