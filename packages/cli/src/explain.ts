/**
 * `gatecache explain`: which rule a request matches, the key it is stored under, and what the
 * engine decides for it, by running it (twice) through a fresh engine with that configuration and
 * a stand-in origin that answers with the given status and header fields.
 */
import {
  buildPrimaryKey,
  createHttpCache,
  DEFAULTS,
  type CacheRequest,
  type HeaderList,
  type Origin,
} from '@gatecache/core';
import { compilePolicies, type LoadedConfig, type PolicyRule } from '@gatecache/core/config';

export interface ExplainInput {
  readonly method: string;
  /** An absolute URL or a path. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** What the origin answers (default 200 with no caching fields). */
  readonly status?: number;
  readonly responseHeaders?: HeaderList;
  readonly namespace?: string;
}

export interface Explanation {
  readonly request: {
    readonly method: string;
    readonly url: string;
    readonly host: string | undefined;
  };
  readonly rule:
    | { readonly name: string; readonly origin: string; readonly pattern: string | undefined }
    | undefined;
  /** The resolved policy (the raw partition never shown). */
  readonly policy: Record<string, unknown> | undefined;
  readonly key: string;
  readonly private: boolean;
  readonly decision: 'bypass' | 'cache';
  readonly reasons: readonly string[];
  /** Cache-Status of a first request (cold) and of the same request right after. */
  readonly first: string | undefined;
  readonly second: string | undefined;
}

function describePolicy(policy: Record<string, unknown>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(policy)) {
    shown[name] = name === 'partition' ? '[redacted]' : value;
  }
  return shown;
}

export async function explain(config: LoadedConfig, input: ExplainInput): Promise<Explanation> {
  const target = /^https?:\/\//i.test(input.url)
    ? new URL(input.url)
    : new URL(input.url, 'http://gateway.local');
  const host = input.headers['host'] ?? (/^https?:\/\//i.test(input.url) ? target.host : undefined);
  const url = target.pathname + target.search;
  const method = input.method.toUpperCase();
  const headers: Record<string, string> = { ...input.headers };
  if (host !== undefined) headers['host'] = host;
  const request: CacheRequest = { method, url, host, headers };
  const resolve = compilePolicies(config);
  const policy = resolve(request);
  const rule: PolicyRule | undefined =
    policy?.name === undefined ? undefined : config.rules.find((r) => r.name === policy.name);
  const namespace = input.namespace ?? DEFAULTS.namespace;
  const settings = {
    namespace,
    includeHost: DEFAULTS.keyHost,
    queryIgnore: DEFAULTS.queryIgnore,
    sensitiveQuery: DEFAULTS.sensitiveQuery,
  };
  const shared = buildPrimaryKey(
    {
      url,
      host,
      partitionHash: undefined,
      queryAllow: policy?.queryAllow,
      queryIgnore: policy?.queryIgnore,
    },
    settings,
  );
  const isPrivate = policy?.partition !== undefined;
  const reasons: string[] = [];
  let decision: 'bypass' | 'cache' = 'cache';
  if (rule !== undefined) {
    reasons.push(
      `rule "${rule.name}" (${rule.origin}) matches${rule.pattern ? ` ${rule.pattern}` : ''}`,
    );
  } else if (policy !== undefined) {
    reasons.push(`no rule matches: ${policy.name ?? 'defaults'} apply`);
  } else {
    reasons.push('no rule matches and there are no defaults: the engine options apply');
  }
  if (method !== 'GET' && method !== 'HEAD') {
    decision = 'bypass';
    reasons.push(
      ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)
        ? `${method} is unsafe: passed to the origin, and a success invalidates the URL (RFC 9111 §4.4)`
        : `${method} is never cached`,
    );
  } else if (policy?.cache === false || policy?.classification === 'sensitive') {
    decision = 'bypass';
    reasons.push(
      policy.classification === 'sensitive'
        ? 'classification "sensitive": never stored'
        : 'the rule sets cache: false',
    );
  } else if (headers['range'] !== undefined) {
    decision = 'bypass';
    reasons.push('Range requests go to the origin as they are');
  } else {
    if (policy?.private === true) {
      reasons.push(
        isPrivate
          ? 'private: stored per user, keyed by a one-way hash of the partition'
          : 'private, but this request has no partition (credential): it will not be stored',
      );
    }
    if (policy?.ttl !== undefined) {
      reasons.push(
        policy.override === true
          ? `ttl ${policy.ttl}s replaces the origin's freshness`
          : `ttl ${policy.ttl}s when the origin sends no freshness of its own`,
      );
    }
    if (policy?.staleWhileRevalidate !== undefined)
      reasons.push(`stale-while-revalidate ${policy.staleWhileRevalidate}s`);
    if (policy?.staleIfError !== undefined) reasons.push(`stale-if-error ${policy.staleIfError}s`);
    if (policy?.varyHeaders !== undefined)
      reasons.push(`varies on ${policy.varyHeaders.join(', ')}`);
    if (policy?.tags !== undefined && policy.tags.length > 0)
      reasons.push(`tags: ${policy.tags.join(', ')}`);
    if (policy?.layers !== undefined) reasons.push(`layers: ${policy.layers.join(', ')}`);
  }

  // What the engine does, cold and then warm.
  let now = Date.now();
  const cache = createHttpCache({ clock: { now: () => now }, policy: resolve, namespace });
  const status = input.status ?? 200;
  const responseHeaders: HeaderList = input.responseHeaders ?? [];
  const body = new TextEncoder().encode('{}');
  const origin: Origin = (call) => {
    const action = call.head(status, responseHeaders, body);
    return Promise.resolve({
      status,
      headers: responseHeaders,
      body: action.capture ? body : undefined,
      complete: true,
    });
  };
  const statusOf = async (): Promise<string | undefined> => {
    let seen: string | undefined;
    const wrapped: Origin = async (call) =>
      origin({
        ...call,
        head: (s, h, b) => {
          const action = call.head(s, h, b);
          if (action.type === 'stream')
            seen = action.headers.find(([n]) => n === 'cache-status')?.[1];
          return action;
        },
      });
    const result = await cache.handle(request, wrapped);
    if (result.type === 'send')
      return result.response.headers.find(([n]) => n === 'cache-status')?.[1];
    return seen;
  };
  const first = await statusOf();
  now += 1000;
  const second = await statusOf();
  await cache.close();

  return {
    request: { method, url, host },
    rule: rule && { name: rule.name, origin: rule.origin, pattern: rule.pattern },
    policy: policy && describePolicy({ ...policy }),
    key: isPrivate ? `${shared} p=<hash of the partition>` : shared,
    private: isPrivate,
    decision,
    reasons,
    first,
    second,
  };
}
