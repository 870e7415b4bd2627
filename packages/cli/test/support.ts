import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in process with captured output. */
export async function cli(
  argv: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env,
  });
  return { code, stdout, stderr };
}

/** A temporary directory with the given files; `dispose` removes it. */
export function tempFiles(files: Record<string, string>): {
  path: (name: string) => string;
  dispose: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'gatecache-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return {
    path: (name) => join(dir, name),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const CONFIG_YAML = `cache:
  layers:
    l1:
      type: in_memory
      max_size: 1MB
      max_entries: 1000
  policies:
    - name: products
      pattern: /products/*
      ttl: 60s
      tags: ["products"]
    - name: me
      pattern: /me
      classification: personal
    - name: payments
      pattern: /payments/**
      classification: sensitive
    - name: search
      pattern: /search
      ttl: 30s
      vary_by:
        headers: [accept-language]
`;
