import {
  type RunningServer,
  type ServerSpec,
  startServer,
  type StartedServer,
  type StartOptions,
} from './children.ts';

/** Starts servers a few at a time (each start is a Node boot on the server core). */
export async function startAll<K>(
  items: ReadonlyArray<{ key: K; spec: ServerSpec }>,
  options: StartOptions,
  concurrency = 3,
): Promise<Map<K, StartedServer>> {
  const started = new Map<K, StartedServer>();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const item = items[next++]!;
      started.set(item.key, await startServer(item.spec, options));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return started;
}

export async function stopAll(servers: Iterable<StartedServer>): Promise<void> {
  await Promise.all([...servers].filter((s): s is RunningServer => s.ok).map((s) => s.stop()));
}
