/**
 * Tag purge: time to invalidate one tag over 100,000 tagged entries. It needs a purge-by-tag API from
 * gatecache; until one is exported, the mode records that it is not available yet.
 */
import { importOptional } from '../lib/optional-import.ts';
import { machineDescription, saveSection, today } from '../lib/report.ts';

const CANDIDATES = ['createInvalidation', 'invalidateTags', 'purgeTags'];

export async function tagPurge(): Promise<void> {
  const found: string[] = [];
  for (const specifier of ['@gatecache/core', '@gatecache/express']) {
    for (const name of CANDIDATES) {
      if ((await importOptional(specifier, [name])).ok) found.push(`${specifier} ${name}`);
    }
  }
  const status =
    found.length === 0
      ? 'not available yet: gatecache exports no tag purge API (looked for ' +
        CANDIDATES.join(', ') +
        ').'
      : `not available yet: found ${found.join(', ')}, but this mode is not written against it yet.`;
  const markdown = [
    `## Tag purge (${today()})`,
    '',
    `Machine: ${machineDescription()}.`,
    '',
    status,
  ].join('\n');
  console.log(`\n${markdown}\n`);
  console.log(`saved to ${saveSection('tag-purge', markdown)}`);
}
