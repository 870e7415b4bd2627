/**
 * Stampede: 200 requests at once on one cold key, counting how many reach the origin. A cache that
 * coalesces calls the origin once; one that does not calls it up to 200 times. The origin is slowed
 * to 200 ms so that every request arrives while the first is still in flight.
 */
import { BODY } from '../lib/body.ts';
import type { RunningServer, ServerSpec, StartedServer } from '../lib/children.ts';
import { httpGet } from '../lib/load.ts';
import { startAll, stopAll } from '../lib/pool.ts';
import { startRedisServer } from '../lib/redis-server.ts';
import { machineDescription, markdownTable, saveSection, today } from '../lib/report.ts';
import { maximum, median } from '../lib/stats.ts';

const CONCURRENCY = 200;
const TRIALS = 3;
const ORIGIN_DELAY_MS = 200;

interface Case {
  readonly name: string;
  /** One server, or several engines sharing Redis that the requests are spread over. */
  readonly servers: readonly ServerSpec[];
  readonly goal?: number;
  /** Engines started anew for each trial, the stampede being their first requests. */
  readonly cold?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'no cache (Express origin)', servers: [{ file: 'express-bare.ts', variant: 'origin' }] },
  {
    name: 'gatecache Express (L1)',
    servers: [{ file: 'express-gatecache.ts', variant: 'l1' }],
    goal: 1,
  },
  { name: 'gatecache Koa (L1)', servers: [{ file: 'koa-gatecache.ts', variant: 'l1' }], goal: 1 },
  { name: 'gatecache Hono (L1)', servers: [{ file: 'hono-gatecache.ts', variant: 'l1' }], goal: 1 },
  {
    name: 'gatecache Express (L2 Redis)',
    servers: [{ file: 'express-gatecache.ts', variant: 'l2' }],
    goal: 1,
  },
  {
    name: 'gatecache: 3 Express engines sharing Redis',
    servers: [1, 2, 3].map(() => ({ file: 'express-gatecache.ts', variant: 'shared' })),
    goal: 1,
  },
  {
    name: 'gatecache: Express + Koa + Hono sharing Redis',
    servers: ['express', 'koa', 'hono'].map((framework) => ({
      file: `${framework}-gatecache.ts`,
      variant: 'shared',
    })),
    goal: 1,
  },
  {
    name: 'gatecache: 3 Express engines sharing Redis, just started',
    servers: [1, 2, 3].map(() => ({ file: 'express-gatecache.ts', variant: 'shared' })),
    goal: 1,
    cold: true,
  },
  {
    name: 'gatecache: 3 Express engines, Redis store without leases',
    servers: [1, 2, 3].map(() => ({ file: 'express-gatecache.ts', variant: 'l2' })),
  },
  { name: 'apicache (memory)', servers: [{ file: 'express-apicache.ts', variant: 'memory' }] },
  { name: 'apicache (Redis)', servers: [{ file: 'express-apicache.ts', variant: 'redis' }] },
  { name: 'koa-cash (lru-cache)', servers: [{ file: 'koa-cash.ts', variant: 'lru' }] },
];

interface Trial {
  readonly originCalls: number;
  readonly ok: number;
}

async function trial(servers: readonly RunningServer[], path: string): Promise<Trial> {
  await Promise.all(servers.map((server) => server.resetOriginCalls()));
  const responses = await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, index) =>
      // One Host for all, as behind a load balancer: engines on different ports then share keys.
      httpGet(servers[index % servers.length]!.port, path, 30_000, 'api.bench.test').catch(
        () => undefined,
      ),
    ),
  );
  const ok = responses.filter(
    (response) => response?.status === 200 && response.body === BODY,
  ).length;
  const calls = await Promise.all(servers.map((server) => server.originCalls()));
  return { originCalls: calls.reduce((sum, n) => sum + n, 0), ok };
}

type Started =
  | { readonly ok: true; readonly servers: RunningServer[] }
  | { readonly ok: false; readonly reason: string };

async function startCase(testCase: Case, redisUrl: string): Promise<Started> {
  const started = await startAll(
    testCase.servers.map((spec, index) => ({ key: index, spec })),
    { env: { BENCH_REDIS_URL: redisUrl, BENCH_ORIGIN_DELAY_MS: String(ORIGIN_DELAY_MS) } },
  );
  const servers = [...started.values()];
  const missing = servers.find(
    (server): server is Extract<StartedServer, { ok: false }> => !server.ok,
  );
  if (missing !== undefined) {
    await stopAll(servers);
    return { ok: false, reason: missing.reason };
  }
  const running = servers as RunningServer[];
  if (testCase.cold !== true) {
    // One request per engine on another URL first, so that Redis connections are open: these
    // rows measure coalescing in a running fleet, not an instance's first moments.
    await Promise.all(
      running.map((server) =>
        httpGet(server.port, '/api/products?warm=1', 30_000, 'api.bench.test'),
      ),
    );
  }
  return { ok: true, servers: running };
}

export async function stampede(): Promise<void> {
  console.log(
    `stampede: ${CONCURRENCY} concurrent requests on one cold key, ${TRIALS} trials per cache`,
  );
  const redis = await startRedisServer();
  const rows: string[][] = [];
  try {
    for (const [caseIndex, testCase] of CASES.entries()) {
      const trials: Trial[] = [];
      let unavailable: string | undefined;
      let shared: RunningServer[] | undefined;
      try {
        for (let t = 1; t <= TRIALS && unavailable === undefined; t += 1) {
          // A cold case starts its engines anew for every trial; the others start them once.
          if (shared === undefined || testCase.cold === true) {
            if (shared !== undefined) await stopAll(shared);
            shared = undefined;
            const started = await startCase(testCase, redis.url);
            if (!started.ok) {
              unavailable = started.reason;
              break;
            }
            shared = started.servers;
          }
          trials.push(await trial(shared, `/api/products?stampede=${caseIndex}-${t}`));
        }
      } finally {
        if (shared !== undefined) await stopAll(shared);
        await redis.flush();
      }
      if (unavailable !== undefined) {
        rows.push([
          testCase.name,
          '–',
          '–',
          '–',
          goalText(testCase),
          `not available: ${unavailable}`,
        ]);
        continue;
      }
      const calls = trials.map((x) => x.originCalls);
      const ok = trials.map((x) => x.ok);
      const result =
        testCase.goal === undefined ? '' : maximum(calls) <= testCase.goal ? 'met' : 'NOT met';
      rows.push([
        testCase.name,
        String(median(calls)),
        `${Math.min(...calls)}–${maximum(calls)}`,
        `${Math.min(...ok)}/${CONCURRENCY}`,
        goalText(testCase),
        result,
      ]);
      console.log(`  ${testCase.name}: origin calls ${calls.join(', ')}`);
    }
  } finally {
    await redis.stop();
  }
  const markdown = [
    `## Stampede (${today()})`,
    '',
    `Machine: ${machineDescription()}.`,
    `Run: ${CONCURRENCY} concurrent requests (one connection each) on one cold URL, origin delay ${ORIGIN_DELAY_MS} ms, ` +
      `${TRIALS} trials per cache, each on a new URL, after one request per engine on another URL ` +
      '("just started": fresh engines for each trial, no such request). ' +
      'Several engines: requests spread round-robin over them, one Host for all.',
    '',
    markdownTable(
      [
        'Cache',
        'origin calls (median)',
        'min–max',
        'correct responses (worst trial)',
        'goal',
        'result',
      ],
      rows,
    ),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  console.log(`saved to ${saveSection('stampede', markdown)}`);
}

function goalText(testCase: Case): string {
  return testCase.goal === undefined ? '' : `${testCase.goal}`;
}
