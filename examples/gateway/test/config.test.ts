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
    });
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
