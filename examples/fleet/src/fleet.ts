/**
 * Two gateway instances and one backend, the instances sharing nothing but Redis: the L2 tier,
 * the invalidation bus, the leases and the purge epochs. Each instance is a full gateway with its
 * own engine, memory tier and Redis connections, exactly as two processes would be.
 */
import { createGateway, startDemoBackend } from 'gatecache-example-gateway';
import type { AdapterName, DemoBackend, Gateway, GatewayLog } from 'gatecache-example-gateway';

export interface FleetOptions {
  readonly redisUrl: string;
  /** Ports of instances A and B; 0 picks free ones. */
  readonly ports: readonly [number, number];
  readonly host?: string;
  readonly purgeToken: string;
  readonly adapter?: AdapterName;
  readonly log?: GatewayLog;
}

export interface FleetInstance {
  readonly name: 'A' | 'B';
  readonly url: string;
  readonly gateway: Gateway;
}

export interface Fleet {
  readonly backend: DemoBackend;
  readonly a: FleetInstance;
  readonly b: FleetInstance;
  close(): Promise<void>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const host = options.host ?? '127.0.0.1';
  const backend = await startDemoBackend({ host });
  const started: Gateway[] = [];
  try {
    const instances: FleetInstance[] = [];
    for (const [index, name] of (['A', 'B'] as const).entries()) {
      const gateway = await createGateway({
        upstream: backend.url,
        redisUrl: options.redisUrl,
        purgeToken: options.purgeToken,
        ...(options.adapter !== undefined && { adapter: options.adapter }),
        ...(options.log !== undefined && { log: options.log }),
      });
      started.push(gateway);
      const url = await gateway.listen(options.ports[index], host);
      instances.push({ name, url, gateway });
    }
    const [a, b] = instances as [FleetInstance, FleetInstance];
    return {
      backend,
      a,
      b,
      async close() {
        for (const gateway of started) await gateway.close();
        await backend.close();
      },
    };
  } catch (error) {
    for (const gateway of started) await gateway.close();
    await backend.close();
    throw error;
  }
}
