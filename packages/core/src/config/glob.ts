/**
 * Path and host patterns of policy rules, compiled to one RegExp each when the rules are compiled.
 *
 * Path grammar: segments split on `/`; a whole-segment `*` is exactly one non-empty segment, `**`
 * any number of segments (zero included, so `/api/payments/**` also covers `/api/payments`),
 * `{name}` one segment captured under `name`, and inside a segment `*` is any run of characters
 * except `/` (`/v*` , `*.json`). Wildcards are also captured by position: `{1}` is the first `*` or
 * `**`. Matching ignores ASCII case and one trailing slash, as Express and Koa route by default: a
 * rule such as `cache: false` must not be escaped by writing `/API/Payments/1/` (cache deception).
 */

export interface CompiledPattern {
  readonly source: string;
  readonly regex: RegExp;
  /** Capture names in group order: `id` for `{id}`, `1`, `2`… for wildcards. */
  readonly captures: readonly string[];
  /** True when the pattern has no wildcard and no capture. */
  readonly literal: boolean;
}

const CAPTURE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Throws a plain Error with a message that the config validator wraps with the field path. */
export function compilePathPattern(pattern: string): CompiledPattern {
  if (!pattern.startsWith('/')) throw new Error('must start with "/"');
  if (pattern.includes('?') || pattern.includes('#')) {
    throw new Error('matches the path only: remove the query ("?…") and fragment ("#…")');
  }
  const segments = pattern.split('/').slice(1);
  const captures: string[] = [];
  let wildcards = 0;
  let source = '^';
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    const last = i === segments.length - 1;
    if (segment === '**') {
      wildcards++;
      captures.push(String(wildcards));
      // `/**` is "this path and everything below it"; the slash belongs to the optional part.
      source += last ? '(?:/(.*))?' : '(?:/(.*?))?';
      continue;
    }
    if (segment.includes('**')) throw new Error(`"**" must be a whole segment; got "${segment}"`);
    if (segment === '' && !last) throw new Error('has an empty segment ("//")');
    source += '/';
    if (segment === '*') {
      wildcards++;
      captures.push(String(wildcards));
      source += '([^/]+)';
      continue;
    }
    let at = 0;
    while (at < segment.length) {
      const ch = segment[at];
      if (ch === '*') {
        wildcards++;
        captures.push(String(wildcards));
        source += '([^/]*)';
        at++;
      } else if (ch === '{') {
        const close = segment.indexOf('}', at);
        if (close === -1) throw new Error(`has an unclosed "{" in "${segment}"`);
        const name = segment.slice(at + 1, close);
        if (!CAPTURE_NAME.test(name)) {
          throw new Error(`capture "{${name}}" must be a name of letters, digits and "_"`);
        }
        if (captures.includes(name)) throw new Error(`captures "{${name}}" twice`);
        captures.push(name);
        source += '([^/]+)';
        at = close + 1;
      } else if (ch === '}') {
        throw new Error(`has an unmatched "}" in "${segment}"`);
      } else {
        let end = at;
        while (end < segment.length && !'*{}'.includes(segment[end] ?? '')) end++;
        source += escapeRegex(segment.slice(at, end));
        at = end;
      }
    }
  }
  // One trailing slash is not significant (non-strict routing); `/` itself stays `/`.
  if (!source.endsWith(')?') && source !== '^/') source = source.replace(/\/$/, '') + '/?';
  source += '$';
  return {
    source: pattern,
    regex: new RegExp(source, 'i'),
    captures,
    literal: captures.length === 0,
  };
}

const UNRESERVED_ESCAPE = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[Dd]|2[Ee]|5[Ff]|7[Ee])/g;

/**
 * Decodes percent-encoded unreserved characters (RFC 3986 §6.2.2.2), which are equivalent to
 * their literal form: `/api/pay%6Dents` is `/api/payments` to the router, so it is to the rules.
 */
export function normalizePathForMatch(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(UNRESERVED_ESCAPE, (escape) =>
    String.fromCharCode(parseInt(escape.slice(1), 16)),
  );
}

/** Decodes a captured segment for a tag; a malformed escape is kept as written. */
export function decodeCapture(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Host patterns: `api.example.com`, `*.example.com` (`*` is one DNS label). A pattern without a
 * port matches any port.
 */
export function compileHostPattern(pattern: string): RegExp {
  const host = pattern.toLowerCase();
  if (!/^[a-z0-9*.-]+(?::\d+)?$/.test(host)) {
    throw new Error('must be a host name, optionally with "*" labels and a ":port"');
  }
  const hasPort = host.includes(':');
  const body = host
    .split('.')
    .map((label) => (label === '*' ? '[^.:]+' : escapeRegex(label).replace(/\\\*/g, '[^.:]*')))
    .join('\\.');
  return new RegExp(`^${body}${hasPort ? '' : '(?::\\d+)?'}$`, 'i');
}

export type TemplatePart = string | { readonly capture: string };

/**
 * Parses a tag template (`user:{id}`, `item:{1}`) into literal and capture parts. Throws when a
 * placeholder names no capture of the pattern.
 */
export function parseTemplate(template: string, captures: readonly string[]): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf('{', at);
    if (open === -1) {
      parts.push(template.slice(at));
      break;
    }
    if (open > at) parts.push(template.slice(at, open));
    const close = template.indexOf('}', open);
    if (close === -1) throw new Error(`has an unclosed "{"`);
    const name = template.slice(open + 1, close);
    if (!captures.includes(name)) {
      const known = captures.length ? captures.map((c) => `{${c}}`).join(', ') : 'none';
      throw new Error(
        `uses "{${name}}", which the rule's pattern does not capture (captures: ${known})`,
      );
    }
    parts.push({ capture: name });
    at = close + 1;
  }
  return parts;
}
