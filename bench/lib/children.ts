/**
 * Server child processes: each bench server runs in its own Node process (its own event loop),
 * pinned to the server core, and talks to the runner over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtConditions } from './build.ts';
import { onServerCore } from './pinning.ts';
import { isMessage, type RunnerMessage, type ServerMessage } from './protocol.ts';

export interface ServerSpec {
  /** File name in bench/servers, e.g. `express-bare.ts`. */
  readonly file: string;
  readonly variant: string;
}

export interface StartOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Start node with --expose-gc, for the memory mode. */
  readonly exposeGc?: boolean;
  /** More Node or V8 flags (heap sizes, for the memory mode). */
  readonly nodeFlags?: readonly string[];
  readonly timeoutMs?: number;
}

export interface RunningServer {
  readonly ok: true;
  readonly port: number;
  readonly pid: number;
  originCalls(): Promise<number>;
  resetOriginCalls(): Promise<void>;
  memoryUsage(): Promise<NodeJS.MemoryUsage>;
  /** Milliseconds the server took to purge these tags (timed inside the server). */
  purgeTags(tags: readonly string[]): Promise<Extract<ServerMessage, { type: 'purged' }>>;
  stop(): Promise<void>;
}

export type StartedServer = RunningServer | { readonly ok: false; readonly reason: string };

const TSX = import.meta.resolve('tsx');
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function serverPath(file: string): string {
  return fileURLToPath(new URL(`../servers/${file}`, import.meta.url));
}

export async function startServer(
  spec: ServerSpec,
  options: StartOptions = {},
): Promise<StartedServer> {
  const nodeArgs = [
    ...builtConditions(),
    '--import',
    TSX,
    ...(options.exposeGc === true ? ['--expose-gc'] : []),
    ...(options.nodeFlags ?? []),
  ];
  const [command, args] = onServerCore(process.execPath, [
    ...nodeArgs,
    serverPath(spec.file),
    spec.variant,
  ]);
  const child = spawn(command, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  live.add(child);
  child.once('exit', () => live.delete(child));

  const waiters: Array<{
    types: ReadonlyArray<ServerMessage['type']>;
    resolve: (message: ServerMessage) => void;
  }> = [];
  child.on('message', (raw: unknown) => {
    if (!isMessage(raw)) return;
    const message = raw as ServerMessage;
    const index = waiters.findIndex((waiter) => waiter.types.includes(message.type));
    if (index >= 0) waiters.splice(index, 1)[0]?.resolve(message);
  });

  function ask<T extends ServerMessage['type']>(
    request: RunnerMessage | undefined,
    types: readonly T[],
    timeoutMs: number,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const type = types.join('/');
    return new Promise((resolve, reject) => {
      const waiter = {
        types,
        resolve: (message: ServerMessage) => {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(message as Extract<ServerMessage, { type: T }>);
        },
      };
      const drop = (): void => {
        const index = waiters.indexOf(waiter);
        if (index >= 0) waiters.splice(index, 1);
      };
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        drop();
        reject(
          new Error(
            `${spec.file} ${spec.variant} exited (code ${String(code)}) before answering ${type}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        drop();
        reject(
          new Error(`${spec.file} ${spec.variant} did not answer ${type} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      waiters.push(waiter);
      child.once('exit', onExit);
      if (request !== undefined) child.send(request);
    });
  }

  const first = await ask(undefined, ['ready', 'unavailable'], options.timeoutMs ?? 20_000).catch(
    (error: unknown) => ({ type: 'failed' as const, error }),
  );
  if (first.type === 'unavailable' || first.type === 'failed') {
    child.kill('SIGKILL');
    const reason =
      first.type === 'unavailable' ? first.reason : String((first.error as Error).message);
    return { ok: false, reason };
  }
  return {
    ok: true,
    port: first.port,
    pid: child.pid ?? 0,
    originCalls: async () => (await ask({ type: 'stats' }, ['stats'], 5000)).originCalls,
    resetOriginCalls: async () => {
      await ask({ type: 'reset' }, ['stats'], 5000);
    },
    memoryUsage: async () => (await ask({ type: 'memory' }, ['memory'], 30_000)).usage,
    purgeTags: (tags) => ask({ type: 'purge', tags }, ['purged'], 60_000),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' } satisfies RunnerMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
