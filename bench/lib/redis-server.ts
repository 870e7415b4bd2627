/**
 * A redis-server of the bench's own, on a free loopback port, without persistence; stopped at the
 * end of the run (and killed with the runner if the runner dies first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { onServerCore } from './pinning.ts';
import { freePort } from './ports.ts';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const [command, args] = onServerCore('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--loglevel',
    'warning',
  ]);
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  let client: Redis | undefined;
  while (client === undefined) {
    const attempt = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    attempt.on('error', () => undefined);
    try {
      await attempt.connect();
      await attempt.ping();
      client = attempt;
    } catch (error) {
      attempt.disconnect();
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not start on port ${port}`, { cause: error });
      }
      await sleep(100);
    }
  }
  const ready = client;
  return {
    url,
    port,
    flush: async () => {
      await ready.flushall();
    },
    stop: async () => {
      ready.disconnect();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(3000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      process.removeListener('exit', killOnExit);
    },
  };
}
