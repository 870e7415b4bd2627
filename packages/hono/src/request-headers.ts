/**
 * A request's header fields as one plain record (lower-case names, repeated fields joined), the
 * form the engine reads.
 *
 * Iterating `request.headers` is the standard way, and on @hono/node-server the costly one: the
 * server's request stands in for a Fetch `Request` and builds a real `Headers` (every field
 * validated, then sorted for iteration) the first time its fields are listed. While nothing has
 * touched that request's fields yet, the same record comes from Node's own request: its parsed
 * `headers` object itself when no field name repeats (Node and `Headers` then agree), else the raw
 * list joined as `Headers` joins it. Anything else (another runtime, a request a middleware
 * replaced, fields already read or changed) takes the standard way, so a field an earlier
 * middleware set or removed is always seen.
 */
import type { RequestHeaders } from '@gatecache/core';
import { isPlainFieldName, isPlainFieldValue } from './web-origin.ts';

/** The fields of `request`, as `new Headers(…)` iteration would give them. May throw as it does. */
export function requestHeaderRecord(request: Request): RequestHeaders {
  const incoming = untouchedIncoming(request);
  if (incoming !== undefined) {
    const record = nodeRecord(incoming) ?? recordFromRaw(incoming.rawHeaders);
    if (record !== undefined) return record;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) headers[name] = value;
  return headers;
}

/** What is read of Node's request. */
interface NodeFields {
  readonly headers: Readonly<Record<string, unknown>>;
  readonly rawHeaders: readonly string[];
}

/**
 * The properties @hono/node-server gives a request it has just made, by symbol description, in the
 * order it sets them. Reading its fields adds another (the `Headers` it built); so does building
 * the real Fetch request behind it, or an abort signal. Only a request with exactly these three
 * is known to carry Node's fields unchanged.
 */
const FRESH = ['incomingKey', 'methodKey', 'urlKey'] as const;

/** The symbols last recognised as `FRESH`, the first of them holding the Node request. */
let fresh: readonly symbol[] | undefined;

function untouchedIncoming(request: Request): NodeFields | undefined {
  const symbols = Object.getOwnPropertySymbols(request);
  if (symbols.length !== FRESH.length) return undefined;
  if (
    fresh === undefined ||
    symbols[0] !== fresh[0] ||
    symbols[1] !== fresh[1] ||
    symbols[2] !== fresh[2]
  ) {
    for (let i = 0; i < FRESH.length; i++) {
      if (symbols[i]!.description !== FRESH[i]) return undefined;
    }
    fresh = symbols;
  }
  const incoming: unknown = (request as unknown as Record<symbol, unknown>)[symbols[0]!];
  if (typeof incoming !== 'object' || incoming === null) return undefined;
  const { headers, rawHeaders } = incoming as Partial<NodeFields>;
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (!Array.isArray(rawHeaders) || rawHeaders.length % 2 !== 0) return undefined;
  return { headers, rawHeaders };
}

/**
 * Node's parsed fields, shared rather than copied, when they say what `Headers` would: one entry
 * per raw field (no name repeated, so nothing was joined or dropped), every value a string
 * `Headers` accepts, no HTTP/2 pseudo-field. Undefined otherwise. The engine only reads it.
 */
function nodeRecord(incoming: NodeFields): RequestHeaders | undefined {
  const headers = incoming.headers;
  let count = 0;
  for (const name in headers) {
    const value = headers[name];
    // A pseudo-field (HTTP/2 `:path`) fails the name test too: `Headers` never holds one.
    if (typeof value !== 'string' || !isPlainFieldValue(value) || !isPlainFieldName(name)) {
      return undefined;
    }
    count++;
  }
  return count * 2 === incoming.rawHeaders.length ? (headers as RequestHeaders) : undefined;
}

/**
 * Node's raw list as a record, or undefined where `Headers` would refuse or reshape a field (so
 * that the standard path decides). HTTP/2 pseudo-fields (`:path`) are left out, as the server
 * leaves them out of its `Headers`; repeated fields are joined with ", " (Cookie with "; ").
 */
export function recordFromRaw(raw: readonly string[]): Record<string, string> | undefined {
  const record: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string') return undefined;
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const lower = name.toLowerCase();
    if (!isPlainFieldName(lower) || !isPlainFieldValue(value)) return undefined;
    if (Object.hasOwn(record, lower)) {
      record[lower] += (lower === 'cookie' ? '; ' : ', ') + value;
    } else if (lower === '__proto__') {
      // A plain record cannot hold this name as data; the standard path decides.
      return undefined;
    } else {
      record[lower] = value;
    }
  }
  return record;
}
