import { invalidOption } from '@gatecache/core';
import {
  epochField,
  parseEpochField,
  type EpochRecord,
  type EpochStore,
} from '@gatecache/core/invalidation';
import {
  closeOwned,
  resolveClient,
  type OwnedClient,
  type RedisClient,
  type RedisConnectionOptions,
} from './client.ts';

export interface RedisEpochStoreOptions extends RedisConnectionOptions {
  /** The engine's namespace: one hash per namespace. */
  readonly namespace?: string;
  /** The hash's key. Default `gc1-epochs:<namespace>`, outside the `gc1:<namespace>:` keys that clear() and pattern purges scan. */
  readonly key?: string;
}

export interface RedisEpochStore extends EpochStore {
  readonly key: string;
  close(): Promise<void>;
}

/** Keeps, per field, the larger of the stored and the given time: racing purges never go back. */
const SAVE_MAX = `
for i = 1, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  if current == nil or current < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1`;

const PRUNE = `
local fields = redis.call('HGETALL', KEYS[1])
local removed = 0
for i = 1, #fields, 2 do
  if tonumber(fields[i + 1]) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], fields[i])
    removed = removed + 1
  end
end
return removed`;

/**
 * Purge epochs of a fleet in one Redis hash. One key, so a Cluster serves it from one slot and a
 * save is atomic (a script): what an instance reloads at start or after a bus reset is complete.
 */
export function createRedisEpochStore(options: RedisEpochStoreOptions): RedisEpochStore {
  const namespace = options.namespace ?? 'default';
  if (typeof namespace !== 'string' || !/^[\w.-]{1,64}$/.test(namespace)) {
    throw invalidOption('namespace', options.namespace, "the engine's namespace");
  }
  const key = options.key ?? `gc1-epochs:${namespace}`;
  if (typeof key !== 'string' || key === '')
    throw invalidOption('key', options.key, 'a non-empty string');
  const connection: OwnedClient = resolveClient(options, 'createRedisEpochStore');
  const { client } = connection;
  const readyWithin = options.connectTimeout ?? 1_000;
  return {
    key,
    async load() {
      // Loading at start is worth a short wait for the connection (no offline queue otherwise).
      await ready(client, readyWithin);
      const fields = await client.hgetall(key);
      const records: EpochRecord[] = [];
      for (const [field, value] of Object.entries(fields)) {
        const record = parseEpochField(field, value);
        if (record !== undefined) records.push(record);
      }
      return records;
    },
    async save(records) {
      if (records.length === 0) return;
      const args: string[] = [];
      for (const record of records) args.push(epochField(record), String(record.at));
      await client.eval(SAVE_MAX, 1, key, ...args);
    },
    async prune(before) {
      await client.eval(PRUNE, 1, key, String(before));
    },
    close: () => closeOwned(connection),
  };
}

function ready(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    client.once('ready', done);
  });
}
