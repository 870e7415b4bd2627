import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A `redis-server` child process on a free loopback port, owned by one test file. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Starts the server again on the same port after `stop()` or `kill()`. */
  start(): Promise<void>;
  /** SIGTERM and wait for the process to exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the process to exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the socket stays open but nothing answers (a frozen server). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Runs a command with `redis-cli` and returns its output. */
  cli(...args: string[]): Promise<string>;
  /** Kills the server for good and removes its working directory. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  readonly args?: readonly string[];
  /** A port to use; by default a free one. */
  readonly port?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1 (optionally with `port + offset` free as well, for cluster buses). */
export async function freePort(alsoFreeAtOffset?: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (alsoFreeAtOffset === undefined) return port;
    if (port + alsoFreeAtOffset > 65_535) continue;
    try {
      await listenOnce(port + alsoFreeAtOffset);
      return port;
    } catch {
      // The bus port is taken: try another.
    }
  }
  throw new Error('no free loopback port found');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const host = '127.0.0.1';
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'gatecache-redis-'));
  let child: ChildProcess | undefined;

  const cli = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('redis-cli', ['-h', host, '-p', String(port), ...args], {
      timeout: 5_000,
    });
    return stdout.trim();
  };

  const start = async (): Promise<void> => {
    if (child) return;
    const spawned = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        host,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--loglevel',
        'warning',
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = spawned;
    live.add(spawned);
    let stderr = '';
    spawned.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    spawned.once('exit', () => {
      live.delete(spawned);
      if (child === spawned) child = undefined;
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (spawned.exitCode !== null) {
        throw new Error(`redis-server exited with ${spawned.exitCode}: ${stderr}`);
      }
      try {
        if ((await cli('ping')) === 'PONG') return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${port} did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const current = child;
    if (!current) return;
    // A stopped process ignores SIGTERM until it is continued.
    current.kill('SIGCONT');
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill(sig);
    await exited;
  };

  await start();
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    start,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    cli,
    dispose: async () => {
      await signal('SIGKILL');
      rmSync(dir, { force: true, recursive: true });
    },
  };
}
