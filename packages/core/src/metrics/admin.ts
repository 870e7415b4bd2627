/**
 * The admin endpoint, framework-neutral: adapters translate their request into an `AdminRequest`
 * and write the `AdminResponse` back. Off unless mounted with a token; every route but the
 * dashboard shell (which holds no data) needs `Authorization: Bearer <token>`.
 *
 *   GET  /            dashboard (HTML; asks for the token, keeps it in sessionStorage)
 *   GET  /stats       hit ratio overall and per route, memory, evictions, hottest and largest keys
 *   GET  /inspect     ?url=/path&host=h : variants, ages, TTLs, tags and tiers of one URL
 *   POST /purge       {"urls":[…]} | {"tags":[…]} | {"patterns":["/api/*"]} | {"all":true}
 *   GET  /metrics     the Prometheus text (same token)
 */
import { DEFAULTS } from '../defaults.ts';
import type { HttpCache } from '../engine.ts';
import { invalidOption } from '../errors.ts';
import type { KeySettings } from '../key.ts';
import type { RequestHeaders } from '../types.ts';
import type { CacheMetrics } from './create-metrics.ts';
import { renderDashboard } from './dashboard.ts';
import { inspectUrl, keysMatchingPath, keysWithTags, largestEntries } from './inspect.ts';
import { errorSummary, safeLog, silentLogger, type GatecacheLogger } from './logger.ts';
import { probeLayers } from './store-probe.ts';
import { checkToken, tokenVerifier } from './token.ts';

export interface AdminRequest {
  readonly method: string;
  /** Path and query below the mount point, starting with `/` (`/stats`, `/inspect?url=…`). */
  readonly url: string;
  readonly headers: RequestHeaders;
  /** The request body as text (POST /purge), when there is one. */
  readonly body?: string | undefined;
}

export interface AdminResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A purge as the admin endpoint takes it: the webhook's JSON body (`@gatecache/core/invalidation`). */
export interface AdminPurgeSpec {
  readonly urls?: readonly string[];
  readonly tags?: readonly string[];
  /** URL globs such as `/api/users/*`. */
  readonly patterns?: readonly string[];
  readonly all?: boolean;
  readonly soft?: boolean;
  readonly host?: string;
}

/** What applies purges when the invalidation module is in use (an `Invalidation`). */
export interface AdminInvalidation {
  invalidate(spec: AdminPurgeSpec): Promise<unknown>;
}

const MAX_PURGE_ITEMS = 1000;

function stringList(
  value: unknown,
  check: (item: string) => boolean,
): string[] | undefined | false {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_PURGE_ITEMS) return false;
  return value.every((item) => typeof item === 'string' && item !== '' && check(item))
    ? (value as string[])
    : false;
}

/** Reads `{urls, tags, patterns, all, soft, host}` (and the shorthands `url`, `tag`, `pattern`). */
export function parsePurgeBody(body: string | undefined): AdminPurgeSpec | string {
  const usage =
    '[gatecache] purge needs a JSON object such as {"urls": ["/path"]}, {"tags": ["t"]}, {"patterns": ["/api/*"]} or {"all": true}';
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body ?? '') as Record<string, unknown>;
  } catch {
    return usage;
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return usage;
  const single = (name: string): unknown[] | undefined =>
    typeof input[name] === 'string' ? [input[name]] : undefined;
  const urls = stringList(
    input.urls ?? single('url'),
    (u) => u.startsWith('/') || /^https?:\/\//.test(u),
  );
  const tags = stringList(input.tags ?? single('tag'), () => true);
  const patterns = stringList(input.patterns ?? single('pattern'), (p) => p.startsWith('/'));
  if (urls === false || tags === false || patterns === false) return usage;
  if (input.all !== undefined && typeof input.all !== 'boolean') return usage;
  if (input.soft !== undefined && typeof input.soft !== 'boolean') return usage;
  if (input.host !== undefined && typeof input.host !== 'string') return usage;
  const spec: AdminPurgeSpec = {
    ...(urls !== undefined && { urls }),
    ...(tags !== undefined && { tags }),
    ...(patterns !== undefined && { patterns }),
    ...(input.all === true && { all: true }),
    ...(input.soft === true && { soft: true }),
    ...(typeof input.host === 'string' && { host: input.host }),
  };
  if (!spec.all && !spec.urls?.length && !spec.tags?.length && !spec.patterns?.length) return usage;
  return spec;
}

export interface AdminOptions {
  readonly cache: HttpCache;
  /** The secret; at least 16 characters. Without it there is no admin endpoint. */
  readonly token: string;
  readonly metrics?: CacheMetrics;
  /** Allow POST /purge. Default true. */
  readonly purge?: boolean;
  /** The invalidation module (`createInvalidation(...)`), for tag epochs, soft purges, the bus. */
  readonly invalidation?: AdminInvalidation;
  readonly logger?: GatecacheLogger;
  /** Key settings of the engine (as for `createMetrics`). */
  readonly keys?: {
    readonly namespace?: string;
    readonly keyHost?: boolean;
    readonly queryIgnore?: readonly string[];
    readonly sensitiveQuery?: readonly string[];
  };
  /** Dashboard refresh period in ms. Default 2000. */
  readonly refreshMs?: number;
  /** Largest request body accepted (POST /purge). Default 64 KiB. */
  readonly maxBodyBytes?: number;
}

export type AdminHandler = (request: AdminRequest) => Promise<AdminResponse>;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

function json(status: number, value: unknown, extra: Record<string, string> = {}): AdminResponse {
  return {
    status,
    headers: { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', ...extra },
    body: JSON.stringify(value, null, 2) + '\n',
  };
}

function problem(
  status: number,
  message: string,
  extra: Record<string, string> = {},
): AdminResponse {
  return json(status, { error: message }, extra);
}

/** Creates the framework-neutral admin handler (options validated here, once). */
export function createAdminHandler(options: AdminOptions): AdminHandler {
  if (options === null || typeof options !== 'object')
    throw invalidOption('options', options, 'an object');
  const cache = options.cache;
  if (cache === null || typeof cache !== 'object' || typeof cache.handle !== 'function') {
    throw invalidOption('cache', cache, 'an HttpCache (createHttpCache(...), or middleware.cache)');
  }
  const verify = tokenVerifier(checkToken('token', options.token));
  const logger = options.logger ?? options.metrics?.logger ?? silentLogger;
  const allowPurge = options.purge ?? true;
  const refreshMs = options.refreshMs ?? 2000;
  if (!Number.isSafeInteger(refreshMs) || refreshMs < 250) {
    throw invalidOption('refreshMs', refreshMs, 'an integer of at least 250');
  }
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const settings: KeySettings = {
    namespace: options.keys?.namespace ?? DEFAULTS.namespace,
    includeHost: options.keys?.keyHost ?? DEFAULTS.keyHost,
    queryIgnore: options.keys?.queryIgnore ?? DEFAULTS.queryIgnore,
    sensitiveQuery: options.keys?.sensitiveQuery ?? DEFAULTS.sensitiveQuery,
  };
  const metrics = options.metrics;
  const dashboard = (nonce: string): string => renderDashboard({ nonce, refreshMs });

  async function stats(query: URLSearchParams): Promise<AdminResponse> {
    const now = cache.clock.now();
    const limit = Math.min(100, Math.max(1, Number(query.get('limit') ?? 10) || 10));
    const probes = probeLayers(cache.store);
    const largest = await largestEntries(probes, now, limit);
    const snapshot = metrics?.snapshot({ topKeys: limit });
    return json(200, {
      ...(snapshot ?? {
        at: now,
        hitRatio:
          cache.stats.hits + cache.stats.misses > 0
            ? cache.stats.hits / (cache.stats.hits + cache.stats.misses)
            : null,
        engine: cache.stats,
      }),
      largestEntries: largest,
    });
  }

  async function inspect(query: URLSearchParams, headers: RequestHeaders): Promise<AdminResponse> {
    const url = query.get('url');
    if (url === null || !url.startsWith('/')) {
      return problem(400, '[gatecache] inspect needs ?url= with a path such as /api/items?page=2');
    }
    const hostHeader = headers['host'];
    const host = query.get('host') ?? (typeof hostHeader === 'string' ? hostHeader : undefined);
    const result = await inspectUrl(
      probeLayers(cache.store),
      settings,
      url,
      host,
      cache.clock.now(),
    );
    return json(200, result);
  }

  async function purge(
    body: string | undefined,
    requestHost: string | undefined,
  ): Promise<AdminResponse> {
    if (!allowPurge)
      return problem(403, '[gatecache] purging through the admin endpoint is turned off');
    if (body !== undefined && body.length > maxBodyBytes)
      return problem(413, '[gatecache] request body too large');
    const parsed = parsePurgeBody(body);
    if (typeof parsed === 'string') return problem(400, parsed);
    // Path-only URLs name this gateway's own host unless the body says otherwise.
    const spec: AdminPurgeSpec =
      parsed.host === undefined && requestHost !== undefined
        ? { ...parsed, host: requestHost }
        : parsed;
    if (options.invalidation !== undefined) {
      const counts = await options.invalidation.invalidate(spec);
      return json(200, { purged: counts });
    }
    // Without an invalidation module: URL purges through the engine, the rest by scanning.
    const counts = { urls: 0, tags: 0, patterns: 0, keys: 0, all: false };
    if (spec.all === true) {
      await cache.clear();
      counts.all = true;
      return json(200, { purged: counts });
    }
    for (const url of spec.urls ?? []) {
      await cache.invalidateUrl(url, spec.host);
      counts.urls++;
    }
    if (spec.tags !== undefined && spec.tags.length > 0) {
      const keys = await keysWithTags(cache.store, settings, spec.tags);
      for (const key of keys) await cache.store.delete(key);
      counts.tags = spec.tags.length;
      counts.keys += keys.length;
    }
    for (const pattern of spec.patterns ?? []) {
      const keys = await keysMatchingPath(cache.store, settings, pattern, spec.host);
      for (const key of keys) await cache.store.delete(key);
      counts.patterns++;
      counts.keys += keys.length;
    }
    return json(200, { purged: counts });
  }

  return async function adminHandler(request: AdminRequest): Promise<AdminResponse> {
    let parsed: URL;
    try {
      parsed = new URL(request.url, 'http://admin.invalid');
    } catch {
      return problem(400, '[gatecache] bad request target');
    }
    const path = parsed.pathname.replace(/\/+$/, '') || '/';
    const method = request.method.toUpperCase();
    if ((path === '/' || path === '/dashboard') && (method === 'GET' || method === 'HEAD')) {
      const nonce = randomNonce();
      return {
        status: 200,
        headers: {
          ...SECURITY_HEADERS,
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'x-frame-options': 'DENY',
        },
        body: dashboard(nonce),
      };
    }
    if (!verify(request.headers)) {
      return problem(401, '[gatecache] admin endpoint: send Authorization: Bearer <token>', {
        'www-authenticate': 'Bearer realm="gatecache"',
      });
    }
    try {
      const query = parsed.searchParams;
      if (method === 'GET' && path === '/stats') return await stats(query);
      if (method === 'GET' && path === '/inspect') return await inspect(query, request.headers);
      if (method === 'GET' && path === '/metrics' && metrics !== undefined) {
        const body =
          metrics.registry !== undefined ? await metrics.registry.metrics() : metrics.prometheus();
        return {
          status: 200,
          headers: {
            ...SECURITY_HEADERS,
            'content-type': metrics.registry?.contentType ?? metrics.contentType,
          },
          body,
        };
      }
      if (path === '/purge') {
        if (method !== 'POST')
          return problem(405, '[gatecache] use POST for /purge', { allow: 'POST' });
        const hostHeader = request.headers['host'];
        const response = await purge(
          request.body,
          typeof hostHeader === 'string' ? hostHeader : undefined,
        );
        if (response.status === 200) {
          safeLog(
            logger,
            'info',
            { event: 'gatecache.admin.purge', result: JSON.parse(response.body) as object },
            '[gatecache] purge via admin endpoint',
          );
        }
        return response;
      }
      return problem(
        404,
        '[gatecache] unknown admin route; try /stats, /inspect?url=, /purge or /',
      );
    } catch (error) {
      safeLog(
        logger,
        'error',
        { event: 'gatecache.admin.error', error: errorSummary(error) },
        '[gatecache] admin request failed',
      );
      return problem(500, '[gatecache] admin request failed');
    }
  };
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let text = '';
  for (const b of bytes) text += b.toString(16).padStart(2, '0');
  return text;
}
