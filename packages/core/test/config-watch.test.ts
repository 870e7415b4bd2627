import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  watchConfigFile,
  type ConfigWatcher,
  type LoadedConfig,
} from '@gatecache/core/config';

const valid = (ttl: number) => `cache:\n  policies:\n    - pattern: /api/**\n      ttl: ${ttl}\n`;
const invalid = 'cache:\n  policies:\n    - pattern: /api/**\n      ttl: soon\n';

/** Collects callbacks as promises to await, instead of sleeping. */
function events() {
  const changes: LoadedConfig[] = [];
  const errors: Error[] = [];
  let wake: (() => void) | undefined;
  const notify = () => wake?.();
  return {
    changes,
    errors,
    onChange: (config: LoadedConfig) => {
      changes.push(config);
      notify();
    },
    onError: (error: Error) => {
      errors.push(error);
      notify();
    },
    async until(check: () => boolean): Promise<void> {
      while (!check()) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

describe('watchConfigFile', () => {
  let dir: string;
  let file: string;
  let watcher: ConfigWatcher | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatecache-config-'));
    file = join(dir, 'gatecache.yaml');
    await writeFile(file, valid(60));
  });

  afterEach(async () => {
    watcher?.close();
    watcher = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('applies a valid change, then rejects an invalid one and keeps the last valid config', async () => {
    const seen = events();
    watcher = await watchConfigFile(file, { ...seen, debounceMs: 20 });
    expect(watcher.current.rules[0]?.ttl).toBe(60);

    await writeFile(file, valid(120));
    await seen.until(() => seen.changes.length === 1);
    expect(seen.changes[0]?.rules[0]?.ttl).toBe(120);
    expect(watcher.current.rules[0]?.ttl).toBe(120);

    await writeFile(file, invalid);
    await seen.until(() =>
      seen.errors.some((e) => (e as ConfigError).path === 'cache.policies[0].ttl'),
    );
    const error = seen.errors.find((e) => (e as ConfigError).path === 'cache.policies[0].ttl');
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('cache.policies[0].ttl');
    expect(error?.message).toContain(file);
    expect(watcher.current.rules[0]?.ttl).toBe(120);
    expect(seen.changes).toHaveLength(1);
  });

  it('follows a file replaced by rename, as editors and ConfigMaps do', async () => {
    const seen = events();
    watcher = await watchConfigFile(file, { ...seen, debounceMs: 20 });
    const staged = join(dir, 'staged.tmp');
    await writeFile(staged, valid(300));
    await rename(staged, file);
    await seen.until(() => seen.changes.length === 1);
    expect(watcher.current.rules[0]?.ttl).toBe(300);
  });

  it('reload() resolves with a valid file and rejects an invalid one, keeping the old', async () => {
    const seen = events();
    watcher = await watchConfigFile(file, { ...seen, debounceMs: 60_000 });
    await writeFile(file, valid(90));
    expect((await watcher.reload()).rules[0]?.ttl).toBe(90);
    await writeFile(file, invalid);
    await expect(watcher.reload()).rejects.toThrow(/cache\.policies\[0\]\.ttl/);
    expect(watcher.current.rules[0]?.ttl).toBe(90);
  });

  it('reloads on SIGHUP when asked, and stops listening on close', async () => {
    const seen = events();
    const before = process.listenerCount('SIGHUP');
    watcher = await watchConfigFile(file, { ...seen, sighup: true, debounceMs: 60_000 });
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    await writeFile(file, valid(45));
    process.kill(process.pid, 'SIGHUP');
    await seen.until(() => seen.changes.some((c) => c.rules[0]?.ttl === 45));
    expect(watcher.current.rules[0]?.ttl).toBe(45);
    watcher.close();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });

  it('an invalid file at start rejects with its error', async () => {
    await writeFile(file, invalid);
    await expect(watchConfigFile(file, { onChange: () => undefined })).rejects.toThrow(ConfigError);
  });

  it('validates its options', async () => {
    await expect(watchConfigFile(file, { onChange: 'x' as never })).rejects.toThrow(/onChange/);
  });
});
