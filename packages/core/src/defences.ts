/**
 * Cache poisoning and deception defences. Pure: request and response facts in, verdicts out.
 */
import { firstHeader } from './headers.ts';
import type { HeaderList, RequestHeaders } from './types.ts';

/**
 * Request fields that frameworks and proxies commonly let change a response (absolute links,
 * routing, the method) without a cache keying on them: the classic unkeyed inputs of poisoning.
 */
export const UNKEYED_HEADERS: readonly string[] = [
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-scheme',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-original-url',
  'x-original-host',
  'x-rewrite-url',
  'x-host',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'forwarded',
];

/** The first unkeyed field the request carries, or undefined. */
export function findUnkeyedHeader(
  headers: RequestHeaders,
  unkeyed: readonly string[],
  keyed: readonly string[] | undefined,
): string | undefined {
  for (const name of unkeyed) {
    if (headers[name] !== undefined && !(keyed?.includes(name) ?? false)) return name;
  }
  return undefined;
}

/** A GET or HEAD that carries a body: its meaning is undefined (RFC 9110 §9.3.1), never cached. */
export function hasRequestBody(headers: RequestHeaders): boolean {
  return (scanRequestFields(headers, Infinity, undefined, undefined) & FIELDS_WITH_BODY) !== 0;
}

/** `scanRequestFields` flags: the header section is larger than allowed. */
export const FIELDS_TOO_LARGE = 1;
/** `scanRequestFields` flags: the request carries a body (see `hasRequestBody`). */
export const FIELDS_WITH_BODY = 2;
/** `scanRequestFields` flags: an unkeyed field the policy does not vary on (see `findUnkeyedHeader`). */
export const FIELDS_UNKEYED = 4;

/**
 * The approximate size of the header section above `maxBytes` (each field's name and value plus
 * 4 bytes), `hasRequestBody` and `findUnkeyedHeader`, in one pass over the fields the request
 * has, as flags. Looking up each unkeyed name in the request instead cost a property miss per
 * name on every request, most requests carrying none of them.
 */
export function scanRequestFields(
  headers: RequestHeaders,
  maxBytes: number,
  unkeyed: ReadonlySet<string> | undefined,
  keyed: readonly string[] | undefined,
): number {
  let total = 0;
  let flags = 0;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') total += name.length + value.length + 4;
    else for (const item of value) total += name.length + item.length + 4;
    if (name === 'content-length') {
      if (value !== '0') flags |= FIELDS_WITH_BODY;
    } else if (name === 'transfer-encoding') {
      flags |= FIELDS_WITH_BODY;
    } else if (unkeyed?.has(name) === true && !(keyed?.includes(name) ?? false)) {
      flags |= FIELDS_UNKEYED;
    }
  }
  return total > maxBytes ? flags | FIELDS_TOO_LARGE : flags;
}

/** Header fields with CR, LF or NUL in a name or value: never stored, never replayed. */
export function hasUnsafeHeader(headers: HeaderList): boolean {
  for (const [name, value] of headers) {
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) return true;
  }
  return false;
}

/** Media types a static-looking path extension promises. */
const EXTENSION_TYPES: Readonly<Record<string, readonly string[]>> = {
  css: ['text/css'],
  js: ['application/javascript', 'text/javascript', 'application/x-javascript'],
  mjs: ['application/javascript', 'text/javascript'],
  json: ['application/json'],
  map: ['application/json'],
  png: ['image/png'],
  jpg: ['image/jpeg'],
  jpeg: ['image/jpeg'],
  gif: ['image/gif'],
  webp: ['image/webp'],
  avif: ['image/avif'],
  svg: ['image/svg+xml'],
  ico: ['image/x-icon', 'image/vnd.microsoft.icon'],
  woff: ['font/woff', 'application/font-woff'],
  woff2: ['font/woff2'],
  ttf: ['font/ttf', 'application/x-font-ttf'],
  txt: ['text/plain'],
  csv: ['text/csv'],
  xml: ['application/xml', 'text/xml'],
  pdf: ['application/pdf'],
  html: ['text/html'],
  htm: ['text/html'],
  wasm: ['application/wasm'],
};

/**
 * Web cache deception: `/account/settings.css` answered by a route that ignores the suffix sends
 * the private HTML page. A path whose extension promises a type is stored only when the response
 * is of that type. Paths without a known extension are not judged.
 */
export function contentTypeContradictsPath(path: string, headers: HeaderList): boolean {
  const query = path.indexOf('?');
  const clean = query === -1 ? path : path.slice(0, query);
  const lastSlash = clean.lastIndexOf('/');
  const segment = clean.slice(lastSlash + 1);
  // No extension, not even an encoded one (`%2e`): nothing to judge, and nothing to decode.
  if (!segment.includes('.') && !segment.includes('%')) return false;
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // An undecodable segment is judged as it is.
  }
  // `;` and encoded separators are how deception paths hide the real route (`/a;x.css`).
  const dot = decoded.lastIndexOf('.');
  if (dot <= 0) return false;
  const expected = EXTENSION_TYPES[decoded.slice(dot + 1).toLowerCase()];
  if (expected === undefined) return false;
  const contentType = (firstHeader(headers, 'content-type') ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  return !expected.includes(contentType);
}
