import type { HeaderList, RequestHeaders } from './types.ts';

/** The first value of a response field, or undefined. */
export function firstHeader(headers: HeaderList, name: string): string | undefined {
  for (const [field, value] of headers) if (field === name) return value;
  return undefined;
}

/** Every line of a response field, in order. */
export function allHeaders(headers: HeaderList, name: string): string[] {
  const values: string[] = [];
  for (const [field, value] of headers) if (field === name) values.push(value);
  return values;
}

export function hasHeader(headers: HeaderList, name: string): boolean {
  for (const [field] of headers) if (field === name) return true;
  return false;
}

/** A request field as one value (list fields joined with ", " as RFC 9110 §5.3 allows). */
export function requestHeader(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.join(', ');
}

/** Splits a list-based field value on commas outside quoted strings (RFC 9110 §5.6.1). */
export function splitList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value.charCodeAt(i);
    if (ch === 0x22 /* " */) quoted = !quoted;
    else if (ch === 0x5c /* \ */ && quoted) i++;
    else if (ch === 0x2c /* , */ && !quoted) {
      const item = value.slice(start, i).trim();
      if (item) items.push(item);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last) items.push(last);
  return items;
}

/**
 * Converts a Node-style header record (`res.getHeaders()`, `IncomingMessage.headers`) into a list,
 * keeping array values as separate lines.
 */
export function headerListFromRecord(
  record: Readonly<Record<string, string | number | readonly string[] | undefined>>,
): HeaderList {
  const list: HeaderList = [];
  for (const name in record) {
    const value = record[name];
    if (value === undefined) continue;
    const field = name.toLowerCase();
    if (typeof value === 'string') list.push([field, value]);
    else if (typeof value === 'number') list.push([field, String(value)]);
    else for (const item of value) list.push([field, item]);
  }
  return list;
}

/** Converts Node's `rawHeaders` ([name, value, name, value, …]) into a list, keeping duplicates. */
export function headerListFromRaw(raw: readonly string[]): HeaderList {
  const list: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) list.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return list;
}

/** Hop-by-hop fields never stored or forwarded by a cache (RFC 9111 §3.1, RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Removes hop-by-hop fields and the fields a `Connection` header names. */
export function withoutHopByHop(headers: HeaderList): HeaderList {
  const named = new Set<string>();
  for (const [field, value] of headers) {
    if (field === 'connection') for (const item of splitList(value)) named.add(item.toLowerCase());
  }
  return headers.filter(([field]) => !HOP_BY_HOP.has(field) && !named.has(field));
}

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}
