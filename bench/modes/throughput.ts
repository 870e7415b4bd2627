/**
 * Throughput: every row's server started once, then rounds in which each row runs once in the same
 * order, so that drift (thermal, noisy neighbours) touches every row alike. Each row's ratio is taken
 * against its framework's bare row of the same round, then the median over rounds is reported.
 */
import { BODY } from '../lib/body.ts';
import type { RunningServer, StartedServer } from '../lib/children.ts';
import { readConfig } from '../lib/config.ts';
import { httpGet, LOAD_GENERATOR, type LoadResult, runLoad } from '../lib/load.ts';
import { startAll, stopAll } from '../lib/pool.ts';
import { startRedisServer } from '../lib/redis-server.ts';
import {
  fixed,
  machineDescription,
  markdownTable,
  saveSection,
  thousands,
  today,
} from '../lib/report.ts';
import { type Framework, type Row, ROWS } from '../lib/rows.ts';
import { maximum, median, minimum } from '../lib/stats.ts';

interface Measured {
  readonly load: LoadResult;
  readonly originCalls: number;
}

interface Target {
  readonly goal: string;
  readonly value: number | undefined;
  readonly pass: (value: number) => boolean;
  readonly show: (value: number) => string;
  /** The same ratio for the ceiling row of that mounting style: the best any cache could do here. */
  readonly ceiling?: number | undefined;
}

async function verify(server: RunningServer, row: Row): Promise<string | undefined> {
  const path = row.distinctUrls ? '/api/products?verify=1' : '/api/products';
  const response = await httpGet(server.port, path);
  if (response.status !== 200) return `GET ${path} answered ${response.status}`;
  if (response.body !== BODY)
    return `GET ${path} answered a different body (${response.body.length} bytes)`;
  return undefined;
}

export async function throughput(): Promise<void> {
  const config = readConfig();
  const only = onlyRows();
  // A partial run keeps each framework's bare row, since every ratio is taken against it.
  const rows =
    only === undefined
      ? ROWS
      : ROWS.filter((row) => row.kind === 'bare' || only.test(`${row.id} ${row.framework}`));
  // About 0.1 s between runs (IPC, connection setup) and 10 s to start the servers.
  const estimate =
    rows.length * (config.rounds * (config.durationSeconds + 0.1) + config.warmupSeconds + 0.1) +
    10;
  console.log(
    `throughput: ${rows.length} rows × ${config.rounds} rounds × ${config.durationSeconds} s, ` +
      `${config.connections} connections (about ${(estimate / 60).toFixed(1)} min)`,
  );
  const redis = await startRedisServer();
  let servers = new Map<string, StartedServer>();
  try {
    servers = await startAll(
      rows.map((row) => ({ key: row.id, spec: row.server })),
      { env: { BENCH_REDIS_URL: redis.url, BENCH_ORIGIN_DELAY_MS: '20' } },
    );
    const unavailable = new Map<string, string>();
    for (const row of rows) {
      const server = servers.get(row.id);
      if (server === undefined || !server.ok) {
        unavailable.set(row.id, server?.ok === false ? server.reason : 'not started');
        continue;
      }
      const problem = await verify(server, row).catch((error: unknown) => String(error));
      if (problem !== undefined) unavailable.set(row.id, problem);
    }
    const active = rows.filter((row) => !unavailable.has(row.id));
    for (const [id, reason] of unavailable) console.log(`  ${id}: not available (${reason})`);

    // Warm-up: JIT, connection setup, and the first (origin) fill of each cache.
    for (const row of active) {
      const server = servers.get(row.id) as RunningServer;
      await runLoad({
        port: server.port,
        seconds: config.warmupSeconds,
        connections: config.connections,
        distinctUrls: row.distinctUrls,
        urlPrefix: 'warm',
      });
    }

    const results = new Map<string, Measured[]>(active.map((row) => [row.id, []]));
    for (let round = 1; round <= config.rounds; round += 1) {
      for (const row of active) {
        const server = servers.get(row.id) as RunningServer;
        await server.resetOriginCalls();
        const load = await runLoad({
          port: server.port,
          seconds: config.durationSeconds,
          connections: config.connections,
          distinctUrls: row.distinctUrls,
          urlPrefix: `r${round}`,
        });
        results.get(row.id)!.push({ load, originCalls: await server.originCalls() });
      }
      const bare = results.get('express:bare')?.[round - 1]?.load.requestsPerSecond ?? Number.NaN;
      console.log(`  round ${round}/${config.rounds} done (Express bare ${thousands(bare)} req/s)`);
    }

    const markdown = render(rows, results, unavailable, config);
    console.log(`\n${markdown}\n`);
    if (only !== undefined) {
      console.log('BENCH_ONLY is set: a partial run, RESULTS.md left as it was');
      return;
    }
    const file = saveSection('throughput', markdown);
    console.log(`saved to ${file}`);
  } finally {
    await stopAll(servers.values());
    await redis.stop();
  }
}

/** BENCH_ONLY: a regular expression over "row-id Framework" selecting the rows to run. */
function onlyRows(): RegExp | undefined {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw === '') return undefined;
  try {
    return new RegExp(raw, 'i');
  } catch (error) {
    throw new Error(`BENCH_ONLY must be a regular expression: ${String(error)}`);
  }
}

const NODE_CEILING_ROW = 'hono:node:http alone (ceiling for front)';

function bareRowId(framework: Framework): string {
  return `${framework.toLowerCase()}:bare`;
}

/** Per-round ratio of two rows' figures, then the median over rounds. */
function medianRatio(
  results: Map<string, Measured[]>,
  numeratorId: string,
  denominatorId: string,
  figure: (m: Measured) => number,
): number | undefined {
  const top = results.get(numeratorId);
  const bottom = results.get(denominatorId);
  if (top === undefined || bottom === undefined) return undefined;
  return median(top.map((m, round) => figure(m) / figure(bottom[round]!)));
}

function render(
  rows: readonly Row[],
  results: Map<string, Measured[]>,
  unavailable: Map<string, string>,
  config: ReturnType<typeof readConfig>,
): string {
  const rps = (m: Measured): number => m.load.requestsPerSecond;
  const table = rows.map((row) => {
    const runs = results.get(row.id);
    const name = `${row.framework} · ${row.label}`;
    if (runs === undefined)
      return [
        name,
        '–',
        '–',
        '–',
        '–',
        '–',
        '–',
        `not available: ${unavailable.get(row.id) ?? ''}`,
      ];
    const values = runs.map(rps);
    const ratio = medianRatio(results, row.id, bareRowId(row.framework), rps);
    const failures = runs.reduce((sum, m) => sum + m.load.failures, 0);
    const calls = runs.reduce((sum, m) => sum + m.originCalls, 0);
    const requests = runs.reduce((sum, m) => sum + m.load.ok, 0);
    const notes = [failures > 0 ? `${failures} failed requests` : ''].filter(Boolean).join('; ');
    return [
      name,
      thousands(median(values)),
      `${thousands(minimum(values))}–${thousands(maximum(values))}`,
      ratio === undefined ? '–' : `${fixed(ratio, 2)}×`,
      fixed(median(runs.map((m) => m.load.latencyP50Ms)), 0),
      fixed(median(runs.map((m) => m.load.latencyP99Ms)), 0),
      `${thousands(calls)} / ${thousands(requests)}`,
      notes,
    ];
  });

  const targets: Array<[string, Target]> = [];
  const l1Goals: Array<[Framework, number]> = [
    ['Express', 1.3],
    ['Koa', 1.0],
    ['Hono', 1.0],
  ];
  for (const [framework, goal] of l1Goals) {
    const id = framework.toLowerCase();
    targets.push([
      `${framework} L1 hit vs bare ${framework}`,
      {
        goal: `≥ ${goal.toFixed(1)}×`,
        value: medianRatio(results, `${id}:gatecache L1 hit`, `${id}:bare`, rps),
        pass: (v) => v >= goal,
        show: (v) => `${fixed(v, 2)}×`,
        ceiling: medianRatio(results, `${id}:Map middleware (ceiling)`, `${id}:bare`, rps),
      },
    ]);
  }
  for (const [framework, goal] of l1Goals) {
    const id = framework.toLowerCase();
    targets.push([
      `${framework} L1 hit (front) vs bare ${framework}`,
      {
        goal: `≥ ${goal.toFixed(1)}×`,
        value: medianRatio(results, `${id}:gatecache L1 hit (front)`, `${id}:bare`, rps),
        pass: (v) => v >= goal,
        show: (v) => `${fixed(v, 2)}×`,
        ceiling: medianRatio(results, NODE_CEILING_ROW, `${id}:bare`, rps),
      },
    ]);
  }
  for (const [mount, suffix] of [
    ['', ''],
    [' (front)', ', front'],
  ] as const) {
    for (const framework of ['Express', 'Koa', 'Hono'] as const) {
      const id = framework.toLowerCase();
      targets.push([
        `${framework} L2 hit${mount} vs raw ioredis GET`,
        {
          goal: '≥ 0.9×',
          value: medianRatio(
            results,
            `${id}:gatecache L2 hit (Redis${suffix})`,
            `${id}:raw ioredis GET`,
            rps,
          ),
          pass: (v) => v >= 0.9,
          show: (v) => `${fixed(v, 2)}×`,
        },
      ]);
    }
  }
  for (const framework of ['Express', 'Koa', 'Hono'] as const) {
    const id = framework.toLowerCase();
    const ratio = medianRatio(
      results,
      `${id}:gatecache miss`,
      `${id}:origin (20 ms)`,
      (m) => m.load.latencyMeanMs,
    );
    targets.push([
      `${framework} miss: mean latency added over origin`,
      {
        goal: '≤ +5%',
        value: ratio === undefined ? undefined : (ratio - 1) * 100,
        pass: (v) => v <= 5,
        show: (v) => `${v >= 0 ? '+' : ''}${fixed(v, 1)}%`,
      },
    ]);
  }
  const aa = medianRatio(results, 'express:bare (A/A copy)', 'express:bare', rps);

  const lines = [
    `## Throughput (${today()})`,
    '',
    `Machine: ${machineDescription()}.`,
    `Run: ${config.rounds} interleaved rounds × ${config.durationSeconds} s per row, ${config.connections} connections, ` +
      `${config.warmupSeconds} s warm-up per row; load from ${LOAD_GENERATOR === 'wrk' ? 'wrk (one thread)' : 'autocannon in the runner process'}, each server in its own process.`,
    '',
    markdownTable(
      [
        'Row',
        'req/s (median)',
        'min–max',
        '× bare',
        'p50 ms',
        'p99 ms',
        'origin calls / requests',
        'notes',
      ],
      table,
    ),
    '',
    `A/A (two identical bare Express servers): ${aa === undefined ? '–' : `${fixed(aa, 3)}×`}; ` +
      'differences of that size between other rows are noise.',
    '',
    '### Targets',
    '',
    markdownTable(
      ['Target', 'goal', 'measured', 'ceiling', 'result'],
      targets.map(([name, t]) => [
        name,
        t.goal,
        t.value === undefined ? '–' : t.show(t.value),
        t.ceiling === undefined ? '' : t.show(t.ceiling),
        t.value === undefined ? 'not available' : t.pass(t.value) ? 'met' : 'NOT met',
      ]),
    ),
    '',
    'Ceiling: the same ratio for the "ceiling" row of that mounting style (a bare Map middleware ' +
      'mounted first; node:http alone for a front mount), in the same run: what any cache mounted ' +
      'that way could reach at best on this machine.',
  ];
  return lines.join('\n');
}
