import { GatecacheError } from '@gatecache/core';
import { describe, expect, it } from 'vitest';
import { readGatewayConfig } from '../src/config.ts';

describe('readGatewayConfig', () => {
  it('defaults to port 3000, the bundled backend and a 30 s upstream timeout', () => {
    expect(readGatewayConfig({})).toEqual({
      port: 3000,
      host: undefined,
      upstream: undefined,
      upstreamTimeoutMs: 30_000,
      adapter: 'express',
      redisUrl: undefined,
      configFile: undefined,
      purgeToken: undefined,
      adminToken: undefined,
    });
  });

  it('reads PORT, HOST, UPSTREAM and UPSTREAM_TIMEOUT_MS', () => {
    expect(
      readGatewayConfig({
        PORT: '8080',
        HOST: '127.0.0.1',
        UPSTREAM: 'http://api.internal:9000',
        UPSTREAM_TIMEOUT_MS: '5000',
      }),
    ).toEqual({
      port: 8080,
      host: '127.0.0.1',
      upstream: 'http://api.internal:9000',
      upstreamTimeoutMs: 5000,
      adapter: 'express',
      redisUrl: undefined,
      configFile: undefined,
      purgeToken: undefined,
      adminToken: undefined,
    });
  });

  it('reads ADAPTER, REDIS_URL, GATECACHE_CONFIG and the tokens', () => {
    expect(
      readGatewayConfig({
        ADAPTER: 'Hono',
        REDIS_URL: 'redis://127.0.0.1:6380',
        GATECACHE_CONFIG: 'gatecache.yaml',
        GATECACHE_PURGE_TOKEN: 'purge-token-0123456789',
        GATECACHE_ADMIN_TOKEN: 'admin-token-0123456789',
      }),
    ).toMatchObject({
      adapter: 'hono',
      redisUrl: 'redis://127.0.0.1:6380',
      configFile: 'gatecache.yaml',
      purgeToken: 'purge-token-0123456789',
      adminToken: 'admin-token-0123456789',
    });
  });

  it('rejects an unknown adapter, a non-Redis URL and short tokens without showing secrets', () => {
    expect(() => readGatewayConfig({ ADAPTER: 'fastify' })).toThrow(
      /ADAPTER must be one of express, koa, hono; got "fastify"/,
    );
    expect(() => readGatewayConfig({ REDIS_URL: 'http://user:secret@redis:6379' })).toThrow(
      /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(() => readGatewayConfig({ REDIS_URL: 'http://user:secret@redis:6379' })).not.toThrow(
      /secret/,
    );
    expect(() => readGatewayConfig({ GATECACHE_PURGE_TOKEN: 'short-secret' })).toThrow(
      /GATECACHE_PURGE_TOKEN must be at least 16 characters.*got 12$/,
    );
    expect(() => readGatewayConfig({ GATECACHE_ADMIN_TOKEN: 'short-secret' })).not.toThrow(
      /short-secret/,
    );
  });

  it('treats empty variables as unset', () => {
    expect(readGatewayConfig({ PORT: '', UPSTREAM: ' ' }).upstream).toBeUndefined();
    expect(readGatewayConfig({ PORT: '' }).port).toBe(3000);
  });

  it('rejects bad values, naming the variable and the value', () => {
    expect(() => readGatewayConfig({ PORT: 'abc' })).toThrow(
      /PORT must be an integer from 0 to 65535; got "abc"/,
    );
    expect(() => readGatewayConfig({ PORT: '70000' })).toThrow(GatecacheError);
    expect(() => readGatewayConfig({ UPSTREAM_TIMEOUT_MS: '0' })).toThrow(/UPSTREAM_TIMEOUT_MS/);
    expect(() => readGatewayConfig({ UPSTREAM: 'localhost:9000' })).toThrow(
      /UPSTREAM must be an http\(s\) URL/,
    );
  });
});
