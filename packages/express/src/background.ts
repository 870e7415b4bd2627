import type { BackgroundRunner, OriginCall, OriginOutcome } from '@gatecache/core';
import { injectRequest, type NodeHandler } from '@gatecache/core/node';
import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';

/**
 * Background requests (stale-while-revalidate, refresh-ahead, warming) re-enter the app through
 * an injected request with no socket. This field carries an unguessable id so the cache
 * middleware knows the request is its own and runs the app as the origin for the waiting call.
 */
export const BACKGROUND_FIELD = 'x-gatecache-background';

interface PendingCall {
  readonly call: OriginCall;
  readonly resolve: (outcome: OriginOutcome) => void;
}

const pending = new Map<string, PendingCall>();
const prefix = globalThis.crypto.randomUUID();
let sequence = 0;

/** Fields never copied into a background request. */
const NOT_COPIED = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
]);

/** A runner that replays `req` (as a GET) through its Express app with no client attached. */
export function backgroundFor(req: Request): BackgroundRunner {
  // Cheap to create on every request: the copy of the request is made only when a task runs.
  return { run: (call) => runInBackground(req, call) };
}

function runInBackground(req: Request, call: OriginCall): Promise<OriginOutcome> {
  return runThroughApp(req.app, req.originalUrl, req.headers, call);
}

/**
 * Runs a GET for `url` through an Express app that has the cache middleware mounted, with no
 * client, the app answering the engine's `call` (warming uses this for URLs nobody asked for).
 */
export function runThroughApp(
  app: NodeHandler,
  url: string,
  requestHeaders: IncomingHttpHeaders,
  call: OriginCall,
): Promise<OriginOutcome> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(requestHeaders)) {
    if (value !== undefined && !NOT_COPIED.has(name)) headers[name] = value;
  }
  return new Promise<OriginOutcome>((resolve) => {
    const id = `${prefix}.${++sequence}`;
    pending.set(id, { call, resolve });
    const finish = (): void => {
      const waiting = pending.get(id);
      if (waiting === undefined) return;
      // The app answered without passing through the cache middleware.
      pending.delete(id);
      waiting.resolve({ status: 500, headers: [], body: undefined, complete: false });
    };
    void injectRequest(app, {
      method: 'GET',
      url,
      headers: { ...headers, [BACKGROUND_FIELD]: id },
    }).then(() => finish());
  });
}

/**
 * If `req` is one of this process's background requests, removes the marker field and returns
 * the call waiting for it; a marker nobody is waiting for is removed and ignored.
 */
export function takeBackgroundCall(headers: IncomingHttpHeaders): PendingCall | undefined {
  const id = headers[BACKGROUND_FIELD];
  if (id === undefined) return undefined;
  delete headers[BACKGROUND_FIELD];
  if (typeof id !== 'string') return undefined;
  const waiting = pending.get(id);
  if (waiting !== undefined) pending.delete(id);
  return waiting;
}
