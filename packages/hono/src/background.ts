import type { BackgroundRunner, OriginCall, OriginOutcome } from '@gatecache/core';
import type { Context } from 'hono';

/**
 * Background requests (stale-while-revalidate, refresh-ahead) re-enter the app through its
 * `fetch` with no client. This field carries an unguessable id so the cache middleware knows the
 * request is its own and runs the app as the origin for the waiting call.
 */
const BACKGROUND_FIELD = 'x-gatecache-background';

/** The app's fetch handler (`app.fetch`), as Hono and every Web-standard runtime call it. */
export type AppFetch = (
  request: Request,
  env?: unknown,
  executionCtx?: ExecutionContextLike,
) => Response | Promise<Response>;

/** The part of Workers' `ExecutionContext` the cache uses. */
export interface ExecutionContextLike {
  waitUntil(task: Promise<unknown>): void;
  passThroughOnException(): void;
}

interface PendingCall {
  readonly call: OriginCall;
  readonly resolve: (outcome: OriginOutcome) => void;
}

const pending = new Map<string, PendingCall>();
const prefix = globalThis.crypto.randomUUID();
let sequence = 0;

/** Fields never copied into a background request. */
const NOT_COPIED = ['content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade'];

/** The execution context where the runtime has one (Workers); Node and `app.request()` have none. */
export function executionContextOf(c: Context): ExecutionContextLike | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}

/** A runner that replays the request (as a GET) through the app, when its `fetch` is known. */
export function backgroundFor(
  c: Context,
  fetchApp: AppFetch | undefined,
): BackgroundRunner | undefined {
  if (fetchApp === undefined) return undefined;
  const { url, headers } = c.req.raw;
  const env: unknown = c.env;
  const executionCtx = executionContextOf(c);
  return {
    run: (call) => runThroughApp(fetchApp, url, headers, env, executionCtx, call),
    waitUntil: executionCtx === undefined ? undefined : (task) => executionCtx.waitUntil(task),
  };
}

function runThroughApp(
  fetchApp: AppFetch,
  url: string,
  source: Headers,
  env: unknown,
  executionCtx: ExecutionContextLike | undefined,
  call: OriginCall,
): Promise<OriginOutcome> {
  const headers = new Headers(source);
  for (const name of NOT_COPIED) headers.delete(name);
  return new Promise<OriginOutcome>((resolve) => {
    const id = `${prefix}.${++sequence}`;
    pending.set(id, { call, resolve });
    headers.set(BACKGROUND_FIELD, id);
    const finish = (): void => {
      const waiting = pending.get(id);
      if (waiting === undefined) return;
      // The app answered without passing through the cache middleware.
      pending.delete(id);
      waiting.resolve({ status: 500, headers: [], body: undefined, complete: false });
    };
    const run = async (): Promise<void> => {
      const response = await fetchApp(new Request(url, { headers }), env, executionCtx);
      // Nobody else reads this body, and the capture follows the reading.
      await response.body?.pipeTo(new WritableStream());
    };
    run().then(finish, finish);
  });
}

/**
 * If the request is one of this process's background requests, removes the marker field and
 * returns the call waiting for it; a marker nobody is waiting for is removed and ignored.
 */
export function takeBackgroundCall(c: Context): PendingCall | undefined {
  const id = c.req.raw.headers.get(BACKGROUND_FIELD);
  if (id === null) return undefined;
  const headers = new Headers(c.req.raw.headers);
  headers.delete(BACKGROUND_FIELD);
  c.req.raw = new Request(c.req.raw, { headers });
  const waiting = pending.get(id);
  if (waiting !== undefined) pending.delete(id);
  return waiting;
}
