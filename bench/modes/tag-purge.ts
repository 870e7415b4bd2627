/**
 * Tag purge: fill an Express gatecache engine (read-time tag invalidation from
 * `@gatecache/core/invalidation`) with 100,000 entries, each tagged `products` and one of 100
 * `group-N` tags, then time `invalidateTags` inside the server for one group (1% of the entries)
 * and for `products` (all of them), and check over HTTP that purged entries miss and others hit.
 */
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

const ENTRIES = Number(process.env.BENCH_TAG_ENTRIES ?? 100_000);
const CHUNK = 10_000;
const FILL_LIMIT_MS = Number(process.env.BENCH_MEMORY_FILL_LIMIT_MS ?? 90_000);

export async function tagPurge(): Promise<void> {
  console.log(`tag purge: ${thousands(ENTRIES)} tagged entries in one engine`);
  const started = await startServer(
    { file: 'express-gatecache.ts', variant: 'tags' },
    { env: { BENCH_ORIGIN_DELAY_MS: '0', BENCH_MAX_AGE: '3600' } },
  );
  let markdown: string;
  if (!started.ok) {
    markdown = `not available yet: ${started.reason}`;
  } else {
    const server = started;
    try {
      const begin = Date.now();
      let filled = 0;
      while (filled < ENTRIES && Date.now() - begin < FILL_LIMIT_MS) {
        const amount = Math.min(CHUNK, ENTRIES - filled);
        // `?n=K` URLs: entry K carries group-(K mod 100).
        await runLoad({
          port: server.port,
          amount,
          connections: 10,
          distinctUrls: true,
          urlPrefix: 'n',
          firstIndex: filled + 1,
        });
        filled += amount;
      }
      markdown = await measure(server, filled);
    } finally {
      await server.stop();
    }
  }
  const section = [
    `## Tag purge (${today()})`,
    '',
    `Machine: ${machineDescription()}.`,
    '',
    markdown,
  ].join('\n');
  console.log(`\n${section}\n`);
  console.log(`saved to ${saveSection('tag-purge', section)}`);
}

async function measure(
  server: Extract<Awaited<ReturnType<typeof startServer>>, { ok: true }>,
  filled: number,
): Promise<string> {
  const calls = async (): Promise<number> => server.originCalls();
  const hit = async (n: number): Promise<boolean> => {
    const before = await calls();
    await httpGet(server.port, `/api/products?n=${n}`);
    return (await calls()) === before;
  };
  const rows: string[][] = [];
  const checks: string[] = [];
  if (!(await hit(7)) || !(await hit(8))) checks.push('entries were not cached before the purge');
  const group = await server.purgeTags(['group-7']);
  rows.push(['group-7', thousands(filled / 100), fixed(group.ms, 2), group.error ?? '']);
  if (await hit(107)) checks.push('an entry of group-7 still hit after its purge');
  if (!(await hit(8))) checks.push('an entry of group-8 missed after group-7 was purged');
  const all = await server.purgeTags(['products']);
  rows.push(['products', thousands(filled), fixed(all.ms, 2), all.error ?? '']);
  if (await hit(208)) checks.push('an entry tagged products still hit after its purge');
  return [
    `Run: ${thousands(filled)} entries filled over HTTP (each tagged \`products\` and one of 100 ` +
      '`group-N`), then `invalidateTags` timed inside the server process; purged entries checked ' +
      'to miss and others to hit over HTTP.',
    '',
    markdownTable(['Tag purged', 'entries carrying it', 'purge time (ms)', 'error'], rows),
    '',
    checks.length === 0
      ? 'Checks: purged entries missed, the others hit.'
      : `Checks failed: ${checks.join('; ')}.`,
  ].join('\n');
}
