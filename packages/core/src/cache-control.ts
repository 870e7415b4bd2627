import { splitList } from './headers.ts';

/** Directive value: `true` for a directive without an argument. */
export type DirectiveValue = string | true;

export interface CacheControl {
  readonly directives: ReadonlyMap<string, DirectiveValue>;
  /** Directives that appeared more than once with different values (RFC 9111 §4.2.1). */
  readonly conflicting: ReadonlySet<string>;
}

const EMPTY: CacheControl = { directives: new Map(), conflicting: new Set() };

/**
 * Parses every line of a Cache-Control-like field (Cache-Control, CDN-Cache-Control, a targeted
 * field). Unknown directives are kept and ignored by the policy (RFC 9111 §5.2.3); directive names
 * are case-insensitive (§5.2); quoted arguments are unquoted.
 */
export function parseCacheControl(lines: readonly string[]): CacheControl {
  if (lines.length === 0) return EMPTY;
  const directives = new Map<string, DirectiveValue>();
  const conflicting = new Set<string>();
  for (const line of lines) {
    for (const item of splitList(line)) {
      const eq = item.indexOf('=');
      const name = (eq === -1 ? item : item.slice(0, eq)).trim().toLowerCase();
      if (!name) continue;
      let value: DirectiveValue = true;
      if (eq !== -1) {
        value = item.slice(eq + 1).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
          value = value.slice(1, -1).replace(/\\(.)/g, '$1');
        }
      }
      const previous = directives.get(name);
      if (previous === undefined) directives.set(name, value);
      else if (previous !== value) conflicting.add(name);
    }
  }
  return { directives, conflicting };
}

/** 2^31: the largest delta-seconds a cache needs to represent (RFC 9111 §1.2.2). */
export const DELTA_SECONDS_MAX = 2_147_483_648;

/**
 * Parses delta-seconds (RFC 9111 §1.2.2): digits only; overflow clamps to 2^31. Returns
 * `undefined` for an invalid value so callers can treat it as RFC 9111 §4.2.1 says (stale).
 */
export function parseDeltaSeconds(value: DirectiveValue | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  // Leading zeros carry no value: `00000000060` is 60, not an overflow.
  const digits = value.replace(/^0+(?=\d)/, '');
  if (digits.length > 10) return DELTA_SECONDS_MAX;
  const n = Number(digits);
  return n > DELTA_SECONDS_MAX ? DELTA_SECONDS_MAX : n;
}

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE =
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ( \d|\d{2}) \d{2}:\d{2}:\d{2} \d{4}$/;

/** Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three formats; anything else is undefined. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (IMF_FIXDATE.test(text)) ms = Date.parse(text);
  else if (RFC850_DATE.test(text)) {
    // RFC 9110 §5.6.7 reads a two-digit year as the nearest one; a fixed pivot keeps this pure.
    const parts = /-(\d{2}) /.exec(text);
    const yy = Number(parts?.[1] ?? '0');
    const year = yy < 70 ? 2000 + yy : 1900 + yy;
    ms = Date.parse(text.replace(/-(\d{2}) /, `-${year} `).replace(/^\w+, /, ''));
  } else if (ASCTIME_DATE.test(text)) ms = Date.parse(text + ' GMT');
  else return undefined;
  return Number.isFinite(ms) ? ms : undefined;
}
