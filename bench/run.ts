/**
 * `pnpm bench` entry point. Modes: (none) throughput table, `--stampede`, `--memory`, `--tag-purge`.
 * Everything it starts (servers, redis-server) it stops, and every loop is bounded.
 */
import { buildPackages } from './lib/build.ts';
import { pinSelf } from './lib/pinning.ts';
import { memory } from './modes/memory.ts';
import { stampede } from './modes/stampede.ts';
import { tagPurge } from './modes/tag-purge.ts';
import { throughput } from './modes/throughput.ts';

const modes: Record<string, () => Promise<void>> = {
  '--stampede': stampede,
  '--memory': memory,
  '--tag-purge': tagPurge,
};

const flags = process.argv.slice(2).filter((arg) => arg !== '--');
const unknown = flags.filter((flag) => !(flag in modes));
if (unknown.length > 0) {
  console.error(
    `unknown option ${unknown.join(' ')}; use one of: (none), ${Object.keys(modes).join(', ')}`,
  );
  process.exit(2);
}

const started = Date.now();
buildPackages();
pinSelf();
const selected = flags.length === 0 ? [throughput] : flags.map((flag) => modes[flag]!);
try {
  for (const mode of selected) await mode();
} finally {
  console.log(`bench finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
process.exit(0);
