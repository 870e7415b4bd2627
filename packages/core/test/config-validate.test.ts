import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig, validateConfig } from '@gatecache/core/config';

const fixtures = join(import.meta.dirname, 'fixtures');
const env = { REDIS_URL: 'redis://cache:6379', RABBITMQ_URL: 'amqp://mq:5672' };

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('seed configuration blocks load as written', () => {
  it('cache (layers and policies)', async () => {
    const config = await loadConfigFile(join(fixtures, 'seed-gateway-cache.yaml'), { env });
    expect(config.cache.layers.l1).toEqual({
      type: 'in_memory',
      maxSizeBytes: 100 * 1024 * 1024,
      maxEntries: 10_000,
      ttlDefault: 300,
    });
    expect(config.cache.layers.l2).toEqual({
      type: 'redis',
      connection: 'redis://cache:6379',
      ttlDefault: 3600,
      compression: true,
      serializer: 'json',
    });
    expect(config.rules.map((r) => r.origin)).toEqual([
      'cache.policies[0]',
      'cache.policies[1]',
      'cache.policies[2]',
      'cache.policies[3]',
    ]);
  });

  it('response_cache', async () => {
    const config = await loadConfigFile(join(fixtures, 'seed-response-cache.yaml'), { env });
    expect(config.cache.enabled).toBe(true);
    expect(config.cache.defaults).toEqual({ ttl: 300 });
    expect(config.rules[0]).toMatchObject({
      origin: 'response_cache.rules[0]',
      pattern: '/api/products',
      methods: ['GET'],
      ttl: 1800,
      varyHeaders: ['accept-language', 'x-tenant-id'],
    });
    expect(config.rules[1]).toMatchObject({ pattern: '/api/users/*/profile', private: true });
  });

  it('redis, invalidation, cache_warming, cache_monitoring are validated and kept', async () => {
    const names = ['redis', 'invalidation', 'cache-warming', 'cache-monitoring'];
    const text = (
      await Promise.all(names.map((n) => readFile(join(fixtures, `seed-${n}.yaml`), 'utf8')))
    ).join('\n');
    const config = parseConfig(text, { source: 'seed.yaml', env });
    expect(config.redis).toEqual({
      cluster: { enabled: true, nodes: ['redis-1:6379', 'redis-2:6379', 'redis-3:6379'] },
      connectionPool: {
        maxConnections: 20,
        maxIdleConnections: 5,
        connectionTimeout: 5,
        readTimeout: 3,
      },
      persistence: { enabled: true, saveInterval: [{ seconds: 300, changes: 10 }] },
      memory: { maxMemoryBytes: 2 * 1024 ** 3, evictionPolicy: 'allkeys-lru' },
    });
    expect(config.invalidation?.strategies?.eventBased?.eventSources).toEqual([
      { type: 'webhook', endpoint: '/cache/invalidate', authentication: 'bearer_token' },
      { type: 'message_queue', queue: 'cache_events', connection: 'amqp://mq:5672' },
    ]);
    // Event templates keep `${user_id}`: they name event fields, not environment variables.
    expect(config.invalidation?.rules[0]).toEqual({
      event: 'user.profile.updated',
      action: 'invalidate_tags',
      tags: ['user:${user_id}'],
    });
    expect(config.invalidation?.rules[2]).toMatchObject({ action: 'invalidate_all' });
    expect(config.cacheWarming).toMatchObject({ enabled: true, schedule: '0 */6 * * *' });
    expect(config.cacheWarming?.strategies[2]).toEqual({
      type: 'user_specific',
      condition: 'login_frequency > 10/day',
      dataTypes: ['profile', 'preferences'],
    });
    expect(config.cacheMonitoring?.metrics).toEqual({
      hitRate: { alertThreshold: 0.5 },
      memoryUsage: { warningThreshold: 0.8, criticalThreshold: 0.9 },
      responseTime: { p95Threshold: 0.05, p99Threshold: 0.1 },
    });
    expect(config.cacheMonitoring?.dashboards[0]?.panels).toHaveLength(4);
  });

  it('the same configuration loads from JSON', () => {
    const json = JSON.stringify({
      cache: { policies: [{ pattern: '/api/config/**', ttl: '1d', tags: ['config'] }] },
    });
    const config = parseConfig(json, { source: 'gatecache.json' });
    expect(config.rules[0]).toMatchObject({ ttl: 86_400, tags: ['config'] });
  });
});

describe('validation errors name the file, the field path and the bad value', () => {
  const yaml = (body: string) => parseConfig(body, { source: 'gateway.yaml', env });

  it('a bad TTL in the third policy', () => {
    const error = configError(() =>
      yaml(`cache:
  policies:
    - pattern: /a
    - pattern: /b
    - pattern: /c
      ttl: 5 minutes
`),
    );
    expect(error.code).toBe('ERR_INVALID_CONFIG');
    expect(error.source).toBe('gateway.yaml');
    expect(error.path).toBe('cache.policies[2].ttl');
    expect(error.line).toBe(6);
    expect(error.message).toMatch(/^\[gatecache\] gateway\.yaml:6:\d+: cache\.policies\[2\]\.ttl/);
    expect(error.message).toContain('"5 minutes"');
  });

  it('an unknown key is an error, with a suggestion', () => {
    const typo = configError(() => yaml('cache:\n  policies:\n    - pattern: /a\n      tll: 60\n'));
    expect(typo.path).toBe('cache.policies[0].tll');
    expect(typo.message).toMatch(/did you mean "ttl"/);
    const camel = configError(() => validateConfig({ cache: { policies: [{ varyBy: ['a'] }] } }));
    expect(camel.message).toMatch(/did you mean "vary_by"/);
    expect(configError(() => yaml('cahce: {}\n')).path).toBe('cahce');
    expect(configError(() => yaml('redis:\n  clustr: {}\n')).path).toBe('redis.clustr');
  });

  it('an empty file is an error, not a configuration without rules', () => {
    expect(configError(() => yaml('# nothing yet\n')).message).toMatch(
      /gateway\.yaml: \(root\) is empty/,
    );
  });

  it('a YAML syntax error names the line', () => {
    const error = configError(() => yaml('cache:\n  policies: [\n'));
    expect(error.message).toMatch(/gateway\.yaml:\d+:\d+: \(root\) is not valid YAML/);
  });

  it('an unset environment variable names the variable and the field', () => {
    const error = configError(() =>
      parseConfig('cache:\n  layers:\n    l2:\n      type: redis\n      connection: ${NOT_SET}\n', {
        source: 'gateway.yaml',
        env: {},
      }),
    );
    expect(error.path).toBe('cache.layers.l2.connection');
    expect(error.message).toContain('NOT_SET');
  });

  it('whole-value variables become numbers and booleans where the field needs one', () => {
    const config = parseConfig(
      'cache:\n  layers:\n    l1: { type: in_memory, max_entries: "${N}", max_size: "${S:-1MB}" }\n  policies:\n    - { pattern: /a, private: "${P}" }\n',
      { env: { N: '500', P: 'true' } },
    );
    expect(config.cache.layers.l1).toMatchObject({ maxEntries: 500, maxSizeBytes: 1024 * 1024 });
    expect(config.rules[0]?.private).toBe(true);
  });

  it.each([
    ['cache:\n  policies:\n    - { pattern: /a, layers: [l3] }\n', 'cache.policies[0].layers[0]'],
    [
      'cache:\n  layers: { l1: { type: in_memory } }\n  policies:\n    - { pattern: /a, layers: [l2] }\n',
      'cache.policies[0].layers[0]',
    ],
    ['cache:\n  policies:\n    - { pattern: api/x }\n', 'cache.policies[0].pattern'],
    ['cache:\n  policies:\n    - { pattern: /a, path: /a }\n', 'cache.policies[0].path'],
    ['cache:\n  policies:\n    - { pattern: /a, cache: "no" }\n', 'cache.policies[0].cache'],
    ['cache:\n  policies:\n    - { pattern: /a, ttl: }\n', 'cache.policies[0].ttl'],
    ['cache:\n  policies:\n    - { pattern: /a, override: true }\n', 'cache.policies[0].override'],
    [
      'cache:\n  policies:\n    - { pattern: /a, tags: ["user:{id}"] }\n',
      'cache.policies[0].tags[0]',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, statuses: [200, 700] }\n',
      'cache.policies[0].statuses[1]',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, content_types: [json] }\n',
      'cache.policies[0].content_types[0]',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, classification: secret }\n',
      'cache.policies[0].classification',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, classification: sensitive, cache: true }\n',
      'cache.policies[0].cache',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, private: false, vary_by: [Authorization] }\n',
      'cache.policies[0].private',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, max_body_size: 10XB }\n',
      'cache.policies[0].max_body_size',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, query_params: { allow: [utm_*] } }\n',
      'cache.policies[0].query_params.allow[0]',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, query_params: { ignore: ["*x"] } }\n',
      'cache.policies[0].query_params.ignore[0]',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, downstream: { cache_control: "max_age=60" } }\n',
      'cache.policies[0].downstream.cache_control',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, downstream: { cache_control: "public, private" } }\n',
      'cache.policies[0].downstream.cache_control',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, downstream: cdn }\n',
      'cache.policies[0].downstream',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, partition: { header: x, cookie: y } }\n',
      'cache.policies[0].partition',
    ],
    [
      'cache:\n  policies:\n    - { pattern: /a, partition: session }\n',
      'cache.policies[0].partition',
    ],
    ['cache:\n  policies:\n    - { pattern: /a, methods: [] }\n', 'cache.policies[0].methods'],
    ['cache:\n  policies:\n    - { pattern: /a, host: "bad host" }\n', 'cache.policies[0].host'],
    [
      'cache:\n  policies:\n    - { pattern: /a, vary_by: ["bad:x"] }\n',
      'cache.policies[0].vary_by[0]',
    ],
    ['cache:\n  layers: { l1: { type: redis } }\n', 'cache.layers.l1.type'],
    ['cache:\n  defaults: { pattern: /a }\n', 'cache.defaults.pattern'],
    [
      'cache:\n  defaults: { ttl: 60 }\nresponse_cache:\n  default_ttl: 300\n',
      'response_cache.default_ttl',
    ],
    [
      'response_cache:\n  rules:\n    - { path: /a, methods: [GET], ttl: -1 }\n',
      'response_cache.rules[0].ttl',
    ],
    [
      'invalidation:\n  rules:\n    - { event: e, action: invalidate_tags }\n',
      'invalidation.rules[0].tags',
    ],
    ['invalidation:\n  rules:\n    - { event: e, action: drop }\n', 'invalidation.rules[0].action'],
    ['cache_warming:\n  schedule: "every 6 hours"\n', 'cache_warming.schedule'],
    [
      'cache_monitoring:\n  metrics:\n    hit_rate: { alert_threshold: 150% }\n',
      'cache_monitoring.metrics.hit_rate.alert_threshold',
    ],
    ['redis:\n  memory: { eviction_policy: lru }\n', 'redis.memory.eviction_policy'],
    ['redis:\n  cluster: { nodes: ["redis-1"] }\n', 'redis.cluster.nodes[0]'],
  ])('%j fails at %s', (text, path) => {
    expect(configError(() => yaml(text)).path).toBe(path);
  });

  it('a secret value is not echoed in the error', () => {
    const error = configError(() =>
      validateConfig({ cache: { layers: { l2: { type: 'redis', connection: 42 } } } }),
    );
    expect(error.path).toBe('cache.layers.l2.connection');
    expect(error.message).toContain('not shown');
  });

  it('a file that cannot be read is a ConfigError naming it', async () => {
    await expect(loadConfigFile(join(fixtures, 'missing.yaml'))).rejects.toThrow(
      /missing\.yaml.*cannot be read/,
    );
  });

  it('functions are refused in files and accepted in code', () => {
    const resolve = () => 'u1';
    expect(
      validateConfig({ cache: { policies: [{ pattern: '/a', partition: resolve }] } }).rules[0],
    ).toMatchObject({
      private: true,
    });
    expect(() =>
      validateConfig(
        { cache: { policies: [{ pattern: '/a', partition: resolve }] } },
        { allowFunctions: false },
      ),
    ).toThrow(ConfigError);
  });
});
