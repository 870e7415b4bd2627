import {
  BACKGROUND_FIELD,
  NOT_COPIED_TO_BACKGROUND,
  registerBackgroundCall,
  takeBackgroundCall as takeWaitingCall,
  type BackgroundRunner,
  type OriginCall,
  type OriginOutcome,
  type PendingBackgroundCall,
} from '@gatecache/core';
import type { Context } from 'hono';

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
  return new AppBackground(fetchApp, url, headers, c);
}

/**
 * The engine asks for a runner on every request but uses it only for background work (a stale
 * entry served while it is refreshed), so the execution context is looked up only then: on Node
 * there is none, and Hono reports that by throwing, an Error built per request for nothing.
 */
class AppBackground implements BackgroundRunner {
  readonly #fetchApp: AppFetch;
  readonly #url: string;
  readonly #headers: Headers;
  readonly #c: Context;

  constructor(fetchApp: AppFetch, url: string, headers: Headers, c: Context) {
    this.#fetchApp = fetchApp;
    this.#url = url;
    this.#headers = headers;
    this.#c = c;
  }

  run(call: OriginCall): Promise<OriginOutcome> {
    const c = this.#c;
    const env: unknown = c.env;
    return runThroughApp(
      this.#fetchApp,
      this.#url,
      this.#headers,
      env,
      executionContextOf(c),
      call,
    );
  }

  /** Keeps the runtime alive for `task` where it has an execution context (Workers). */
  waitUntil(task: Promise<unknown>): void {
    executionContextOf(this.#c)?.waitUntil(task);
  }
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
  for (const name of NOT_COPIED_TO_BACKGROUND) headers.delete(name);
  return new Promise<OriginOutcome>((resolve) => {
    const { id, finish } = registerBackgroundCall(call, resolve);
    headers.set(BACKGROUND_FIELD, id);
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
export function takeBackgroundCall(c: Context): PendingBackgroundCall | undefined {
  const id = c.req.raw.headers.get(BACKGROUND_FIELD);
  if (id === null) return undefined;
  const headers = new Headers(c.req.raw.headers);
  headers.delete(BACKGROUND_FIELD);
  c.req.raw = new Request(c.req.raw, { headers });
  return takeWaitingCall(id);
}
