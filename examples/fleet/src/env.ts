/** The fleet's environment, shared by `start` and `demo` so that both agree on ports and token. */
import { ADAPTERS } from 'gatecache-example-gateway';
import type { AdapterName } from 'gatecache-example-gateway';

export interface FleetEnv {
  readonly portA: number;
  readonly portB: number;
  readonly host: string;
  readonly redisUrl: string;
  /** The Redis URL without credentials, for printing. */
  readonly redisShown: string;
  readonly purgeToken: string;
  readonly adapter: AdapterName | undefined;
}

/** A demo token, so that `start` and `demo` work with no setup; set your own anywhere else. */
export const DEMO_PURGE_TOKEN = 'fleet-demo-purge-token';

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) {
    throw new Error(
      `[gatecache] ${name} must be a port from 1 to 65535; got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

export function readFleetEnv(env: Env): FleetEnv {
  const redisUrl = value(env, 'REDIS_URL') ?? 'redis://127.0.0.1:6379';
  const adapter = value(env, 'ADAPTER')?.toLowerCase();
  if (adapter !== undefined && !ADAPTERS.some((name) => name === adapter)) {
    throw new Error(
      `[gatecache] ADAPTER must be one of ${ADAPTERS.join(', ')}; got ${JSON.stringify(adapter)}`,
    );
  }
  return {
    portA: port(env, 'PORT_A', 3001),
    portB: port(env, 'PORT_B', 3002),
    host: value(env, 'HOST') ?? '127.0.0.1',
    redisUrl,
    redisShown: redisUrl.replace(/\/\/[^@/]*@/, '//***@'),
    purgeToken: value(env, 'GATECACHE_PURGE_TOKEN') ?? DEMO_PURGE_TOKEN,
    adapter: adapter as AdapterName | undefined,
  };
}
