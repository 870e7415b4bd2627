/** Reloading a configuration file when it changes or on SIGHUP, keeping the last valid one. */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { invalidOption } from '../errors.ts';
import { ConfigError } from './config-error.ts';
import { parseConfig, type LoadConfigOptions } from './parse.ts';
import type { LoadedConfig } from './schema.ts';

export interface WatchConfigOptions extends LoadConfigOptions {
  /** Runs with the new configuration after a change that validated. */
  readonly onChange: (config: LoadedConfig, previous: LoadedConfig) => void;
  /** Runs when a changed file is invalid or unreadable; the previous configuration stays. */
  readonly onError?: (error: Error) => void;
  /**
   * Also reload on SIGHUP, as daemons do (default false). A SIGHUP listener replaces Node's default
   * of exiting on SIGHUP for the whole process until `close()`.
   */
  readonly sighup?: boolean;
  /** Milliseconds to gather a burst of file events (editors write in steps); default 100. */
  readonly debounceMs?: number;
}

export interface ConfigWatcher {
  /** The last configuration that validated. */
  readonly current: LoadedConfig;
  /** Reads the file now; resolves with the new configuration, rejects (keeping the old) if invalid. */
  reload(): Promise<LoadedConfig>;
  /** Stops watching and removes the SIGHUP listener. */
  close(): void;
}

/**
 * Loads a configuration file and watches it. The directory is watched rather than the file, so a
 * file replaced by rename (how most editors and Kubernetes ConfigMaps update) is still followed.
 * Resolves once the first load validated; rejects with its `ConfigError` otherwise.
 */
export async function watchConfigFile(
  path: string,
  options: WatchConfigOptions,
): Promise<ConfigWatcher> {
  if (typeof options.onChange !== 'function')
    throw invalidOption('onChange', options.onChange, 'a function');
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalidOption('onError', options.onError, 'a function');
  }
  const debounceMs = options.debounceMs ?? 100;
  if (!Number.isFinite(debounceMs) || debounceMs < 0) {
    throw invalidOption('debounceMs', debounceMs, 'a number of milliseconds ≥ 0');
  }
  const file = resolve(path);
  const parseOptions = {
    source: path,
    ...(options.format !== undefined && { format: options.format }),
    ...(options.env !== undefined && { env: options.env }),
  };
  const read = async (): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError(
        path,
        '(file)',
        `cannot be read: ${(error as Error).message}`,
        undefined,
        { cause: error },
      );
    }
  };

  let lastText = await read();
  let current = parseConfig(lastText, parseOptions);
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const report = (error: unknown) => {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (options.onError) options.onError(failure);
  };

  /** Serialized: two reloads never interleave. `force` reloads even when the text is unchanged. */
  const load = (force: boolean): Promise<LoadedConfig> => {
    const run = queue.then(async () => {
      const text = await read();
      if (!force && text === lastText) return current;
      const next = parseConfig(text, parseOptions);
      lastText = text;
      const previous = current;
      current = next;
      if (!closed) options.onChange(next, previous);
      return next;
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const scheduled = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      load(false).catch(report);
    }, debounceMs);
  };

  const name = basename(file);
  let watcher: FSWatcher | undefined = watch(
    dirname(file),
    { persistent: true },
    (_event, changed) => {
      if (changed === null || changed === name) scheduled();
    },
  );
  watcher.on('error', report);

  const onSighup = () => {
    load(true).catch(report);
  };
  if (options.sighup === true) process.on('SIGHUP', onSighup);

  return {
    get current() {
      return current;
    },
    reload: () => load(true),
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
      if (options.sighup === true) process.off('SIGHUP', onSighup);
    },
  };
}
