import type { CacheWarmingConfig } from '../config/schema.ts';

/** The warmer options the seed's `cache_warming` block stands for. */
export interface WarmingSettings {
  readonly enabled: boolean;
  readonly schedule?: string;
  readonly paths: readonly string[];
  readonly topK?: number;
  /** Strategies that are not run, each with the reason (logged when the warmer starts). */
  readonly skipped: readonly string[];
}

/**
 * Maps a loaded `cache_warming` block onto warmer options:
 * `createWarmer({ cache, run, ...fromConfig(loaded.cacheWarming) })`.
 *
 * - `static_content` paths are warmed every run;
 * - `popular_endpoints` warms the `limit` most requested paths the warmer learned from traffic
 *   (feed it with `trafficRecorder` or `recordRequest`); other `source`s have no reader here;
 * - `user_specific` is not run from configuration: per-user data is warmed only from an explicit
 *   list of users (`users` option), never by guessing who logs in often.
 */
export function fromConfig(config: CacheWarmingConfig | undefined): WarmingSettings {
  if (config === undefined) return { enabled: false, paths: [], skipped: [] };
  const paths: string[] = [];
  const skipped: string[] = [];
  let topK: number | undefined;
  for (const strategy of config.strategies) {
    switch (strategy.type) {
      case 'static_content':
        paths.push(...strategy.paths);
        break;
      case 'popular_endpoints':
        topK = Math.max(topK ?? 0, strategy.limit ?? 100);
        if (strategy.source !== 'analytics' && strategy.source !== 'traffic') {
          skipped.push(
            `gatecache warming: popular_endpoints source "${strategy.source}" is read from live traffic instead`,
          );
        }
        break;
      case 'user_specific':
        skipped.push(
          'gatecache warming: user_specific is not run from configuration; pass the users to warm in the `users` option',
        );
        break;
      default:
        strategy satisfies never;
    }
  }
  return {
    enabled: config.enabled,
    ...(config.schedule === undefined ? {} : { schedule: config.schedule }),
    paths: [...new Set(paths)],
    ...(topK === undefined ? {} : { topK }),
    skipped,
  };
}
