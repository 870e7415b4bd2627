/**
 * The contract between the engine and an adapter. The adapter owns the framework's request and
 * response; the engine owns every caching decision. An adapter:
 *
 * 1. builds a `CacheRequest` and calls `engine.handle(request, origin)`;
 * 2. when the engine calls `origin(call)`, applies `call.requestHeaders` to the request, runs the
 *    app (or upstream), and at the first byte of the response (before anything reaches the client)
 *    calls `call.head(...)` and obeys the returned `HeadAction`;
 * 3. when `handle` resolves, writes the `SendPlan` if it is `send`, or nothing if `done`.
 */
import type { HeaderList } from './types.ts';

/** Changes the engine asks for on the request that goes to the origin. */
export interface OriginRequestHeaders {
  /** Lower-cased names to remove (client validators on a cache fill, for example). */
  readonly remove: readonly string[];
  /** Lower-cased fields to set, replacing any existing value (validators on revalidation). */
  readonly set: ReadonlyArray<readonly [name: string, value: string]>;
}

export interface OriginCall {
  readonly requestHeaders: OriginRequestHeaders;
  /**
   * The request target the origin must see, when it differs from the client's: query parameters
   * the key ignores are removed (poisoning defence). Absent: unchanged.
   */
  readonly url?: string;
  /**
   * Called once, when the origin starts its response and before anything is sent to the client.
   * `completeBody` is the whole body when the adapter already has all of it (a single `end(body)`,
   * `ctx.body = buffer`, a `Response` with a buffered body), letting the engine add an ETag and
   * answer 304 without buffering a stream.
   */
  head(status: number, headers: HeaderList, completeBody: Uint8Array | undefined): HeadAction;
}

/** What the adapter does with the origin's response. */
export type HeadAction =
  | {
      /** Send the origin's response to the client as it streams, with these final header fields. */
      readonly type: 'stream';
      readonly headers: HeaderList;
      /** Keep a copy of the body for the cache, up to `maxBytes`; stop copying beyond that. */
      readonly capture: boolean;
      readonly maxBytes: number;
    }
  | {
      /**
       * Send nothing of the origin's response: the engine sends something else when `handle`
       * resolves (a 304, a stored entry). Keep a copy of the body when `capture` is set.
       */
      readonly type: 'withhold';
      readonly capture: boolean;
      readonly maxBytes: number;
    };

/** How the origin's response ended, reported by the adapter when the origin is done. */
export interface OriginOutcome {
  readonly status: number;
  /** The origin's header fields (before the engine's changes). Empty when there was no response. */
  readonly headers: HeaderList;
  /** The captured body when `capture` was asked and the body fit in `maxBytes`; otherwise undefined. */
  readonly body: Uint8Array | undefined;
  /** True when the response ended normally (not aborted, not errored, not truncated). */
  readonly complete: boolean;
  /** Set when the origin threw or the response stream failed. */
  readonly error?: unknown;
}

/** Runs the origin once. Must resolve (not reject) once the response has ended one way or another. */
export type Origin = (call: OriginCall) => Promise<OriginOutcome>;

/** A response the adapter writes as it is. `body` is omitted for HEAD and for 304. */
export interface SendPlan {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: Uint8Array | undefined;
}

export type HandleResult =
  /** The adapter writes this response. */
  | { readonly type: 'send'; readonly response: SendPlan }
  /** The origin's response already went to the client (streamed); nothing more to write. */
  | { readonly type: 'done' }
  /** The origin failed with nothing to send in its place: hand the error to the framework. */
  | { readonly type: 'rethrow'; readonly error: unknown };
