import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type Gateway } from '../../../test/observability/gateway.ts';
import { cli } from './support.ts';

const run = promisify(execFile);
let gateway: Gateway;
let env: Record<string, string>;

beforeAll(async () => {
  gateway = await startGateway();
  env = { GATECACHE_ADMIN_TOKEN: ADMIN_TOKEN, GATECACHE_URL: gateway.base };
  for (const path of ['/products/1', '/products/1', '/products/2', '/search?q=a']) {
    await fetch(gateway.base + path);
  }
});
afterAll(async () => {
  await gateway.close();
});

describe('gatecache CLI against a running gateway', () => {
  it('stats prints the hit ratio, memory and hottest keys', async () => {
    const json = await cli(['stats', '--json'], env);
    expect(json.code).toBe(0);
    const stats = JSON.parse(json.stdout) as { hitRatio: number; topKeys: Array<{ key: string }> };
    expect(stats.hitRatio).toBeCloseTo(1 / 4, 5);
    expect(stats.topKeys[0]!.key).toMatch(/\/products\/1$/);
    const text = await cli(['stats'], env);
    expect(text.stdout).toContain('hit ratio   25.0%');
    expect(text.stdout).toMatch(/l1 \(memory\)\s+[\d.]+ KiB of 1\.0 MiB/);
    expect(text.stdout).toContain('products');
  });

  it('refuses to run without a token, and reports a wrong one', async () => {
    const none = await cli(['stats'], { GATECACHE_URL: gateway.base });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('GATECACHE_ADMIN_TOKEN');
    const wrong = await cli(['stats'], { ...env, GATECACHE_ADMIN_TOKEN: 'x'.repeat(20) });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('HTTP 401');
  });

  it('inspect shows the stored variants of a URL', async () => {
    const result = await cli(['inspect', '/products/1'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /status 200, \d+ bytes, age 0s, ttl (59|60)s, in l1, tags products/,
    );
    const search = await cli(['inspect', `${gateway.base}/search?q=a`, '--json'], env);
    const body = JSON.parse(search.stdout) as { varyFields: string[]; entries: unknown[] };
    expect(body.varyFields).toEqual(['accept-language']);
    expect(body.entries).toHaveLength(1);
  });

  it('purge by tag, URL, pattern and all: the origin is called again', async () => {
    const calls = (path: string): number => gateway.originCalls.get(path) ?? 0;
    const before = calls('/products/1');
    expect((await cli(['purge', '--tag', 'products'], env)).code).toBe(0);
    await fetch(gateway.base + '/products/1');
    expect(calls('/products/1')).toBe(before + 1);

    const url = await cli(['purge', '--url', '/products/1', '--json'], env);
    expect(JSON.parse(url.stdout)).toMatchObject({ purged: { urls: 1 } });
    await fetch(gateway.base + '/products/1');
    expect(calls('/products/1')).toBe(before + 2);

    const pattern = await cli(['purge', '--pattern', '/products/*'], env);
    expect(pattern.stdout).toContain('"keys":1');
    await fetch(gateway.base + '/products/1');
    expect(calls('/products/1')).toBe(before + 3);

    const searchBefore = calls('/search');
    expect((await cli(['purge', '--all'], env)).code).toBe(0);
    await fetch(gateway.base + '/search?q=a');
    expect(calls('/search')).toBe(searchBefore + 1);

    expect((await cli(['purge'], env)).code).toBe(2);
  });

  it('the gatecache bin runs as a process', async () => {
    const bin = fileURLToPath(new URL('../bin/gatecache.js', import.meta.url));
    const { stdout } = await run(process.execPath, [bin, 'stats', '--json'], {
      env: { ...process.env, ...env },
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toHaveProperty('hitRatio');
  });
});
