/**
 * Memory: fill each cache with 100,000 distinct ~1 KB entries through HTTP, then compare the
 * process's memory (after full GCs) with what it used before the fill. Heap plus external memory
 * counts both JS objects and the Buffers/ArrayBuffers that hold bodies outside the heap.
 *
 * Then the bound: gatecache servers whose memory store is limited to 64 MiB get the same fill
 * (about twice what fits), and their RSS growth must stay within that size plus 20%.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { PRODUCTS_PATH } from '../lib/body.ts';
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
/** Comma-separated parts of case names to run (all when unset), for quicker runs while working. */
const ONLY = (process.env.BENCH_MEMORY_CASES ?? '')
  .split(',')
  .map((part) => part.trim().toLowerCase())
  .filter(Boolean);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'date', 'transfer-encoding']);
const MiB = 1024 ** 2;
/** The L1 size of the `fill-bounded` variant (bench/servers/gatecache-options.ts). */
const BOUNDED_L1_BYTES = 64 * MiB;
/** The second target: RSS growth within the configured L1 size plus 20%. */
const BOUNDED_RSS_LIMIT = BOUNDED_L1_BYTES * 1.2;
/** How long after the GCs RSS is read (see `settledMemory`). */
const SETTLE_MS = 300;
/**
 * Heap limits for a process that should stay within the cache's budget: a young generation of
 * 2 MiB semi-spaces (V8's default grows them to 16 MiB under a storing load) and a 256 MiB old
 * generation (under which V8 lets less garbage pile up before a major GC). The natural peak is
 * measured once more with them.
 */
const BOUNDED_NODE_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=256'];
/** Uncached requests before the bounded fill's baseline (see `warmUpUncached`). */
const UNCACHED_WARM_UP = 20_000;
const SERVER_ENV = {
  BENCH_ORIGIN_DELAY_MS: '0',
  BENCH_DISTINCT_BODIES: '1',
  BENCH_MAX_AGE: '3600',
};

interface Case {
  readonly name: string;
  readonly server: ServerSpec;
  readonly gatecache: boolean;
}

/** One gatecache case per framework, on the given server variant. */
function gatecacheCases(variant: string, label: string): Case[] {
  return (['Express', 'Koa', 'Hono'] as const).map((framework) => ({
    name: `gatecache ${framework} (${label})`,
    server: { file: `${framework.toLowerCase()}-gatecache.ts`, variant },
    gatecache: true,
  }));
}

const CASES: readonly Case[] = [
  ...gatecacheCases('fill', 'memory store'),
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

const BOUNDED_CASES: readonly Case[] = gatecacheCases('fill-bounded', '64 MiB L1');

function selected(cases: readonly Case[]): readonly Case[] {
  if (ONLY.length === 0) return cases;
  return cases.filter((c) => ONLY.some((part) => c.name.toLowerCase().includes(part)));
}

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

/** A field of /proc/<pid>/status in bytes (Linux), or undefined where there is none. */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Restarts the process's peak RSS (VmHWM) from its current RSS (Linux 4.0+); false if it cannot. */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * The server's RSS after full GCs. Read a moment after them, from /proc where there is one: the
 * collector gives pages back in the background, so a reading taken at once is higher, and by
 * varying amounts.
 */
async function settledMemory(server: RunningServer): Promise<NodeJS.MemoryUsage> {
  const usage = await server.memoryUsage();
  await sleep(SETTLE_MS);
  const rss = procStatus(server.pid, 'VmRSS');
  return rss === undefined ? usage : { ...usage, rss };
}

/**
 * Distinct URLs sent with `Cache-Control: no-store`: the same work as a fill with nothing stored
 * (RFC 9111 §5.2.1.5), so that what the runtime keeps for such traffic whatever the cache holds
 * (a grown young generation, allocator pools) is in the baseline, not counted as the cache's.
 */
async function warmUpUncached(port: number, amount: number, prefix = 'warm'): Promise<void> {
  let counter = 0;
  await autocannon({
    url: `http://127.0.0.1:${port}${PRODUCTS_PATH}`,
    connections: 10,
    amount,
    timeout: 10,
    headers: { 'cache-control': 'no-store' },
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          path: `${PRODUCTS_PATH}?${prefix}=${++counter}`,
        }),
      },
    ],
  });
}

interface Fill {
  readonly filled: number;
  readonly failures: number;
  readonly seconds: number;
  readonly lastPrefix: string;
}

/**
 * Distinct URLs in chunks until `ENTRIES` or the time limit; `afterChunk` runs between chunks
 * (and may read memory, which runs full GCs in the server).
 */
async function fill(server: RunningServer, afterChunk?: () => Promise<void>): Promise<Fill> {
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
    await afterChunk?.();
  }
  return { filled, failures, seconds: (Date.now() - startedAt) / 1000, lastPrefix };
}

/** The fill's URLs again, chunk by chunk, so that every stored entry is read once. */
async function replay(server: RunningServer, filled: number): Promise<void> {
  for (let done = 0; done < filled; done += CHUNK) {
    await runLoad({
      port: server.port,
      amount: Math.min(CHUNK, filled - done),
      connections: 10,
      distinctUrls: true,
      urlPrefix: `fill${done}-`,
    });
  }
}

function unavailableRow(name: string, reason: string, columns: number): string[] {
  return [name, ...Array<string>(columns - 2).fill('–'), `not available: ${reason}`];
}

async function perEntryRow(testCase: Case): Promise<string[]> {
  const started = await startServer(testCase.server, { exposeGc: true, env: SERVER_ENV });
  if (!started.ok) return unavailableRow(testCase.name, started.reason, 12);
  const server: RunningServer = started;
  try {
    // Warm up on one URL (one entry) so that JIT and framework caches are in the baseline.
    await runLoad({ port: server.port, amount: 5000, connections: 10 });
    const before = await server.memoryUsage();
    await server.resetOriginCalls();
    const { filled, failures, seconds, lastPrefix } = await fill(server);
    const after = await server.memoryUsage();
    const callsAfterFill = await server.originCalls();
    // A sample of the entries read back: a hit must not reach the origin, or the entry was not kept.
    const samples = [];
    samples.push(await httpGet(server.port, '/api/products?fill0-=1'));
    samples.push(await httpGet(server.port, `/api/products?${lastPrefix}=1`));
    const kept = (await server.originCalls()) === callsAfterFill;
    const perEntry = (after.heapUsed + after.external - before.heapUsed - before.external) / filled;
    // Then every entry read once (all hits): a store that keeps entries compact until they are
    // read shows here what entries that were read cost.
    await replay(server, filled);
    const afterRead = await server.memoryUsage();
    const readCalls = (await server.originCalls()) - callsAfterFill;
    const perReadEntry =
      (afterRead.heapUsed + afterRead.external - before.heapUsed - before.external) / filled;
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
      readCalls > 0 ? `${thousands(readCalls)} origin calls while reading back` : '',
    ]
      .filter(Boolean)
      .join('; ');
    console.log(
      `  ${testCase.name}: ${thousands(perEntry)} bytes per entry (${thousands(filled / seconds)} fills/s)`,
    );
    return [
      testCase.name,
      thousands(filled / seconds),
      fixed((after.rss - before.rss) / MiB, 0),
      fixed((after.heapUsed - before.heapUsed) / MiB, 0),
      fixed((after.external - before.external) / MiB, 0),
      `${thousands(perEntry)} (RSS ${thousands(rssPerEntry)})`,
      `${thousands(perEntry - body)}`,
      testCase.gatecache
        ? `${fixed(perEntry / stored, 2)}× of ${thousands(stored)}`
        : `${fixed(perEntry / stored, 2)}×`,
      `${thousands(perReadEntry)} (${fixed(perReadEntry / stored, 2)}×)`,
      notes,
    ];
  } finally {
    await server.stop();
  }
}

/**
 * The same overfill in a fresh server that is never made to collect garbage: its peak RSS over
 * the RSS it had right before the fill (after the same warm-up and no-store requests, so that
 * the young generation such traffic grows is in the baseline). Full GCs forced between chunks
 * hide how much garbage V8 lets pile up, and change what it does next: after one, V8 allocates
 * objects of some of a busy server's allocation sites straight in the old generation
 * (pretenuring), so more of each request's garbage waits for a major GC there.
 */
async function naturalPeak(
  testCase: Case,
  nodeFlags: readonly string[] = [],
  stored = true,
): Promise<number | undefined> {
  const started = await startServer(testCase.server, { env: SERVER_ENV, nodeFlags });
  if (!started.ok) return undefined;
  const server: RunningServer = started;
  try {
    await runLoad({ port: server.port, amount: 5000, connections: 10 });
    await warmUpUncached(server.port, UNCACHED_WARM_UP);
    await sleep(SETTLE_MS);
    const before = procStatus(server.pid, 'VmRSS');
    if (before === undefined || !resetPeakRss(server.pid)) return undefined;
    // `stored: false`: the fill's requests with `no-store`, so nothing is kept; the difference
    // between the two peaks is the cache's part of the peak, the rest the runtime's and the app's.
    if (stored) await fill(server);
    else await warmUpUncached(server.port, ENTRIES, 'fill');
    const peak = procStatus(server.pid, 'VmHWM');
    return peak === undefined ? undefined : peak - before;
  } finally {
    await server.stop();
  }
}

/**
 * Overfills a 64 MiB L1 and reads RSS after every chunk (after full GCs) and the process's peak
 * RSS (garbage included) at the end, both as growth over the RSS before the fill; then the peak
 * of the same fill with no forced GC (`naturalPeak`).
 */
async function boundedRow(testCase: Case): Promise<string[]> {
  const started = await startServer(testCase.server, { exposeGc: true, env: SERVER_ENV });
  if (!started.ok) return unavailableRow(testCase.name, started.reason, 14);
  const server: RunningServer = started;
  try {
    await runLoad({ port: server.port, amount: 5000, connections: 10 });
    // For reference: the peak that the same traffic reaches when nothing is stored.
    const idle = await settledMemory(server);
    const peakKnown = resetPeakRss(server.pid);
    await warmUpUncached(server.port, UNCACHED_WARM_UP);
    const uncachedPeak = peakKnown ? procStatus(server.pid, 'VmHWM')! - idle.rss : undefined;
    const before = await settledMemory(server);
    resetPeakRss(server.pid);
    const callsBefore = await server.originCalls();
    let highest = before.rss;
    let last = before;
    const { filled, failures } = await fill(server, async () => {
      last = await settledMemory(server);
      highest = Math.max(highest, last.rss);
    });
    const peak = peakKnown ? procStatus(server.pid, 'VmHWM') : undefined;
    const stores = (await server.originCalls()) - callsBefore;
    await server.stop();
    const natural = peakKnown ? await naturalPeak(testCase) : undefined;
    const unstored = peakKnown ? await naturalPeak(testCase, [], false) : undefined;
    const flagged = peakKnown ? await naturalPeak(testCase, BOUNDED_NODE_FLAGS) : undefined;
    const growth = highest - before.rss;
    const peakGrowth = peak === undefined ? undefined : peak - before.rss;
    // "Never above": the highest peak (garbage included) where the OS reports it, else the sampled
    // maximum.
    const judged = Math.max(peakGrowth ?? growth, natural ?? growth);
    const met = judged <= BOUNDED_RSS_LIMIT;
    const metFlagged = flagged === undefined ? undefined : flagged <= BOUNDED_RSS_LIMIT;
    const notes = [
      failures > 0 ? `${failures} failed requests` : '',
      filled < ENTRIES
        ? `only ${thousands(filled)} entries filled in ${FILL_LIMIT_MS / 1000} s`
        : '',
      peak === undefined ? 'peak RSS unknown here: judged on the sampled maximum' : '',
      stores < filled ? `only ${stores} origin calls` : '',
    ]
      .filter(Boolean)
      .join('; ');
    console.log(
      `  ${testCase.name}: RSS +${fixed(growth / MiB, 0)} MiB after GC, peak +${peakGrowth === undefined ? '?' : fixed(peakGrowth / MiB, 0)} MiB, ` +
        `+${natural === undefined ? '?' : fixed(natural / MiB, 0)} MiB with no forced GC ` +
        `(+${unstored === undefined ? '?' : fixed(unstored / MiB, 0)} MiB for the same requests stored nowhere), ` +
        `+${flagged === undefined ? '?' : fixed(flagged / MiB, 0)} MiB with ${BOUNDED_NODE_FLAGS.join(' ')} (limit ${fixed(BOUNDED_RSS_LIMIT / MiB, 1)} MiB)`,
    );
    return [
      testCase.name,
      thousands(filled),
      fixed((last.heapUsed + last.external - before.heapUsed - before.external) / MiB, 0),
      fixed(growth / MiB, 0),
      peakGrowth === undefined ? '–' : fixed(peakGrowth / MiB, 0),
      natural === undefined ? '–' : fixed(natural / MiB, 0),
      unstored === undefined ? '–' : fixed(unstored / MiB, 0),
      natural === undefined || unstored === undefined ? '–' : fixed((natural - unstored) / MiB, 0),
      uncachedPeak === undefined ? '–' : fixed(uncachedPeak / MiB, 0),
      fixed(BOUNDED_RSS_LIMIT / MiB, 1),
      met ? 'met' : 'NOT met',
      flagged === undefined ? '–' : fixed(flagged / MiB, 0),
      metFlagged === undefined ? '–' : metFlagged ? 'met' : 'NOT met',
      notes,
    ];
  } finally {
    await server.stop();
  }
}

export async function memory(): Promise<void> {
  console.log(`memory: ${thousands(ENTRIES)} distinct ~1 KB entries per cache, filled over HTTP`);
  const rows: string[][] = [];
  for (const testCase of selected(CASES)) rows.push(await perEntryRow(testCase));
  console.log(`memory: the same fill into a ${BOUNDED_L1_BYTES / MiB} MiB L1`);
  const boundedRows: string[][] = [];
  for (const testCase of selected(BOUNDED_CASES)) boundedRows.push(await boundedRow(testCase));
  const markdown = [
    `## Memory (${today()})`,
    '',
    `Machine: ${machineDescription()}.`,
    `Run: ${thousands(ENTRIES)} distinct URLs, each a ~1 KB JSON body of its own, stored through HTTP; memory read in ` +
      'the server process after two full GCs, before and after the fill, and again after every entry was read once. ' +
      'Per entry = (heap used + external) growth ÷ entries. ' +
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
        'per entry after one read of each',
        'notes',
      ],
      rows,
    ),
    '',
    `Bound: the same fill into a memory store of \`maxBytes\` ${BOUNDED_L1_BYTES / MiB} MiB (about twice what fits). ` +
      `The baseline is read after ${thousands(UNCACHED_WARM_UP)} distinct requests sent with \`Cache-Control: no-store\` ` +
      '(the same work, nothing stored), so that what the runtime keeps for that traffic anyway is not counted as the cache. ' +
      `RSS read ${SETTLE_MS} ms after two full GCs after every 10,000 entries, and the peak RSS of the process during the fill ` +
      '(Linux VmHWM, reset at the baseline; garbage included), both as growth over the baseline. ' +
      'Then the same fill in a fresh server that is never made to collect garbage, its peak over the RSS it had right before the fill ' +
      '(after the same warm-up): the GCs forced between chunks above both free garbage early and make V8 allocate more of each ' +
      "request's objects in the old generation, where they wait for a major GC. Goal: never above the L1 size plus 20%, " +
      'judged on the higher peak. Last, that fill once more with Node started with ' +
      `\`${BOUNDED_NODE_FLAGS.join(' ')}\`, ` +
      'heap limits for a process meant to stay within the cache\'s budget (packages/core/README.md, "Bounding the process\' memory"). ' +
      "To tell the cache's part of the peak from the runtime's and the framework's, the never-collected fill runs once more in a fresh server " +
      'with every request sent with `Cache-Control: no-store` (the same requests through the same middleware, nothing stored): the difference of the two peaks is what storing added. ' +
      'For reference, the peak that the ' +
      `${thousands(UNCACHED_WARM_UP)} no-store requests reached over the RSS before them.`,
    '',
    markdownTable(
      [
        'Cache',
        'entries sent',
        'heap + external +MiB (end)',
        'RSS +MiB (highest after GC)',
        'peak RSS +MiB',
        'peak RSS +MiB, no forced GC',
        'the same, the requests sent with no-store',
        "the cache's part (difference)",
        'peak RSS +MiB, same traffic not stored',
        'limit MiB',
        'RSS ≤ L1 size + 20%',
        'peak RSS +MiB, no forced GC, with the heap flags above',
        'within the limit with those flags',
        'notes',
      ],
      boundedRows,
    ),
  ].join('\n');
  console.log(`\n${markdown}\n`);
  if (ONLY.length > 0) {
    console.log('not saved: BENCH_MEMORY_CASES ran only some of the cases');
    return;
  }
  console.log(`saved to ${saveSection('memory', markdown)}`);
}
