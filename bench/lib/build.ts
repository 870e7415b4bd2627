/**
 * The bench measures the packages as users run them: the JavaScript that `tsc` emits into each
 * package's `dist`, not the TypeScript sources through tsx (whose esbuild transform keeps function
 * names with a helper call each time a closure is created, a cost no published build has).
 * Servers start with `--conditions=gatecache-built`, which the workspace packages' `exports` map
 * to `dist`. `BENCH_SOURCE=1` runs the sources instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGES = ['core', 'express', 'koa', 'hono', 'redis'];
const STAMP = '.bench-build';

export const FROM_SOURCE = process.env.BENCH_SOURCE === '1';

/** Node arguments that make the workspace packages resolve to their build. */
export function builtConditions(): string[] {
  return FROM_SOURCE ? [] : ['--conditions=gatecache-built'];
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds every package whose sources changed since its last bench build. */
export function buildPackages(): void {
  if (FROM_SOURCE) {
    console.log('BENCH_SOURCE=1: the servers run the TypeScript sources through tsx');
    return;
  }
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  for (const name of PACKAGES) {
    const dir = join(ROOT, 'packages', name);
    const stamp = join(dir, 'dist', STAMP);
    const sources = Math.max(
      newestSource(join(dir, 'src')),
      statSync(join(dir, 'package.json')).mtimeMs,
    );
    if (existsSync(stamp) && statSync(stamp).mtimeMs >= sources) continue;
    console.log(`building @gatecache/${name} (tsc) for the bench…`);
    execFileSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
  }
}
