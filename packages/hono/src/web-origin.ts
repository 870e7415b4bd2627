/**
 * The Web-standard half of the Hono adapter: reads the app's `Response` as the engine's origin
 * response and builds responses from header lists. Only Fetch API objects and timers: the same
 * code runs on Node, Bun, Deno and Workers.
 */
import type { HeadAction, HeaderList, OriginCall, OriginOutcome } from '@gatecache/core';

/** Header fields of a response, with every `Set-Cookie` line kept apart. */
export type HeaderSnapshot = ReadonlyMap<string, readonly string[]>;

export function snapshotWebHeaders(headers: Headers): HeaderSnapshot {
  const snapshot = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const values = snapshot.get(name);
    if (values === undefined) snapshot.set(name, [value]);
    else values.push(value);
  }
  return snapshot;
}

/** The origin's own fields: the response's, minus those earlier middleware set and it left unchanged. */
export function originHeaders(headers: Headers, before: HeaderSnapshot): HeaderList {
  const list: HeaderList = [];
  for (const [name, values] of snapshotWebHeaders(headers)) {
    if (before.get(name)?.join('\n') === values.join('\n')) continue;
    for (const value of values) list.push([name, value]);
  }
  return list;
}

/** A field name as a `Headers` holds it (a token, lower case), and a value it keeps as it is. */
const PLAIN_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const PLAIN_VALUE = /^(?:[^\0\r\n\t ](?:[^\0\r\n]*[^\0\r\n\t ])?)?$/;

/** A lower-case name `Headers` accepts as it is. */
export function isPlainFieldName(lowerCaseName: string): boolean {
  return PLAIN_NAME.test(lowerCaseName);
}

/** A value `Headers` accepts and keeps as it is (nothing refused, no outer whitespace to strip). */
export function isPlainFieldValue(value: string): boolean {
  return PLAIN_VALUE.test(value);
}

/**
 * The origin's own fields from a plain record of lower-case names (what @hono/node-server holds
 * for `c.body(data, status, { ... })`), in the order and form iterating `new Headers(record)`
 * gives, without building one. Undefined when a name or value is one `Headers` would change or
 * refuse: the caller then reads `response.headers`.
 */
export function originHeadersFromRecord(
  record: Readonly<Record<string, unknown>>,
  before: HeaderSnapshot,
): HeaderList | undefined {
  const names = Object.keys(record);
  for (const name of names) {
    const value = record[name];
    if (typeof value !== 'string' || !isPlainFieldName(name) || !isPlainFieldValue(value)) {
      return undefined;
    }
  }
  names.sort();
  const list: HeaderList = [];
  for (const name of names) {
    const value = record[name] as string;
    const earlier = before.get(name);
    if (earlier !== undefined && earlier.length === 1 && earlier[0] === value) continue;
    list.push([name, value]);
  }
  return list;
}

/** A plain object (not a `Headers`, a Map or a class instance). */
function isPlainRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Fields earlier middleware set and the list does not name, then the list; `append` keeps
 * repeated fields (a Web `Headers` holds duplicates only that way).
 */
export function headersFromList(list: HeaderList, before: HeaderSnapshot): Headers {
  const named = new Set(list.map(([name]) => name));
  const headers = new Headers();
  for (const [name, values] of before) {
    if (named.has(name)) continue;
    for (const value of values) headers.append(name, value);
  }
  for (const [name, value] of list) headers.append(name, value);
  return headers;
}

/**
 * The same fields as `headersFromList(list, before)`, as a plain record, or undefined when a
 * record cannot say the same thing: a repeated name (two Set-Cookie lines are two fields, never
 * one joined value) or a name an object already has (`__proto__`). @hono/node-server writes a
 * response whose headers are a plain record straight into the head, with no `Headers` object
 * built on the way; every runtime's `Response` takes the record as it takes a `Headers`.
 * `withBody`: the response has a body; without a Content-Type @hono/node-server adds a default
 * one only on the `Headers` path, so that case stays there.
 */
export function plainHeaders(
  list: HeaderList,
  before: HeaderSnapshot,
  withBody: boolean,
): Record<string, string> | undefined {
  const record: Record<string, string> = {};
  for (const [name, value] of list) {
    if (name in record) return undefined;
    record[name] = value;
  }
  for (const [name, values] of before) {
    if (name in record) {
      // Names in `before` are distinct, so an own field here is the list's: the stored one wins.
      if (Object.hasOwn(record, name)) continue;
      return undefined;
    }
    if (values.length !== 1) return undefined;
    record[name] = values[0]!;
  }
  if (withBody && record['content-type'] === undefined) return undefined;
  return record;
}

/**
 * The fields a response built from `list` sends: a plain record where one says the same (see
 * `plainHeaders`), so @hono/node-server writes the head directly; else a `Headers`.
 */
export function responseHeaders(
  list: HeaderList,
  before: HeaderSnapshot,
  withBody: boolean,
): Record<string, string> | Headers {
  return plainHeaders(list, before, withBody) ?? headersFromList(list, before);
}

/** Statuses whose responses never have a body (Fetch: a null body status). */
export function isNullBodyStatus(status: number): boolean {
  return status === 101 || status === 103 || status === 204 || status === 205 || status === 304;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let total = 0;
  for (const chunk of chunks) total += chunk.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

const encoder = new TextEncoder();
/** Node's and Bun's Buffer where there is one: it encodes a string several times faster. */
const NodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: 'utf8'): Uint8Array } })
  .Buffer;

/** A string's UTF-8 bytes, held by nothing else. */
function utf8(text: string): Uint8Array {
  return NodeBuffer === undefined ? encoder.encode(text) : NodeBuffer.from(text, 'utf8');
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return utf8(chunk);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError('[gatecache] a response body chunk must be bytes or a string');
}

/**
 * What @hono/node-server's `Response` holds unread: a body given as a string, bytes or nothing,
 * with status and headers, in a `[status, body, headers]` tuple under a symbol of its own
 * ("cache"), which the server writes straight to the socket. Undefined for any other response
 * (another runtime, or one whose Fetch form was already built).
 */
export function heldByNodeServer(response: Response): readonly unknown[] | undefined {
  // The symbol found last time first: listing a response's symbols costs more than the rest.
  if (heldSymbol !== undefined && Object.hasOwn(response, heldSymbol)) {
    return heldTuple(response, heldSymbol);
  }
  for (const symbol of Object.getOwnPropertySymbols(response)) {
    if (symbol.description !== 'cache') continue;
    const tuple = heldTuple(response, symbol);
    if (tuple !== undefined) heldSymbol = symbol;
    return tuple;
  }
  return undefined;
}

let heldSymbol: symbol | undefined;

function heldTuple(response: Response, symbol: symbol): readonly unknown[] | undefined {
  const held: unknown = (response as unknown as Record<symbol, unknown>)[symbol];
  if (!Array.isArray(held)) return undefined;
  const tuple = held as readonly unknown[];
  return tuple.length === 3 && tuple[0] === response.status ? tuple : undefined;
}

/**
 * The body of a response @hono/node-server holds unread (see `heldByNodeServer`), as bytes:
 * reading `.body` instead would build a Fetch `Response` and a stream around them for nothing.
 * Undefined when it is not one, or its body is of another kind; it is then read the standard way.
 */
function unreadBody(held: readonly unknown[] | undefined): Uint8Array | null | undefined {
  const body = held?.[1];
  if (body === null) return null;
  if (typeof body === 'string') return utf8(body);
  if (body instanceof Uint8Array) return body;
  return undefined;
}

const TICK = Symbol('tick');

/**
 * A body already in memory (`c.text()`, `c.json()`, a `Response` of bytes) is readable to its
 * end without waiting; a stream that is still producing is not. Reading what is ready, up to a
 * limit, tells the two apart, so the engine can tag and answer a conditional request from a
 * complete body, at the cost of one timer turn before a stream's first byte leaves.
 */
const DRAIN_LIMIT = 1024 * 1024;

type Read = ReadableStreamReadResult<unknown>;

interface Drained {
  readonly chunks: Uint8Array[];
  /** True when the body ended while draining. */
  readonly done: boolean;
  /** A read still waiting for the producer, to be consumed before reading on. */
  readonly pending: Promise<Read> | undefined;
}

async function drain(reader: ReadableStreamDefaultReader<unknown>): Promise<Drained> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const read = reader.read();
    // The first chunk is awaited like a first write: the head waits for it, as on Node.
    const result =
      chunks.length === 0
        ? await read
        : await Promise.race([read, new Promise<typeof TICK>((r) => setTimeout(r, 0, TICK))]);
    if (result === TICK) return { chunks, done: false, pending: read };
    if (result.done) return { chunks, done: true, pending: undefined };
    const bytes = toBytes(result.value);
    chunks.push(bytes);
    total += bytes.byteLength;
    if (total > DRAIN_LIMIT) return { chunks, done: false, pending: undefined };
  }
}

/** What the adapter does next with the origin's response, after the engine saw its head. */
export type WebOriginResult =
  /** Send `response` (the origin's, with the engine's fields); the outcome follows the body. */
  | {
      readonly type: 'stream';
      readonly response: Response;
      readonly outcome: Promise<OriginOutcome>;
    }
  /** The engine answers in place of the origin's response; the outcome is known. */
  | {
      readonly type: 'settled';
      readonly response: Response | undefined;
      readonly outcome: OriginOutcome;
    };

/** Reads a withheld body to its end when the engine keeps it, else stops the producer. */
async function withheld(
  source: ReadableStreamDefaultReader<unknown>,
  drained: Drained,
  action: Extract<HeadAction, { type: 'withhold' }>,
  status: number,
  headers: HeaderList,
): Promise<OriginOutcome> {
  if (!action.capture) {
    await source.cancel().catch(() => undefined);
    return { status, headers, body: undefined, complete: false };
  }
  const chunks = drained.chunks.slice();
  let total = 0;
  for (const chunk of chunks) total += chunk.byteLength;
  try {
    let read = drained.pending ?? source.read();
    for (;;) {
      const result = await read;
      if (result.done) break;
      const bytes = toBytes(result.value);
      total += bytes.byteLength;
      if (total > action.maxBytes) {
        await source.cancel().catch(() => undefined);
        return { status, headers, body: undefined, complete: false };
      }
      chunks.push(bytes);
      read = source.read();
    }
  } catch (error) {
    return { status, headers, body: undefined, complete: false, error };
  }
  return { status, headers, body: concat(chunks), complete: true };
}

function failed(error: unknown): OriginOutcome {
  return { status: 500, headers: [], body: undefined, complete: false, error };
}

/**
 * Hands the head of `response` to the engine and, for a stream, wraps its body so that what
 * reaches the client is also captured (up to `maxBytes`) and the outcome resolves when the body
 * ends (complete), fails or is cancelled by the client (incomplete).
 */
export async function readOriginResponse(
  response: Response,
  call: OriginCall,
  before: HeaderSnapshot,
): Promise<WebOriginResult> {
  const status = response.status;
  const held = heldByNodeServer(response);
  const unread = unreadBody(held);
  const fields = held?.[2];
  const headers =
    (unread !== undefined && isPlainRecord(fields)
      ? originHeadersFromRecord(fields, before)
      : undefined) ?? originHeaders(response.headers, before);
  const reader = unread === undefined ? response.body?.getReader() : undefined;
  let drained: Drained = {
    chunks: unread === undefined || unread === null ? [] : [unread],
    done: true,
    pending: undefined,
  };
  if (reader !== undefined) {
    try {
      drained = await drain(reader);
    } catch (error) {
      // The body failed before its first byte: nothing was sent, so the engine decides.
      return { type: 'settled', response: undefined, outcome: failed(error) };
    }
  }
  const completeBody = drained.done ? concat(drained.chunks) : undefined;
  let action: HeadAction;
  try {
    action = call.head(status, headers, completeBody);
  } catch {
    // The engine failed: let the origin's response through untouched.
    action = { type: 'stream', headers, capture: false, maxBytes: 0 };
  }
  // @hono/node-server sends no reason phrase for a response it holds unread (see unreadBody), and
  // asking for one would build the Fetch response the fast path avoids.
  const statusText = unread === undefined ? response.statusText : undefined;

  if (completeBody !== undefined) {
    const kept = action.capture && completeBody.byteLength <= action.maxBytes;
    const outcome: OriginOutcome = {
      status,
      headers,
      body: kept ? completeBody : undefined,
      complete: true,
    };
    if (action.type === 'withhold') return { type: 'settled', response: undefined, outcome };
    const body = isNullBodyStatus(status) ? null : (completeBody as Uint8Array<ArrayBuffer>);
    // Spelled out, not spread from another object: a spread costs microseconds per response.
    const headersOut = responseHeaders(action.headers, before, body !== null);
    const sent = new Response(
      body,
      statusText === undefined
        ? { status, headers: headersOut }
        : { status, statusText, headers: headersOut },
    );
    return { type: 'settled', response: sent, outcome };
  }

  const source = reader!;
  if (action.type === 'withhold') {
    return {
      type: 'settled',
      response: undefined,
      outcome: await withheld(source, drained, action, status, headers),
    };
  }
  const finalHeaders = headersFromList(action.headers, before);
  const queued = drained.chunks.slice();
  let pending = drained.pending;
  const capture = action.capture;
  const maxBytes = action.maxBytes;
  const captured: Uint8Array[] = [];
  let capturedBytes = 0;
  let overflow = false;
  let finish!: (outcome: OriginOutcome) => void;
  const outcome = new Promise<OriginOutcome>((resolve) => (finish = resolve));
  let finished = false;
  const end = (complete: boolean, error?: unknown): void => {
    if (finished) return;
    finished = true;
    finish({
      status,
      headers,
      body: capture && !overflow && complete ? concat(captured) : undefined,
      complete,
      ...(error === undefined ? {} : { error }),
    });
  };
  const keep = (bytes: Uint8Array): void => {
    if (!capture || overflow) return;
    if (capturedBytes + bytes.byteLength > maxBytes) {
      overflow = true;
      captured.length = 0;
      return;
    }
    captured.push(bytes);
    capturedBytes += bytes.byteLength;
  };
  for (const chunk of queued) keep(chunk);

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = queued.shift();
      if (chunk !== undefined) {
        controller.enqueue(chunk);
        return;
      }
      try {
        const read = pending ?? source.read();
        pending = undefined;
        const result = await read;
        if (result.done) {
          controller.close();
          end(true);
          return;
        }
        const bytes = toBytes(result.value);
        keep(bytes);
        controller.enqueue(bytes);
      } catch (error) {
        controller.error(error);
        end(false, error);
      }
    },
    cancel(reason) {
      // The client went away: what was captured is not the whole body.
      end(false);
      return source.cancel(reason);
    },
  });
  const sent = new Response(
    isNullBodyStatus(status) ? null : body,
    statusText === undefined
      ? { status, headers: finalHeaders }
      : { status, statusText, headers: finalHeaders },
  );
  if (!capture) {
    // Nothing is kept, so the engine needs only the head; waiting for the body would tie the
    // key's flight to the client's pace (and Hono never reads the body of a HEAD response).
    end(true);
  }
  return { type: 'stream', response: sent, outcome };
}
