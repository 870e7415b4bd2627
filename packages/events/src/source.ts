import type { DispatchResult, EventDispatcher, EventLogger } from './dispatcher.ts';

/** A running feed of events into a dispatcher. */
export interface EventSource {
  readonly name: string;
  /** Connects and starts consuming; resolves once messages flow. */
  start(): Promise<void>;
  /** Stops consuming; a message being handled is finished first. */
  close(): Promise<void>;
}

export interface SourceOptions {
  readonly dispatcher: EventDispatcher;
  readonly logger?: EventLogger;
  /** Told of every message handled (for metrics and tests). */
  readonly onResult?: (result: DispatchResult) => void;
  /** Delay before a message whose purge failed is offered again. Default 1000 ms. */
  readonly retryDelayMs?: number;
}

export type Handled =
  | { readonly ok: true; readonly result: DispatchResult }
  | { readonly ok: false; readonly error: unknown };

/** Runs the dispatcher; a failure to apply is reported, never thrown into a broker callback. */
export async function handleMessage(
  options: SourceOptions,
  body: Uint8Array | string,
  logger: EventLogger,
): Promise<Handled> {
  try {
    const result = await options.dispatcher.dispatch(body);
    try {
      options.onResult?.(result);
    } catch {
      // A faulty listener must not affect acknowledgement.
    }
    return { ok: true, result };
  } catch (error) {
    logger.error('[gatecache] invalidation event not applied; it will be retried', {
      error: (error as Error)?.message ?? String(error),
    });
    return { ok: false, error };
  }
}

export const defaultLogger: EventLogger = {
  warn: (message, details) => console.warn(message, details ?? ''),
  error: (message, details) => console.error(message, details ?? ''),
};
