/**
 * The seed writes request headers and query parameters in one `vary_by` list
 * (`["Authorization"]` beside `["query", "page", "sort"]`). An entry is read as:
 *
 * 1. `header:NAME` or `query:NAME` — what it says (the way to settle any doubt);
 * 2. a name containing `-` (`Accept-Language`, `X-Tenant-ID`) — a request header;
 * 3. one of the request header names below that have no `-` — a request header;
 * 4. anything else — a query parameter name (so the seed's `query` is the parameter `?query=`).
 */
export const HEADER_NAMES_WITHOUT_DASH: ReadonlySet<string> = new Set([
  'accept',
  'authorization',
  'cookie',
  'dnt',
  'forwarded',
  'host',
  'origin',
  'pragma',
  'prefer',
  'priority',
  'referer',
  'te',
  'upgrade',
  'via',
]);

/**
 * Credential-bearing request headers. Varying on one of them would put the raw credential in the
 * stored variant record; instead the rule is partitioned by it, and the engine keys the partition
 * by a one-way hash (DESIGN.md: secrets stay out of keys).
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
]);

export type VaryEntry =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'query'; readonly name: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Classifies one list entry; throws a plain Error for the validator to wrap. */
export function classifyVaryEntry(entry: string): VaryEntry {
  const colon = entry.indexOf(':');
  if (colon !== -1) {
    const prefix = entry.slice(0, colon).trim().toLowerCase();
    const name = entry.slice(colon + 1).trim();
    if (prefix === 'header') return { kind: 'header', name: headerName(name) };
    if (prefix === 'query') return { kind: 'query', name: queryName(name) };
    throw new Error('has a prefix other than "header:" or "query:"');
  }
  const name = entry.trim();
  const lower = name.toLowerCase();
  if (lower.includes('-') || HEADER_NAMES_WITHOUT_DASH.has(lower)) {
    return { kind: 'header', name: headerName(name) };
  }
  return { kind: 'query', name: queryName(name) };
}

export function headerName(name: string): string {
  if (!TOKEN.test(name)) throw new Error('is not a valid header field name (RFC 9110 §5.1)');
  return name.toLowerCase();
}

export function queryName(name: string): string {
  if (name === '' || /[&=#?\s]/.test(name)) {
    throw new Error('is not a query parameter name (no "&", "=", "#", "?" or spaces)');
  }
  return name;
}
