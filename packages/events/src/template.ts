/**
 * Templates over event fields (`user:${user_id}`, `order:${order.id}`), parsed once. An expanded
 * value must be a string, number or boolean; a missing field is an error, never an empty string
 * (`user:` would purge the wrong thing).
 */
export type TemplatePart = string | { readonly path: readonly string[] };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('${', at);
    if (open === -1) {
      parts.push(source.slice(at));
      break;
    }
    if (open > at) parts.push(source.slice(at, open));
    const close = source.indexOf('}', open);
    if (close === -1) throw new Error(`has an unclosed "\${" at ${open + 1}`);
    const field = source.slice(open + 2, close).trim();
    if (!FIELD.test(field)) throw new Error(`names "${field}", which is not a field path`);
    const path = field.split('.');
    if (path.some((s) => s === '__proto__' || s === 'prototype' || s === 'constructor')) {
      throw new Error(`may not name "${field}"`);
    }
    parts.push({ path });
    at = close + 1;
  }
  return { source, parts };
}

/** Expands a template; `escape` is applied to each field value (glob escaping for patterns). */
export function expandTemplate(
  template: Template,
  lookup: (path: readonly string[]) => unknown,
  escape: (value: string) => string = (value) => value,
): string {
  let out = '';
  for (const part of template.parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const value = lookup(part.path);
    if (
      typeof value === 'string'
        ? value === ''
        : typeof value !== 'number' && typeof value !== 'boolean'
    ) {
      throw new Error(`the event has no usable "${part.path.join('.')}" for "${template.source}"`);
    }
    out += escape(String(value));
  }
  return out;
}
