/** Messages between the bench runner and a server child process (over the IPC channel). */

export type ServerMessage =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'unavailable'; readonly reason: string }
  | { readonly type: 'stats'; readonly originCalls: number }
  | { readonly type: 'memory'; readonly usage: NodeJS.MemoryUsage }
  | { readonly type: 'purged'; readonly ms: number; readonly error?: string };

export type RunnerMessage =
  | { readonly type: 'stats' }
  | { readonly type: 'reset' }
  | { readonly type: 'memory' }
  | { readonly type: 'purge'; readonly tags: readonly string[] }
  | { readonly type: 'exit' };

/** True for an object with a string `type`; the channel carries only our own messages. */
export function isMessage(value: unknown): value is { readonly type: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string'
  );
}
