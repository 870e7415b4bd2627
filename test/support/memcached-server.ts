import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './redis-server.ts';

/** A `memcached` child process on a free loopback port, owned by one test file. */
export interface MemcachedServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, as memjs takes it. */
  readonly servers: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing answers. */
  pause(): void;
  resume(): void;
  dispose(): Promise<void>;
}

export interface MemcachedServerOptions {
  readonly port?: number;
  /** Largest item (memcached `-I`). Default 4m, above the conformance suite's 1 MiB body. */
  readonly maxItemSize?: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startMemcachedServer(
  options: MemcachedServerOptions = {},
): Promise<MemcachedServer> {
  const host = '127.0.0.1';
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    const args = [
      '-l',
      host,
      '-p',
      String(port),
      '-U',
      '0',
      '-m',
      '64',
      '-I',
      options.maxItemSize ?? '4m',
    ];
    // memcached refuses to run as root unless told which user to be.
    if (process.getuid?.() === 0) args.push('-u', 'root');
    const spawned = spawn('memcached', args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
      if (spawned.exitCode !== null)
        throw new Error(`memcached exited with ${spawned.exitCode}: ${stderr}`);
      if (await answersVersion(host, port)) return;
      if (Date.now() > deadline) throw new Error(`memcached on ${port} did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const current = child;
    if (!current) return;
    current.kill('SIGCONT');
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill(sig);
    await exited;
  };

  await start();
  return {
    host,
    port,
    servers: `${host}:${port}`,
    start,
    stop: () => signal('SIGTERM'),
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    dispose: () => signal('SIGKILL'),
  };
}

function answersVersion(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('version\r\n'));
    socket.once('data', (chunk) => done(chunk.toString().startsWith('VERSION')));
  });
}
