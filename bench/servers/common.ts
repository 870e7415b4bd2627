/**
 * What every bench server shares: its variant from argv, the origin's simulated delay, the origin
 * call counter, and the IPC conversation with the runner. A server exits when the runner goes away,
 * so no server outlives a bench run.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMessage, type RunnerMessage, type ServerMessage } from '../lib/protocol.ts';

export {
  BODY,
  CONTENT_TYPE,
  MAX_AGE_SECONDS,
  ORIGIN_CACHE_CONTROL,
  PRODUCTS_PATH,
  productsBody,
} from '../lib/body.ts';

let originCalls = 0;

function send(message: ServerMessage): void {
  if (process.send) process.send(message);
  else console.log(JSON.stringify(message));
}

/** The variant named on the command line, checked against the ones this server knows. */
export function variantArg<const V extends string>(allowed: readonly V[]): V {
  const value = process.argv[2] ?? allowed[0];
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) {
    console.error(`unknown variant ${String(value)}; expected one of ${allowed.join(', ')}`);
    process.exit(2);
  }
  return found;
}

/** Simulated backend latency of the origin, in milliseconds (BENCH_ORIGIN_DELAY_MS, default 20). */
export const ORIGIN_DELAY_MS = Number(process.env.BENCH_ORIGIN_DELAY_MS ?? 20);

/** When set, each URL gets its own body, so a cache cannot share one buffer across entries. */
export const DISTINCT_BODIES = process.env.BENCH_DISTINCT_BODIES === '1';

/** Counts one origin call and waits for the simulated backend. */
export async function originWork(delayMs: number = ORIGIN_DELAY_MS): Promise<void> {
  originCalls += 1;
  if (delayMs > 0) await sleep(delayMs);
}

export function redisUrl(): string {
  const url = process.env.BENCH_REDIS_URL;
  if (url === undefined || url === '') unavailable('BENCH_REDIS_URL is not set');
  return url;
}

/** Tells the runner this variant cannot run (a package that does not exist yet), then exits. */
export function unavailable(reason: string): never {
  send({ type: 'unavailable', reason });
  process.exit(0);
}

const closers: Array<() => Promise<void> | void> = [];
let purger: ((tags: readonly string[]) => Promise<unknown>) | undefined;

/** Registers how this server purges tags, for the tag purge mode. */
export function onPurge(purge: (tags: readonly string[]) => Promise<unknown>): void {
  purger = purge;
}

async function purge(tags: readonly string[]): Promise<void> {
  if (purger === undefined) {
    send({ type: 'purged', ms: Number.NaN, error: 'this server has no tag purge' });
    return;
  }
  const started = performance.now();
  try {
    await purger(tags);
    send({ type: 'purged', ms: performance.now() - started });
  } catch (error) {
    send({ type: 'purged', ms: Number.NaN, error: String(error) });
  }
}

/** Registers something to close (a Redis client) when the runner asks the server to exit. */
export function onExit(close: () => Promise<void> | void): void {
  closers.push(close);
}

async function exit(): Promise<void> {
  const timer = setTimeout(() => process.exit(0), 2000);
  timer.unref();
  for (const close of closers) {
    try {
      await close();
    } catch {
      // Exiting anyway: a close error must not keep the process alive.
    }
  }
  process.exit(0);
}

/** Reports the listening port and answers the runner's questions until told to exit. */
export function announce(server: { address(): AddressInfo | string | null }): void {
  const address = server.address() as AddressInfo;
  process.on('message', (raw: unknown) => {
    if (!isMessage(raw)) return;
    const message = raw as RunnerMessage;
    switch (message.type) {
      case 'stats':
        send({ type: 'stats', originCalls });
        break;
      case 'reset':
        originCalls = 0;
        send({ type: 'stats', originCalls });
        break;
      case 'memory':
        // Two passes: the first may only finalize objects that the second frees.
        globalThis.gc?.();
        globalThis.gc?.();
        send({ type: 'memory', usage: process.memoryUsage() });
        break;
      case 'purge':
        void purge(message.tags);
        break;
      case 'exit':
        void exit();
        break;
    }
  });
  process.on('disconnect', () => void exit());
  // A clean exit on signals too, so that --cpu-prof and similar flags write their files.
  process.once('SIGINT', () => void exit());
  process.once('SIGTERM', () => void exit());
  send({ type: 'ready', port: address.port });
}

export const HOST = '127.0.0.1';
