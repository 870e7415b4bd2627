import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, startRedisServer, type RedisServer } from './redis-server.ts';

const run = promisify(execFile);

/** A Redis Cluster of masters only, each a `redis-server` child on a free loopback port. */
export interface RedisClusterHandle {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly servers: readonly RedisServer[];
  dispose(): Promise<void>;
}

/** The cluster bus listens on the data port + 10000 (Redis default), which must be free too. */
const BUS_PORT_OFFSET = 10_000;

export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort(BUS_PORT_OFFSET);
      servers.push(
        await startRedisServer({
          port,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const addresses = servers.map((server) => `${server.host}:${server.port}`);
    await run(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    const deadline = Date.now() + 20_000;
    for (const server of servers) {
      for (;;) {
        const info = await server.cli('cluster', 'info');
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster did not become ok: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.dispose()));
    throw error;
  }
  return {
    nodes: servers.map((server) => ({ host: server.host, port: server.port })),
    servers,
    dispose: async () => {
      await Promise.all(servers.map((server) => server.dispose()));
    },
  };
}
