/**
 * `gatecache bigkeys`: the largest cache keys in Redis and the memory by key group, found with
 * SCAN (in batches, never KEYS, which blocks the server) and MEMORY USAGE. Private (per-user) keys
 * are shown by a digest only.
 */
import { displayKey } from '@gatecache/core/metrics';
import { Redis } from 'ioredis';

export interface BigKeysOptions {
  /** `redis://host:port/db`. */
  readonly url: string;
  /** SCAN MATCH pattern. Default `gc1:*` (the Redis store's prefix). */
  readonly match?: string;
  readonly top?: number;
  /** Keys per SCAN step. Default 500. */
  readonly count?: number;
  /** Stop after this many keys (0: all). Default 0. */
  readonly limit?: number;
}

export interface BigKey {
  readonly key: string;
  readonly bytes: number;
  readonly ttlMs: number;
}

export interface BigKeysReport {
  readonly scanned: number;
  readonly totalBytes: number;
  readonly top: readonly BigKey[];
  /** Bytes and keys per group: namespace and first path segment (`default /products`). */
  readonly groups: ReadonlyArray<{
    readonly group: string;
    readonly keys: number;
    readonly bytes: number;
  }>;
}

/** `gc1:gc1:ns:host/products/1?x` → `ns host/products` (private keys grouped the same way). */
export function groupOf(key: string): string {
  const match = /^(?:[^:]*:)?gc\d+:([^:]*):([^/ ]*)(\/[^/? ]*)?/.exec(key);
  if (match === null) return 'other';
  return `${match[1]} ${match[2]}${match[3] ?? '/'}`;
}

export async function bigKeys(options: BigKeysOptions): Promise<BigKeysReport> {
  const client = new Redis(options.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
  });
  await client.connect();
  try {
    const top: BigKey[] = [];
    const topN = options.top ?? 20;
    const groups = new Map<string, { keys: number; bytes: number }>();
    let scanned = 0;
    let totalBytes = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(
        cursor,
        'MATCH',
        options.match ?? 'gc1:*',
        'COUNT',
        options.count ?? 500,
      );
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = client.pipeline();
      for (const key of keys) {
        pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
        pipeline.pttl(key);
      }
      const results = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const bytes = Number(results[i * 2]?.[1] ?? 0);
        const ttlMs = Number(results[i * 2 + 1]?.[1] ?? -1);
        // A key deleted between SCAN and MEMORY USAGE reads as null: skip it.
        if (!(bytes > 0)) return;
        scanned++;
        totalBytes += bytes;
        const group = groupOf(key);
        const slot = groups.get(group) ?? { keys: 0, bytes: 0 };
        slot.keys++;
        slot.bytes += bytes;
        groups.set(group, slot);
        if (top.length < topN || bytes > top[top.length - 1]!.bytes) {
          top.push({ key: displayKey(key), bytes, ttlMs });
          top.sort((a, b) => b.bytes - a.bytes);
          if (top.length > topN) top.pop();
        }
      });
      if (options.limit !== undefined && options.limit > 0 && scanned >= options.limit) break;
    } while (cursor !== '0');
    return {
      scanned,
      totalBytes,
      top,
      groups: [...groups.entries()]
        .map(([group, g]) => ({ group, keys: g.keys, bytes: g.bytes }))
        .sort((a, b) => b.bytes - a.bytes),
    };
  } finally {
    client.disconnect();
  }
}
