import type { CacheRequest, RequestHeaders } from '../types.ts';

/**
 * Returns the raw partition of a request (a credential, a session id, a user id), or undefined
 * when the request has none. The engine keys the partition by a one-way hash and never stores,
 * logs or echoes the raw value; a resolver must not log it either.
 */
export type PartitionResolver = (request: CacheRequest) => string | undefined;

/** Where a rule reads the partition from. */
export type PartitionSource =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'function'; readonly resolve: PartitionResolver };

function headerValue(headers: RequestHeaders, name: string, separator: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  return value.length === 0 ? undefined : value.join(separator);
}

/** RFC 6265 §5.4: a Cookie field is `name=value` pairs separated by `; `. */
export function readCookie(headers: RequestHeaders, name: string): string | undefined {
  // HTTP/2 may split Cookie into several fields (RFC 9113 §8.2.3); they join with "; ".
  const field = headerValue(headers, 'cookie', '; ');
  if (field === undefined) return undefined;
  let at = 0;
  while (at < field.length) {
    let end = field.indexOf(';', at);
    if (end === -1) end = field.length;
    const eq = field.indexOf('=', at);
    if (eq !== -1 && eq < end && field.slice(at, eq).trim() === name) {
      const value = field.slice(eq + 1, end).trim();
      return value === '' ? undefined : value;
    }
    at = end + 1;
  }
  return undefined;
}

function sourceResolver(source: PartitionSource): PartitionResolver {
  switch (source.kind) {
    case 'header': {
      const name = source.name;
      return function headerPartition(request) {
        return headerValue(request.headers, name, ', ');
      };
    }
    case 'cookie': {
      const name = source.name;
      return function cookiePartition(request) {
        return readCookie(request.headers, name);
      };
    }
    case 'function':
      return source.resolve;
  }
}

/**
 * One resolver for a rule's sources. With several sources the partition is every present value,
 * each labelled by its source, so that (credential A, no cookie) never equals (no credential,
 * cookie A); with none present the request has no partition and a private response is not stored.
 */
export function createPartitionResolver(sources: readonly PartitionSource[]): PartitionResolver {
  const resolvers = sources.map(sourceResolver);
  if (resolvers.length === 1 && resolvers[0] !== undefined) return resolvers[0];
  const labels = sources.map((s, i) => (s.kind === 'function' ? `fn${i}` : `${s.kind}:${s.name}`));
  return function combinedPartition(request) {
    let partition: string | undefined;
    for (let i = 0; i < resolvers.length; i++) {
      const value = resolvers[i]?.(request);
      if (value === undefined) continue;
      const part = `${labels[i] ?? ''}=${value}`;
      partition = partition === undefined ? part : `${partition}\n${part}`;
    }
    return partition;
  };
}
