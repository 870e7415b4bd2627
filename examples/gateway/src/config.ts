/**
 * Environment to gateway options, in one place: each new switch is one more field here and one
 * more line in main.ts.
 */
import { GatecacheError } from '@gatecache/core';
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from './proxy.ts';

export interface GatewayConfig {
  readonly port: number;
  /** Interface to listen on; all interfaces when absent. */
  readonly host: string | undefined;
  /** Upstream base URL; absent means "start the bundled demo backend". */
  readonly upstream: string | undefined;
  readonly upstreamTimeoutMs: number;
}

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
  };
}
