/**
 * The condition language of invalidation rules (`config.cache_version != current_version`): field
 * paths, literals, comparisons, `&&`/`||`/`!` and parentheses. Parsed once when rules compile,
 * evaluated by walking the tree: nothing is ever handed to `eval` or `Function`.
 */

type Node =
  | { readonly kind: 'literal'; readonly value: string | number | boolean | null }
  | { readonly kind: 'path'; readonly path: readonly string[] }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'and' | 'or'; readonly left: Node; readonly right: Node }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: Node; readonly right: Node };

type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** Looks a dotted path up: the event's fields first, then the dispatcher's variables. */
export type Resolve = (path: readonly string[]) => unknown;

export interface Condition {
  readonly source: string;
  evaluate(resolve: Resolve): boolean;
}

type Token =
  | { readonly t: 'num'; readonly v: number; readonly at: number }
  | { readonly t: 'str'; readonly v: string; readonly at: number }
  | { readonly t: 'id'; readonly v: string; readonly at: number }
  | { readonly t: 'op'; readonly v: string; readonly at: number };

const MAX_LENGTH = 500;
const MAX_DEPTH = 32;
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      tokens.push({ t: 'op', v: two, at: i });
      i += 2;
      continue;
    }
    if ('<>!().'.includes(ch)) {
      tokens.push({ t: 'op', v: ch, at: i });
      i++;
      continue;
    }
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      let text = '';
      while (j < source.length && source[j] !== ch) {
        if (source[j] === '\\' && j + 1 < source.length) j++;
        text += source[j];
        j++;
      }
      if (j >= source.length) throw new Error(`unclosed string at ${i + 1}`);
      tokens.push({ t: 'str', v: text, at: i });
      i = j + 1;
      continue;
    }
    const number = /^-?\d+(\.\d+)?/.exec(source.slice(i));
    if (number !== null && (ch !== '-' || /\d/.test(source[i + 1] ?? ''))) {
      tokens.push({ t: 'num', v: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
    if (ident !== null) {
      tokens.push({ t: 'id', v: ident[0], at: i });
      i += ident[0].length;
      continue;
    }
    throw new Error(`unexpected "${ch}" at ${i + 1}`);
  }
  return tokens;
}

/** Parses a condition; throws an Error saying where it is wrong. */
export function parseCondition(source: string): Condition {
  if (typeof source !== 'string' || source.trim() === '') throw new Error('is empty');
  if (source.length > MAX_LENGTH) throw new Error(`is longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(source);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (v: string): boolean => {
    const token = peek();
    return (
      token !== undefined &&
      ((token.t === 'op' && token.v === v) || (token.t === 'id' && token.v === v))
    );
  };
  const fail = (what: string): never => {
    const token = peek();
    throw new Error(
      token === undefined ? `ends early: expected ${what}` : `expected ${what} at ${token.at + 1}`,
    );
  };

  const parseOr = (depth: number): Node => {
    let left = parseAnd(depth);
    while (isOp('||') || isOp('or')) {
      pos++;
      left = { kind: 'or', left, right: parseAnd(depth) };
    }
    return left;
  };
  const parseAnd = (depth: number): Node => {
    let left = parseNot(depth);
    while (isOp('&&') || isOp('and')) {
      pos++;
      left = { kind: 'and', left, right: parseNot(depth) };
    }
    return left;
  };
  const parseNot = (depth: number): Node => {
    if (depth > MAX_DEPTH) throw new Error('nests too deeply');
    if (isOp('!') || isOp('not')) {
      pos++;
      return { kind: 'not', operand: parseNot(depth + 1) };
    }
    return parseCompare(depth);
  };
  const parseCompare = (depth: number): Node => {
    const left = parsePrimary(depth);
    const token = peek();
    if (token?.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(token.v)) {
      pos++;
      return { kind: 'compare', op: token.v as CompareOp, left, right: parsePrimary(depth) };
    }
    return left;
  };
  const parsePrimary = (depth: number): Node => {
    const token = peek();
    if (token === undefined) return fail('a value');
    if (token.t === 'op' && token.v === '(') {
      pos++;
      const inner = parseOr(depth + 1);
      if (!isOp(')')) fail('")"');
      pos++;
      return inner;
    }
    if (token.t === 'num' || token.t === 'str') {
      pos++;
      return { kind: 'literal', value: token.v };
    }
    if (token.t === 'id') {
      pos++;
      if (token.v === 'true' || token.v === 'false')
        return { kind: 'literal', value: token.v === 'true' };
      if (token.v === 'null') return { kind: 'literal', value: null };
      const path = [token.v];
      while (isOp('.')) {
        pos++;
        const next = peek();
        if (next?.t !== 'id') fail('a field name after "."');
        path.push((next as Token).v as string);
        pos++;
      }
      for (const segment of path) {
        if (FORBIDDEN_SEGMENTS.has(segment)) throw new Error(`may not name "${segment}"`);
      }
      return { kind: 'path', path };
    }
    return fail('a value');
  };

  const tree = parseOr(0);
  if (pos !== tokens.length) fail('the end');
  return { source, evaluate: (resolve) => truthy(evaluate(tree, resolve)) };
}

function evaluate(node: Node, resolve: Resolve): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path':
      return resolve(node.path);
    case 'not':
      return !truthy(evaluate(node.operand, resolve));
    case 'and':
      return truthy(evaluate(node.left, resolve)) && truthy(evaluate(node.right, resolve));
    case 'or':
      return truthy(evaluate(node.left, resolve)) || truthy(evaluate(node.right, resolve));
    case 'compare':
      return compare(node.op, evaluate(node.left, resolve), evaluate(node.right, resolve));
    default:
      return node satisfies never;
  }
}

function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== 0 && value !== '';
}

/** Numbers and numeric strings compare as numbers (`"3" == 3`); other values by type and value. */
function compare(op: CompareOp, a: unknown, b: unknown): boolean {
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) return order(op, na, nb);
  if (op === '==' || op === '!=') {
    const equal = (a ?? null) === (b ?? null);
    return op === '==' ? equal : !equal;
  }
  if (typeof a === 'string' && typeof b === 'string') return order(op, a, b);
  return false;
}

function order<T extends number | string>(op: CompareOp, a: T, b: T): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return op satisfies never;
  }
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}
