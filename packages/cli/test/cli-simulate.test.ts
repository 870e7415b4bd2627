import { createServer } from 'node:http';
import { createMemoryStore } from '@gatecache/core';
import { compilePolicies, loadConfigFile } from '@gatecache/core/config';
import { createMetrics } from '@gatecache/core/metrics';
import { httpCache, mountAdmin } from '@gatecache/express';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { listen } from '../../../test/support/http.ts';
import { parseAccessLog, type AccessRecord } from '../src/access-log.ts';
import { cli, CONFIG_YAML, tempFiles } from './support.ts';

const TOKEN = 'simulate-admin-token-0123456789';

/** A deterministic pseudo-random sequence (mulberry32), so the log is the same every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function clfTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * Ten minutes of traffic: product pages with a Zipf-like popularity (TTL 60 s, so entries
 * expire and refill), searches, sensitive payment calls that bypass, writes that invalidate, and
 * a few 404s.
 */
function generateLog(start: number, lines: number): string {
  const next = random(42);
  const out: string[] = [];
  let t = start;
  for (let i = 0; i < lines; i++) {
    t += Math.floor(next() * 800);
    const roll = next();
    let method = 'GET';
    let url: string;
    let status = 200;
    let bytes: number;
    if (roll < 0.7) {
      const id = Math.floor(Math.pow(next(), 2.2) * 300);
      url = `/products/${id}`;
      bytes = 300 + ((id * 37) % 4000);
      if (id > 280) {
        status = 404;
        bytes = 40;
      }
    } else if (roll < 0.85) {
      url = `/search?q=${['shoes', 'hats', 'bags', 'socks'][Math.floor(next() * 4)]}&page=${1 + Math.floor(next() * 3)}`;
      bytes = 1500;
    } else if (roll < 0.95) {
      url = `/payments/cards/${Math.floor(next() * 20)}`;
      bytes = 200;
    } else {
      method = 'POST';
      url = `/products/${Math.floor(Math.pow(next(), 2.2) * 300)}`;
      status = 204;
      bytes = 0;
    }
    const size = bytes === 0 ? '-' : String(bytes);
    out.push(
      `127.0.0.1 - - [${clfTime(t)}] "${method} ${url} HTTP/1.1" ${status} ${size} "-" "loadgen/1.0"`,
    );
  }
  return out.join('\n') + '\n';
}

const files = tempFiles({ 'gatecache.yaml': CONFIG_YAML });
afterAll(() => files.dispose());

/** Replays the log through a real Express gateway whose clock follows the log. */
async function replayThroughGateway(records: readonly AccessRecord[]): Promise<{
  hitRatio: number;
  originCalls: number;
}> {
  let now = records[0]!.time;
  const clock = { now: () => now };
  const config = await loadConfigFile(files.path('gatecache.yaml'));
  const metrics = createMetrics({ clock, evaluateEveryMs: 0 });
  const middleware = httpCache({
    clock,
    store: createMemoryStore({
      clock,
      maxBytes: config.cache.layers.l1!.maxSizeBytes!,
      maxEntries: config.cache.layers.l1!.maxEntries!,
    }),
    policy: compilePolicies(config),
    onEvent: metrics.onEvent,
  });
  metrics.observe(middleware.cache);
  const sizes = new Map<string, { status: number; bytes: number }>();
  for (const r of records)
    if (r.method === 'GET') sizes.set(r.url, { status: r.status, bytes: r.bytes });
  let originCalls = 0;
  const app = express();
  mountAdmin(app, { cache: middleware.cache, metrics, token: TOKEN });
  app.use(middleware);
  app.use((req, res) => {
    originCalls++;
    const logged = sizes.get(req.url) ?? { status: req.method === 'POST' ? 204 : 200, bytes: 0 };
    res.status(req.method === 'POST' ? 204 : logged.status);
    res.set('date', new Date(now).toUTCString());
    res.set('content-type', 'application/octet-stream');
    res.end(Buffer.alloc(req.method === 'POST' ? 0 : logged.bytes));
  });
  const { base, close } = await listen(createServer(app));
  try {
    for (const record of records) {
      now = record.time;
      const res = await fetch(base + record.url, { method: record.method });
      await res.arrayBuffer();
    }
    const stats = (await (
      await fetch(`${base}/_gatecache/stats`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { hitRatio: number };
    return { hitRatio: stats.hitRatio, originCalls };
  } finally {
    metrics.close();
    await close();
  }
}

describe('gatecache simulate', () => {
  it('predicts the hit ratio the gateway achieves on the same log (within 2 points)', async () => {
    const log = generateLog(Date.UTC(2030, 0, 15, 9, 0, 0), 1500);
    files.path('access.log');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(files.path('access.log'), log);
    const records = parseAccessLog(log).records;
    expect(records).toHaveLength(1500);

    const result = await cli([
      'simulate',
      files.path('access.log'),
      '--config',
      files.path('gatecache.yaml'),
      '--json',
    ]);
    expect(result.stderr).toBe('');
    const predicted = JSON.parse(result.stdout) as {
      hitRatio: number;
      originCalls: number;
      originCallsSaved: number;
      bypasses: number;
      memoryNeededBytes: number;
      peakBytes: number;
      format: string;
    };
    expect(predicted.format).toBe('clf');

    const actual = await replayThroughGateway(records);
    expect(actual.hitRatio).toBeGreaterThan(0.3);
    expect(actual.hitRatio).toBeLessThan(0.95);
    expect(Math.abs(predicted.hitRatio - actual.hitRatio)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(predicted.originCalls - actual.originCalls)).toBeLessThanOrEqual(30);
    expect(predicted.originCallsSaved).toBe(1500 - predicted.originCalls);
    expect(predicted.bypasses).toBeGreaterThan(100);
    expect(predicted.memoryNeededBytes).toBeGreaterThanOrEqual(predicted.peakBytes);

    const text = await cli([
      'simulate',
      files.path('access.log'),
      '--config',
      files.path('gatecache.yaml'),
    ]);
    expect(text.stdout).toMatch(/predicted hit ratio\s+\d+\.\d%/);
    expect(text.stdout).toMatch(/memory needed\s+[\d.]+ (KiB|MiB) to hold every live entry/);
    expect(text.stdout).toContain('products');
  });

  it('reads JSON lines, and keys per-user entries by the logged user', async () => {
    const start = Date.UTC(2030, 0, 15, 9, 0, 0);
    const lines = [
      {
        time: new Date(start).toISOString(),
        method: 'GET',
        url: '/me',
        status: 200,
        bytes: 50,
        user: 'alice',
      },
      {
        time: new Date(start + 1000).toISOString(),
        method: 'GET',
        url: '/me',
        status: 200,
        bytes: 50,
        user: 'bob',
      },
      {
        time: new Date(start + 2000).toISOString(),
        method: 'GET',
        url: '/me',
        status: 200,
        bytes: 50,
        user: 'alice',
      },
      {
        time: (start + 3000) / 1000,
        method: 'GET',
        url: 'https://api.test/products/1',
        status: 200,
        bytes: 10,
      },
      { time: start + 4000, request: 'GET /products/1 HTTP/1.1', status: 304, bytes: 0 },
      'not json',
    ];
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      files.path('access.jsonl'),
      lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
    );
    const result = await cli([
      'simulate',
      files.path('access.jsonl'),
      '--config',
      files.path('gatecache.yaml'),
      '--json',
    ]);
    const report = JSON.parse(result.stdout) as {
      format: string;
      skipped: number;
      served: number;
      cacheable: number;
    };
    expect(report.format).toBe('json');
    expect(report.skipped).toBe(1);
    // alice's second /me and the second /products/1 (host from the first line's absolute URL differs: miss).
    expect(report.cacheable).toBe(5);
    expect(report.served).toBe(1);
  });
});
