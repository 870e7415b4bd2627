import { loadConfigFile } from '@gatecache/core/config';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { redisConnectionFromConfig } from '../src/index.ts';

describe("the seed's redis block", () => {
  it('maps cluster nodes and timeouts onto connection options', async () => {
    const path = fileURLToPath(
      new URL('../../core/test/fixtures/seed-redis.yaml', import.meta.url),
    );
    const loaded = await loadConfigFile(path);
    expect(loaded.redis).toBeDefined();
    expect(redisConnectionFromConfig(loaded.redis!)).toEqual({
      cluster: { nodes: ['redis-1:6379', 'redis-2:6379', 'redis-3:6379'] },
      connectTimeout: 5000,
      commandTimeout: 3000,
    });
  });

  it('uses the URL when no cluster is enabled', () => {
    expect(redisConnectionFromConfig({ url: 'redis://127.0.0.1:6380' })).toEqual({
      url: 'redis://127.0.0.1:6380',
    });
    expect(redisConnectionFromConfig({}, 'redis://fallback:6379')).toEqual({
      url: 'redis://fallback:6379',
    });
  });
});
