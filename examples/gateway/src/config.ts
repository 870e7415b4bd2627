/**
 * Environment to gateway options, in one place: each new switch is one more field here and one
 * more line in main.ts.
 */
import { GatecacheError } from '@gatecache/core';
import { ADAPTERS } from './gateway.ts';
import type { AdapterName } from './gateway.ts';
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from './proxy.ts';

export interface GatewayConfig {
  readonly port: number;
  /** Interface to listen on; all interfaces when absent. */
  readonly host: string | undefined;
  /** Upstream base URL; absent means "start the bundled demo backend". */
  readonly upstream: string | undefined;
  readonly upstreamTimeoutMs: number;
  readonly adapter: AdapterName;
  /** Redis for the shared tier, bus, leases and purge epochs; memory only when absent. */
  readonly redisUrl: string | undefined;
  /** Path of a gatecache YAML/JSON configuration file. */
  readonly configFile: string | undefined;
  /** Bearer token of `POST /cache/invalidate`; no purge endpoint when absent. */
  readonly purgeToken: string | undefined;
  /** Bearer token of `/_gatecache` and `/metrics`; neither is mounted when absent. */
  readonly adminToken: string | undefined;
}

/** The purge and admin handlers refuse shorter secrets. */
export const MIN_TOKEN_LENGTH = 16;

export const DEFAULT_PORT = 3000;

function configError(message: string): GatecacheError {
  return new GatecacheError('ERR_INVALID_CONFIG', `[gatecache] environment variable ${message}`);
}

type Env = Readonly<Record<string, string | undefined>>;

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw configError(
      `${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function readString(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function readToken(env: Env, name: string): string | undefined {
  const token = readString(env, name);
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    // The value is a secret: say how long it is, never what it is.
    throw configError(
      `${name} must be at least ${MIN_TOKEN_LENGTH} characters (e.g. \`openssl rand -hex 24\`); got ${token.length}`,
    );
  }
  return token;
}

function readAdapter(env: Env): AdapterName {
  const raw = readString(env, 'ADAPTER')?.toLowerCase() ?? 'express';
  const adapter = ADAPTERS.find((name) => name === raw);
  if (adapter === undefined) {
    throw configError(`ADAPTER must be one of ${ADAPTERS.join(', ')}; got ${JSON.stringify(raw)}`);
  }
  return adapter;
}

export function readGatewayConfig(env: Env): GatewayConfig {
  const upstream = env.UPSTREAM?.trim();
  if (upstream !== undefined && upstream !== '' && !/^https?:\/\//i.test(upstream)) {
    throw configError(
      `UPSTREAM must be an http(s) URL such as http://127.0.0.1:8080; got ${JSON.stringify(upstream)}`,
    );
  }
  const host = env.HOST?.trim();
  return {
    port: readInteger(env, 'PORT', DEFAULT_PORT, 0, 65_535),
    host: host === undefined || host === '' ? undefined : host,
    upstream: upstream === undefined || upstream === '' ? undefined : upstream,
    upstreamTimeoutMs: readInteger(
      env,
      'UPSTREAM_TIMEOUT_MS',
      DEFAULT_UPSTREAM_TIMEOUT_MS,
      1,
      2_147_483_647,
    ),
    adapter: readAdapter(env),
    redisUrl: readRedisUrl(env),
    configFile: readString(env, 'GATECACHE_CONFIG'),
    purgeToken: readToken(env, 'GATECACHE_PURGE_TOKEN'),
    adminToken: readToken(env, 'GATECACHE_ADMIN_TOKEN'),
  };
}

function readRedisUrl(env: Env): string | undefined {
  const url = readString(env, 'REDIS_URL');
  if (url !== undefined && !/^rediss?:\/\//i.test(url)) {
    // A URL may carry a password: show only its scheme.
    throw configError(
      `REDIS_URL must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379; got one starting ${JSON.stringify(url.split(':')[0])}`,
    );
  }
  return url;
}
