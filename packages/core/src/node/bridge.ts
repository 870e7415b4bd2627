/**
 * The Node request/response bridge shared by the Express and Koa adapters: builds the engine's
 * request from an IncomingMessage, runs the app as the origin while watching what it writes to
 * the ServerResponse, and writes the engine's plans.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { HeadAction, OriginCall, OriginOutcome, SendPlan } from '../origin.ts';
import type { CacheRequest, HeaderList } from '../types.ts';

export interface NodeRequestOptions {
  readonly partition?: string | undefined;
  /** The full request target when the framework rewrites `req.url` (Express `originalUrl`). */
  readonly url?: string | undefined;
}

/** The engine's view of a Node request. */
export function cacheRequestFromNode(
  req: IncomingMessage,
  options: NodeRequestOptions = {},
): CacheRequest {
  return {
    method: req.method ?? 'GET',
    url: options.url ?? req.url ?? '/',
    host: req.headers.host,
    headers: req.headers,
    partition: options.partition,
  };
}

/** Applies the engine's changes to the request the origin will see. */
export function applyOriginRequestHeaders(req: IncomingMessage, call: OriginCall): void {
  const headers = req.headers as Record<string, string | string[] | undefined>;
  for (const name of call.requestHeaders.remove) delete headers[name];
  for (const [name, value] of call.requestHeaders.set) headers[name] = value;
  if (call.url !== undefined) {
    req.url = call.url;
    // Express keeps the client's target in `originalUrl`; the origin must not see it either.
    const withOriginal = req as IncomingMessage & { originalUrl?: string };
    if (typeof withOriginal.originalUrl === 'string') withOriginal.originalUrl = call.url;
  }
}

/**
 * A response as it was before the origin ran: the fields earlier middleware set, and, while the
 * origin's writes are intercepted, the response's own methods (which `writePlan` writes through).
 * They live here, with the adapter, rather than on the response or its intercepting methods:
 * middleware after the cache (compression, sessions) may wrap those in turn.
 */
interface HeaderSnapshot {
  readonly fields: ReadonlyMap<string, string>;
  originals: Originals | undefined;
}

function headerValueText(value: string | number | readonly string[] | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'object' ? value.join('\n') : String(value);
}

/** Header fields already set on the response before the cache ran (by earlier middleware). */
export function snapshotHeaders(res: ServerResponse): HeaderSnapshot {
  const fields = new Map<string, string>();
  for (const name of res.getHeaderNames()) fields.set(name, headerValueText(res.getHeader(name)));
  return { fields, originals: undefined };
}

/**
 * The origin's own header fields: what the response holds now, minus fields earlier middleware
 * set and the origin left unchanged (per-request fields such as CORS must not be stored).
 */
function originHeaders(res: ServerResponse, before: HeaderSnapshot): HeaderList {
  const list: HeaderList = [];
  for (const name of res.getHeaderNames()) {
    const value = res.getHeader(name);
    if (value === undefined) continue;
    if (before.fields.get(name) === headerValueText(value)) continue;
    if (Array.isArray(value)) for (const item of value) list.push([name, String(item)]);
    else list.push([name, String(value)]);
  }
  return list;
}

/** Sets a header list on a response, repeated names as one array so every line is kept. */
export function setHeaderList(res: ServerResponse, headers: HeaderList): void {
  if (!hasRepeatedName(headers)) {
    for (const [name, value] of headers) res.setHeader(name, value);
    return;
  }
  const grouped = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const values = grouped.get(name);
    if (values === undefined) grouped.set(name, [value]);
    else values.push(value);
  }
  for (const [name, values] of grouped)
    res.setHeader(name, values.length === 1 ? values[0]! : values);
}

/** Whether a field name occurs twice (rare: Set-Cookie, Link); checked without allocating. */
export function hasRepeatedName(headers: HeaderList): boolean {
  for (let i = 1; i < headers.length; i++) {
    const name = headers[i]![0];
    for (let j = 0; j < i; j++) if (headers[j]![0] === name) return true;
  }
  return false;
}

/**
 * Gives the response the engine's fields over those earlier middleware set (the snapshot): the
 * origin's other fields go, and a field the response already holds with the value the list gives
 * it is left alone, so that the origin's fields the engine keeps cost no second write.
 */
function replaceHeaders(res: ServerResponse, before: HeaderSnapshot, headers: HeaderList): void {
  for (const name of res.getHeaderNames()) {
    if (!before.fields.has(name) && !listHas(headers, name)) res.removeHeader(name);
  }
  // setHeader replaces a name's every line; repeated names are set as one array.
  if (hasRepeatedName(headers)) setHeaderList(res, headers);
  else
    for (const [name, value] of headers)
      if (res.getHeader(name) !== value) res.setHeader(name, value);
}

function listHas(headers: HeaderList, name: string): boolean {
  for (const field of headers) if (field[0] === name) return true;
  return false;
}

/** Restores the response's header fields to the snapshot taken before the origin ran. */
function resetHeaders(res: ServerResponse, before: HeaderSnapshot): void {
  for (const name of res.getHeaderNames()) if (!before.fields.has(name)) res.removeHeader(name);
}

function toBytes(chunk: unknown, encoding: unknown): Uint8Array | undefined {
  if (chunk === undefined || chunk === null) return undefined;
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk;
  return undefined;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

type WriteHead = ServerResponse['writeHead'];
type Write = ServerResponse['write'];
type End = ServerResponse['end'];

const DETACHED = Symbol('gatecache.detached');
type Originals = { readonly writeHead: WriteHead; readonly end: End };
type PatchedResponse = ServerResponse & { [DETACHED]?: boolean };

/**
 * Makes the origin's further header calls harmless on a response the cache already answered:
 * a late `res.set()` must not throw ERR_HTTP_HEADERS_SENT into the app.
 */
function detach(res: PatchedResponse): void {
  res[DETACHED] = true;
  res.setHeader = function setHeader(this: ServerResponse) {
    return this;
  };
  res.appendHeader = function appendHeader(this: ServerResponse) {
    return this;
  };
  res.removeHeader = function removeHeader() {};
}

const SCRATCH_FIRST = Symbol('gatecache.scratch.first');
const SCRATCH_SECOND = Symbol('gatecache.scratch.second');

/**
 * Makes V8 hold an object's properties in a dictionary (deleting a property other than the last
 * one added does that), for objects with a hidden class of their own: Express gives one to every
 * request and response (it swaps their prototype, then adds fields). On such an object every
 * property access in Node's HTTP code and the router misses V8's inline caches, and every
 * property added (the bridge's three methods) builds a new hidden class and copies the
 * descriptors; in a dictionary both are a hash lookup. Measured with Express: about 14% more
 * hits and 18% more misses per second. Objects that share their hidden class (Koa's, plain
 * Node's) are better left as they are.
 */
export function toDictionaryMode(target: object): void {
  // A frozen or sealed object (never Express's) is left alone: assigning would throw.
  if (!Object.isExtensible(target)) return;
  // Node's requests and responses hold `_events` first. Taking it out and putting it back (last)
  // switches the object at the cost of one copy of its properties; adding two properties to an
  // object of its own hidden class, as below, first built two new hidden classes, each copying
  // all its property descriptors (measured with `perf`: most of this function's time).
  const events = Object.getOwnPropertyDescriptor(target, '_events');
  if (
    events !== undefined &&
    'value' in events &&
    events.writable === true &&
    events.enumerable === true &&
    events.configurable === true
  ) {
    const record = target as Record<string, unknown>;
    const value: unknown = events.value;
    delete record['_events'];
    record['_events'] = value;
    return;
  }
  const scratch = target as Record<symbol, boolean>;
  scratch[SCRATCH_FIRST] = true;
  scratch[SCRATCH_SECOND] = true;
  delete scratch[SCRATCH_FIRST];
  delete scratch[SCRATCH_SECOND];
}

/**
 * Runs the origin (`run` calls the next middleware) while intercepting the ServerResponse: the
 * head is held until the first write so the engine can decide, then the body streams to the
 * client (and into a capped capture) or is withheld. Resolves when the response ended, errored or
 * was aborted; never rejects.
 */
export function runNodeOrigin(
  req: IncomingMessage,
  res: ServerResponse,
  call: OriginCall,
  before: HeaderSnapshot,
  run: () => unknown,
): Promise<OriginOutcome> {
  applyOriginRequestHeaders(req, call);
  // The originals are always called with `.call(res)`/`.apply(res)`.
  /* eslint-disable @typescript-eslint/unbound-method */
  const originalWriteHead: WriteHead = res.writeHead;
  const originalWrite: Write = res.write;
  const originalEnd: End = res.end;
  /* eslint-enable @typescript-eslint/unbound-method */

  return new Promise<OriginOutcome>((resolve) => {
    let action: HeadAction | undefined;
    let status = 200;
    let headers: HeaderList = [];
    const chunks: Uint8Array[] = [];
    let captured = 0;
    let overflow = false;
    let settled = false;

    const restore = (): void => {
      // Answered apart from the origin: its writes stay swallowed for good.
      if ((res as PatchedResponse)[DETACHED] === true) return;
      // Set back rather than deleted: `delete` would turn a response that shares its hidden
      // class (Koa's, plain Node's) into a dictionary, slower for Node's own writes on it.
      res.writeHead = originalWriteHead;
      res.write = originalWrite;
      res.end = originalEnd;
      before.originals = undefined;
    };
    before.originals = { writeHead: originalWriteHead, end: originalEnd };
    const settle = (complete: boolean, error?: unknown): void => {
      if (settled) return;
      settled = true;
      restore();
      const wanted = action !== undefined && action.capture && !overflow;
      resolve({
        status,
        headers,
        body: wanted && complete ? concat(chunks, captured) : undefined,
        complete,
        ...(error === undefined ? {} : { error }),
      });
    };

    const decide = (completeBody: Uint8Array | undefined): HeadAction => {
      if (action !== undefined) return action;
      status = res.statusCode;
      headers = originHeaders(res, before);
      try {
        action = call.head(status, headers, completeBody);
      } catch (error) {
        // The engine failed: let the origin's response through untouched.
        action = { type: 'stream', headers, capture: false, maxBytes: 0 };
        void error;
      }
      if (action.type === 'stream') {
        // Fields earlier middleware set and the engine kept stay; the engine's list wins.
        replaceHeaders(res, before, action.headers);
        // Node writes the head itself on the first write or end (through the patched writeHead,
        // which now passes through), still adding Content-Length for a single end(body).
      }
      return action;
    };

    /** `own`: bytes made here from a string, which nothing else holds. */
    const capture = (bytes: Uint8Array | undefined, own: boolean): void => {
      if (bytes === undefined || action === undefined || !action.capture || overflow) return;
      if (captured + bytes.byteLength > action.maxBytes) {
        overflow = true;
        chunks.length = 0;
        return;
      }
      // Copy the app's bytes: it may reuse its buffer after write() returns.
      chunks.push(own ? bytes : Uint8Array.prototype.slice.call(bytes));
      captured += bytes.byteLength;
    };

    res.writeHead = function writeHead(this: ServerResponse, code: number, ...rest: unknown[]) {
      if (action !== undefined)
        return originalWriteHead.apply(this, [code, ...rest] as Parameters<WriteHead>);
      // Hold the head until the first write, so the engine sees the whole head before it is sent.
      this.statusCode = code;
      let fields = rest[0];
      if (typeof fields === 'string') {
        this.statusMessage = fields;
        fields = rest[1];
      }
      if (Array.isArray(fields)) {
        const flat: unknown[] = Array.isArray(fields[0]) ? (fields as unknown[][]).flat() : fields;
        for (let i = 0; i + 1 < flat.length; i += 2)
          this.appendHeader(String(flat[i]), String(flat[i + 1]));
      } else if (fields !== null && typeof fields === 'object') {
        for (const [name, value] of Object.entries(
          fields as Record<string, string | string[] | number>,
        )) {
          this.setHeader(name, value);
        }
      }
      return this;
    };

    let wrote = false;
    res.write = function write(
      this: ServerResponse,
      chunk: unknown,
      encoding?: unknown,
      cb?: unknown,
    ) {
      wrote = true;
      const act = decide(undefined);
      const bytes = toBytes(chunk, encoding);
      capture(bytes, typeof chunk === 'string');
      if (act.type === 'stream') {
        // Bytes, not the string: Node sends a string body in one write with the head, encoding
        // both as UTF-8, which would turn a latin1 header value into other bytes than a hit's.
        if (typeof chunk === 'string' && bytes !== undefined) {
          const callback = typeof encoding === 'function' ? encoding : cb;
          return originalWrite.apply(this, [bytes, callback] as unknown as Parameters<Write>);
        }
        return originalWrite.apply(this, [chunk, encoding, cb] as unknown as Parameters<Write>);
      }
      const callback = typeof encoding === 'function' ? encoding : cb;
      if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
      return true;
    } as Write;

    res.end = function end(
      this: ServerResponse,
      chunk?: unknown,
      encoding?: unknown,
      cb?: unknown,
    ) {
      if (typeof chunk === 'function') {
        cb = chunk;
        chunk = undefined;
        encoding = undefined;
      } else if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      const bytes = toBytes(chunk, encoding);
      const act = decide(wrote ? undefined : (bytes ?? new Uint8Array(0)));
      capture(bytes, typeof chunk === 'string');
      if (act.type === 'stream') {
        // As in write(): bytes keep the head's latin1 encoding (Koa ends with a string body).
        const args = (typeof chunk === 'string' ? [bytes, cb] : [chunk, encoding, cb]).filter(
          (a) => a !== undefined,
        );
        originalEnd.apply(this, args as Parameters<End>);
      } else if (typeof cb === 'function') {
        queueMicrotask(() => (cb as () => void)());
      }
      settle(true);
      return this;
    } as End;

    // Left in place after settling (it then does nothing): removing it would cost more than it.
    res.on('close', () => {
      // Closed before end(): the client went away or the stream failed mid-body.
      if (!settled) settle(false, res.errored ?? undefined);
    });

    try {
      const result = run();
      if (result instanceof Promise) {
        result.then(
          () => undefined,
          (error: unknown) => {
            if (!settled && action === undefined) settle(false, error);
          },
        );
      }
    } catch (error) {
      if (!settled) settle(false, error);
    }
  });
}

/** Writes a plan from the engine, keeping fields earlier middleware set unless the plan has them. */
export function writePlan(res: ServerResponse, plan: SendPlan, before?: HeaderSnapshot): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (before !== undefined) resetHeaders(res, before);
  // setHeader with arrays keeps duplicate lines; writeHead(status, array) would not merge them
  // with fields earlier middleware set.
  setHeaderList(res, plan.headers);
  // While the origin still runs (the engine answered from a stale entry because it was slow),
  // write past the interception, which now swallows the origin's writes.
  const own = before?.originals;
  // The reason phrase of this status: a framework may have set one for the status it had before
  // (Koa's 'OK'), which writeHead would keep (a 304 sent as "304 OK").
  const reason = STATUS_CODES[plan.status] ?? 'unknown';
  if (own === undefined) {
    res.writeHead(plan.status, reason);
    if (plan.body === undefined) res.end();
    else res.end(plan.body);
    return;
  }
  (own.writeHead as (status: number, reason: string) => ServerResponse).call(
    res,
    plan.status,
    reason,
  );
  if (plan.body === undefined) own.end.call(res, undefined, 'utf8', undefined);
  else own.end.call(res, plan.body, 'utf8', undefined);
  detach(res);
}
