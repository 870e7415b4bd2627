/**
 * Memory: fill each cache with 100,000 distinct ~1 KB entries through HTTP, then compare the
 * process's memory (after full GCs) with what it used before the fill. Heap plus external memory
 * counts both JS objects and the Buffers/ArrayBuffers that hold bodies outside the heap.
 */
import type { RunningServer, ServerSpec } from '../lib/children.ts';
import { startServer } from '../lib/children.ts';
import { httpGet, runLoad } from '../lib/load.ts';
import {
  fixed,
  machineDescription,
  markdownTable,
  saveSection,
  thousands,
  today,
} from '../lib/report.ts';

const ENTRIES = Number(process.env.BENCH_MEMORY_ENTRIES ?? 100_000);
const CHUNK = 10_000;
/** A cache that fills slower than this is measured on the entries stored by then (the run stays bounded). */
const FILL_LIMIT_MS = Number(process.env.BENCH_MEMORY_FILL_LIMIT_MS ?? 90_000);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'date', 'transfer-encoding']);

interface Case {
  readonly name: string;
  readonly server: ServerSpec;
  readonly gatecache: boolean;
}

const CASES: readonly Case[] = [
  {
    name: 'gatecache Express (memory store)',
    server: { file: 'express-gatecache.ts', variant: 'fill' },
    gatecache: true,
  },
  {
    name: 'gatecache Koa (memory store)',
    server: { file: 'koa-gatecache.ts', variant: 'fill' },
    gatecache: true,
  },
  {
    name: 'gatecache Hono (memory store)',
    server: { file: 'hono-gatecache.ts', variant: 'fill' },
    gatecache: true,
  },
  {
    name: 'apicache (memory)',
    server: { file: 'express-apicache.ts', variant: 'memory' },
    gatecache: false,
  },
  {
    name: 'koa-cash (lru-cache)',
    server: { file: 'koa-cash.ts', variant: 'lru' },
    gatecache: false,
  },
];

/** Body plus the header text a hit replays: what an entry has to keep, at the least. */
function storedBytes(response: Awaited<ReturnType<typeof httpGet>>): number {
  let bytes = Buffer.byteLength(response.body);
  for (const [name, value] of Object.entries(response.headers)) {
    if (HOP_BY_HOP.has(name) || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value])
      bytes += name.length + 2 + Buffer.byteLength(item);
  }
  return bytes;
}

export async function memory(): Promise<void> {
  console.log(`memory: ${thousands(ENTRIES)} distinct ~1 KB entries per cache, filled over HTTP`);
  const rows: string[][] = [];
  for (const testCase of CASES) {
    const started = await startServer(testCase.server, {
      exposeGc: true,
      env: { BENCH_ORIGIN_DELAY_MS: '0', BENCH_DISTINCT_BODIES: '1', BENCH_MAX_AGE: '3600' },
    });
    if (!started.ok) {
      rows.push([
        testCase.name,
        '–',
        '–',
        '–',
        '–',
        '–',
        '–',
        '–',
        `not available: ${started.reason}`,
      ]);
      continue;
    }
    const server: RunningServer = started;
    try {
      // Warm up on one URL (one entry) so that JIT and framework caches are in the baseline.
      await runLoad({ port: server.port, amount: 5000, connections: 10 });
      const before = await server.memoryUsage();
      await server.resetOriginCalls();
      const startedAt = Date.now();
      let filled = 0;
      let failures = 0;
      let lastPrefix = 'fill0-';
      while (filled < ENTRIES && Date.now() - startedAt < FILL_LIMIT_MS) {
        const amount = Math.min(CHUNK, ENTRIES - filled);
        lastPrefix = `fill${filled}-`;
        const chunk = await runLoad({
          port: server.port,
          amount,
          connections: 10,
          distinctUrls: true,
          urlPrefix: lastPrefix,
        });
        failures += chunk.failures;
        filled += amount;
      }
      const fillSeconds = (Date.now() - startedAt) / 1000;
      const after = await server.memoryUsage();
      const callsAfterFill = await server.originCalls();
      // A sample of the entries read back: a hit must not reach the origin, or the entry was not kept.
      const samples = [];
      samples.push(await httpGet(server.port, '/api/products?fill0-=1'));
      samples.push(await httpGet(server.port, `/api/products?${lastPrefix}=1`));
      const kept = (await server.originCalls()) === callsAfterFill;
      const perEntry =
        (after.heapUsed + after.external - before.heapUsed - before.external) / filled;
      const rssPerEntry = (after.rss - before.rss) / filled;
      const sample = samples[samples.length - 1]!;
      const stored = storedBytes(sample);
      const body = Buffer.byteLength(sample.body);
      const notes = [
        failures > 0 ? `${failures} failed requests` : '',
        filled < ENTRIES
          ? `only ${thousands(filled)} entries filled in ${FILL_LIMIT_MS / 1000} s`
          : '',
        callsAfterFill < filled ? `only ${callsAfterFill} origin calls` : '',
        kept ? '' : 'sampled entries were not kept',
      ]
        .filter(Boolean)
        .join('; ');
      rows.push([
        testCase.name,
        thousands(filled / fillSeconds),
        fixed((after.rss - before.rss) / 1024 ** 2, 0),
        fixed((after.heapUsed - before.heapUsed) / 1024 ** 2, 0),
        fixed((after.external - before.external) / 1024 ** 2, 0),
        `${thousands(perEntry)} (RSS ${thousands(rssPerEntry)})`,
        `${thousands(perEntry - body)}`,
        testCase.gatecache
          ? `${fixed(perEntry / stored, 2)}× of ${thousands(stored)}`
          : `${fixed(perEntry / stored, 2)}×`,
        notes,
      ]);
      console.log(
        `  ${testCase.name}: ${thousands(perEntry)} bytes per entry (${thousands(filled / fillSeconds)} fills/s)`,
      );
    } finally {
      await server.stop();
    }
  }
  const markdown = [
    `## Memory (${today()})`,
    '',
    `Machine: ${machineDescription()}.`,
    `Run: ${thousands(ENTRIES)} distinct URLs, each a ~1 KB JSON body of its own, stored through HTTP; memory read in ` +
      'the server process after two full GCs, before and after the fill. Per entry = (heap used + external) growth ÷ entries. ' +
      'Stored bytes = body plus the header text a hit sends (without Date/Connection/Keep-Alive).',
    '',
    markdownTable(
      [
        'Cache',
        'fills/s',
        'RSS +MiB',
        'heap +MiB',
        'external +MiB',
        'bytes per entry',
        'above body',
        '÷ stored bytes (goal ≤ 1.2× for gatecache)',
        'notes',
      ],
      rows,
    ),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  console.log(`saved to ${saveSection('memory', markdown)}`);
}
