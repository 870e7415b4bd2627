import type { OriginCall, OriginOutcome } from './origin.ts';

/**
 * Background requests (stale-while-revalidate, refresh-ahead, warming) re-enter the app with no
 * client. This request field carries an unguessable id so the cache middleware knows the request
 * is its own and runs the app as the origin for the call waiting under that id. A marker nobody
 * waits for (sent by a client) is removed and ignored.
 */
export const BACKGROUND_FIELD = 'x-gatecache-background';

/** Request fields never copied into a background request. */
export const NOT_COPIED_TO_BACKGROUND: readonly string[] = [
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
];

export interface PendingBackgroundCall {
  readonly call: OriginCall;
  readonly resolve: (outcome: OriginOutcome) => void;
}

const pending = new Map<string, PendingBackgroundCall>();
const prefix = globalThis.crypto.randomUUID();
let sequence = 0;

/**
 * Registers a call that a background request will answer; returns the marker value to send and a
 * `finish` to call once the app has answered (it fails the call if the cache middleware never saw
 * the request).
 */
export function registerBackgroundCall(
  call: OriginCall,
  resolve: (outcome: OriginOutcome) => void,
): { readonly id: string; readonly finish: () => void } {
  const id = `${prefix}.${++sequence}`;
  pending.set(id, { call, resolve });
  return {
    id,
    finish: () => {
      const waiting = pending.get(id);
      if (waiting === undefined) return;
      pending.delete(id);
      waiting.resolve({ status: 500, headers: [], body: undefined, complete: false });
    },
  };
}

/** The call waiting for this marker value, taken (once), or undefined. */
export function takeBackgroundCall(
  id: string | null | undefined,
): PendingBackgroundCall | undefined {
  if (typeof id !== 'string') return undefined;
  const waiting = pending.get(id);
  if (waiting !== undefined) pending.delete(id);
  return waiting;
}
