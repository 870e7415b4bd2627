import type { IncomingHttpHeaders } from 'node:http';
import {
  BACKGROUND_FIELD,
  NOT_COPIED_TO_BACKGROUND,
  registerBackgroundCall,
  takeBackgroundCall,
  type PendingBackgroundCall,
} from '../background-calls.ts';
import type { OriginCall, OriginOutcome } from '../origin.ts';
import { injectRequest, type NodeHandler } from './inject.ts';

/**
 * Runs a GET for `url` through a Node app (an Express app, a Koa `callback()`) that has the cache
 * middleware mounted, with no client; the middleware answers the engine's `call` with the app.
 */
export function runThroughNodeApp(
  handler: NodeHandler,
  url: string,
  requestHeaders: IncomingHttpHeaders,
  call: OriginCall,
): Promise<OriginOutcome> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(requestHeaders)) {
    if (value !== undefined && !NOT_COPIED_TO_BACKGROUND.includes(name)) headers[name] = value;
  }
  return new Promise<OriginOutcome>((resolve) => {
    const { id, finish } = registerBackgroundCall(call, resolve);
    void injectRequest(handler, {
      method: 'GET',
      url,
      headers: { ...headers, [BACKGROUND_FIELD]: id },
    }).then(finish);
  });
}

/** Removes the background marker from a Node request and returns the call waiting for it. */
export function takeNodeBackgroundCall(
  headers: IncomingHttpHeaders,
): PendingBackgroundCall | undefined {
  const id = headers[BACKGROUND_FIELD];
  if (id === undefined) return undefined;
  delete headers[BACKGROUND_FIELD];
  return takeBackgroundCall(typeof id === 'string' ? id : undefined);
}
