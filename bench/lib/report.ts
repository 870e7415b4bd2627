/**
 * Tables for the terminal and for RESULTS.md. Each mode owns one section of RESULTS.md between
 * markers, so running one mode leaves the others' last results in place.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PINNING } from './pinning.ts';

export type Cell = string | number;

export function markdownTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly Cell[]>,
): string {
  const text = rows.map((row) => row.map(String));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...text.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...text.map(line)].join(
    '\n',
  );
}

// Read when the run starts: it says whether other work shared the machine while the bench ran.
const LOAD_AT_START = loadavg()[0];

export function machineDescription(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
  const gib = (totalmem() / 1024 ** 3).toFixed(0);
  const pinning = PINNING ? 'servers pinned to core 1, load generator to core 0' : 'no CPU pinning';
  const load = LOAD_AT_START?.toFixed(1) ?? '?';
  return `${cpu}, ${cpus().length} cores, ${gib} GiB, Node ${process.version}, ${process.platform}; ${pinning}; load average ${load} at start`;
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url));
const TITLE =
  '# gatecache benchmark results\n\nWritten by `pnpm bench`; see README.md in this folder for what each row means.\n';

/** Replaces this mode's section of RESULTS.md (or appends it), keeping the other sections. */
export function saveSection(mode: string, markdown: string): string {
  let text: string;
  try {
    text = readFileSync(RESULTS, 'utf8');
  } catch {
    text = TITLE;
  }
  const start = `<!-- bench:${mode}:start -->`;
  const end = `<!-- bench:${mode}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  text =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(RESULTS, text);
  return RESULTS;
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export function thousands(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–';
}
