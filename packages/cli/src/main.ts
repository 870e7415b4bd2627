/**
 * The `gatecache` command line. `main(argv, io)` runs one command and resolves to its exit code
 * (0 success, 1 failure, 2 usage), so tests drive it in process and `bin` only wires stdio.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { HeaderList } from '@gatecache/core';
import { loadConfigFile, parseSize } from '@gatecache/core/config';
import { parseAccessLog } from './access-log.ts';
import { bigKeys } from './bigkeys.ts';
import { explain } from './explain.ts';
import { simulate } from './simulate.ts';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const USAGE = `Usage: gatecache <command> [options]

Commands talking to a running gateway (admin endpoint, token in GATECACHE_ADMIN_TOKEN or --token):
  stats                         hit ratio, memory, evictions, hottest and largest keys
  inspect <url>                 variants, ages, TTLs, tags and tiers of one URL
  purge --tag T | --url U | --pattern /path/* | --all   [--soft] [--host H]

Offline:
  explain <METHOD> <URL> --config FILE [-H 'Name: value']... [--status N] [-R 'Name: value']...
                                which rule matches, the key, the decision and why
  simulate <access-log> --config FILE [--format clf|json] [--origin-cache-control CC]
           [--max-bytes SIZE] [--max-entries N]
                                predicted hit ratio, origin calls saved, memory needed
  bigkeys [--redis URL] [--match 'gc1:*'] [--top N]
                                largest keys in Redis (SCAN + MEMORY USAGE, never KEYS)

Common options:
  --gateway URL     gateway base URL (default $GATECACHE_URL or http://127.0.0.1:8080)
  --admin-path P    admin mount path (default /_gatecache)
  --json            machine-readable output
`;

class UsageError extends Error {}

const COMMON = {
  gateway: { type: 'string' },
  'admin-path': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function headerList(values: readonly string[] | undefined, option: string): HeaderList {
  const list: HeaderList = [];
  for (const value of values ?? []) {
    const colon = value.indexOf(':');
    if (colon <= 0)
      throw new UsageError(`${option} takes "Name: value"; got ${JSON.stringify(value)}`);
    list.push([value.slice(0, colon).trim().toLowerCase(), value.slice(colon + 1).trim()]);
  }
  return list;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`;

interface AdminClient {
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
}

function adminClient(
  values: {
    gateway?: string | undefined;
    'admin-path'?: string | undefined;
    token?: string | undefined;
  },
  io: CliIo,
): AdminClient {
  const base = (values.gateway ?? io.env['GATECACHE_URL'] ?? 'http://127.0.0.1:8080').replace(
    /\/+$/,
    '',
  );
  const path = (values['admin-path'] ?? '/_gatecache').replace(/\/+$/, '');
  const token = values.token ?? io.env['GATECACHE_ADMIN_TOKEN'];
  if (token === undefined || token === '') {
    throw new UsageError("set GATECACHE_ADMIN_TOKEN (or --token) to the gateway's admin token");
  }
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${base}${path}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // Not JSON: show it as it is.
      }
      throw new Error(`${method} ${path}${route}: HTTP ${res.status} ${message}`.trim());
    }
    return JSON.parse(text) as unknown;
  };
  return { get: (route) => call('GET', route), post: (route, body) => call('POST', route, body) };
}

interface StatsBody {
  hitRatio: number | null;
  requests?: Record<string, number>;
  routes?: Array<{ route: string; requests: number; hitRatio: number | null }>;
  layers?: Array<{
    layer: string;
    name: string;
    memory?: {
      bytes: number;
      maxBytes: number;
      entries: number;
      maxEntries: number;
      ratio: number;
    };
    breaker?: { state: string };
  }>;
  evictions?: { total: number; perSecond: number };
  topKeys?: Array<{ key: string; requests: number; hits: number }>;
  largestEntries?: Array<{ key: string; layer: string; sizeBytes: number; ttlSeconds: number }>;
  alerts?: Array<{ name: string; message: string }>;
}

function printStats(s: StatsBody, out: (t: string) => void): void {
  out(
    `hit ratio   ${pct(s.hitRatio)}  (${s.requests?.['total'] ?? 0} requests: ${s.requests?.['hit'] ?? 0} hit, ${s.requests?.['stale'] ?? 0} stale, ${s.requests?.['revalidated'] ?? 0} revalidated, ${s.requests?.['miss'] ?? 0} miss, ${s.requests?.['bypass'] ?? 0} bypass)\n`,
  );
  for (const layer of s.layers ?? []) {
    const m = layer.memory;
    out(
      `${layer.layer} (${layer.name})`.padEnd(12) +
        (m
          ? `${formatBytes(m.bytes)} of ${formatBytes(m.maxBytes)} (${pct(m.ratio)}), ${m.entries} entries`
          : '') +
        (layer.breaker ? `  breaker ${layer.breaker.state}` : '') +
        '\n',
    );
  }
  if (s.evictions)
    out(`evictions   ${s.evictions.total} total, ${s.evictions.perSecond.toFixed(2)}/s\n`);
  if (s.routes?.length) {
    out('\nroute                          requests  hit ratio\n');
    for (const r of s.routes)
      out(
        `${r.route.padEnd(30)} ${String(r.requests).padStart(8)}  ${pct(r.hitRatio).padStart(9)}\n`,
      );
  }
  if (s.topKeys?.length) {
    out('\nhottest keys                                           requests  hits\n');
    for (const k of s.topKeys)
      out(`${k.key.padEnd(54)} ${String(k.requests).padStart(8)}  ${k.hits}\n`);
  }
  if (s.largestEntries?.length) {
    out('\nlargest entries                                        bytes     ttl\n');
    for (const e of s.largestEntries)
      out(`${e.key.padEnd(54)} ${String(e.sizeBytes).padStart(8)}  ${e.ttlSeconds}s\n`);
  }
  for (const a of s.alerts ?? []) out(`ALERT ${a.name}: ${a.message}\n`);
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const out = io.stdout;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return command === undefined ? 2 : 0;

    case 'stats': {
      const { values } = parseArgs({
        args: rest,
        options: { ...COMMON, limit: { type: 'string' } },
      });
      const stats = (await adminClient(values, io).get(
        `/stats?limit=${Number(values.limit ?? 10) || 10}`,
      )) as StatsBody;
      if (values.json) out(JSON.stringify(stats, null, 2) + '\n');
      else printStats(stats, out);
      return 0;
    }

    case 'inspect': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...COMMON, host: { type: 'string' } },
        allowPositionals: true,
      });
      const target = positionals[0];
      if (target === undefined)
        throw new UsageError('inspect needs a URL: gatecache inspect /api/items?page=2');
      let url = target;
      let host = values.host;
      if (/^https?:\/\//i.test(target)) {
        const parsed = new URL(target);
        url = parsed.pathname + parsed.search;
        host ??= parsed.host;
      }
      const query = new URLSearchParams({ url, ...(host !== undefined && { host }) });
      const result = (await adminClient(values, io).get(`/inspect?${query.toString()}`)) as {
        key: string;
        varyFields?: string[];
        privateEntries: number;
        entries: Array<{
          key: string;
          layers: string[];
          status: number;
          ageSeconds: number;
          ttlSeconds: number;
          tags: string[];
          vary: Record<string, string | null>;
          bodyBytes: number;
        }>;
      };
      if (values.json) {
        out(JSON.stringify(result, null, 2) + '\n');
        return 0;
      }
      out(`key ${result.key}\n`);
      if (result.varyFields) out(`varies on ${result.varyFields.join(', ')}\n`);
      if (result.entries.length === 0) out('nothing stored\n');
      for (const e of result.entries) {
        out(
          `- ${e.key}\n  status ${e.status}, ${e.bodyBytes} bytes, age ${e.ageSeconds}s, ttl ${e.ttlSeconds}s${e.ttlSeconds < 0 ? ' (stale)' : ''}, in ${e.layers.join('+')}` +
            (e.tags.length ? `, tags ${e.tags.join(' ')}` : '') +
            (Object.keys(e.vary).length ? `, vary ${JSON.stringify(e.vary)}` : '') +
            '\n',
        );
      }
      if (result.privateEntries > 0) out(`${result.privateEntries} private (per-user) entries\n`);
      return 0;
    }

    case 'purge': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...COMMON,
          tag: { type: 'string', multiple: true },
          url: { type: 'string', multiple: true },
          pattern: { type: 'string', multiple: true },
          all: { type: 'boolean' },
          soft: { type: 'boolean' },
          host: { type: 'string' },
        },
      });
      const spec = {
        ...(values.tag && { tags: values.tag }),
        ...(values.url && { urls: values.url }),
        ...(values.pattern && { patterns: values.pattern }),
        ...(values.all && { all: true }),
        ...(values.soft && { soft: true }),
        ...(values.host !== undefined && { host: values.host }),
      };
      if (!values.tag && !values.url && !values.pattern && !values.all) {
        throw new UsageError('purge needs --tag, --url, --pattern or --all');
      }
      const result = await adminClient(values, io).post('/purge', spec);
      out(
        values.json
          ? JSON.stringify(result, null, 2) + '\n'
          : `purged: ${JSON.stringify((result as { purged: unknown }).purged)}\n`,
      );
      return 0;
    }

    case 'explain': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', short: 'c' },
          header: { type: 'string', short: 'H', multiple: true },
          'response-header': { type: 'string', short: 'R', multiple: true },
          status: { type: 'string' },
          namespace: { type: 'string' },
          json: { type: 'boolean' },
        },
        allowPositionals: true,
      });
      const [method, url] = positionals;
      if (method === undefined || url === undefined || values.config === undefined) {
        throw new UsageError('explain needs <METHOD> <URL> --config FILE');
      }
      const config = await loadConfigFile(values.config);
      const headers = Object.fromEntries(headerList(values.header, '-H'));
      const result = await explain(config, {
        method,
        url,
        headers,
        ...(values.status !== undefined && { status: Number(values.status) }),
        responseHeaders: headerList(values['response-header'], '-R'),
        ...(values.namespace !== undefined && { namespace: values.namespace }),
      });
      if (values.json) {
        out(JSON.stringify(result, null, 2) + '\n');
        return 0;
      }
      out(
        `${result.request.method} ${result.request.url}${result.request.host ? ` (host ${result.request.host})` : ''}\n`,
      );
      out(`rule      ${result.rule ? `${result.rule.name} (${result.rule.origin})` : '(none)'}\n`);
      out(`key       ${result.key}\n`);
      out(`decision  ${result.decision}\n`);
      for (const reason of result.reasons) out(`  - ${reason}\n`);
      out(`first     Cache-Status: ${result.first ?? '(none)'}\n`);
      out(`then      Cache-Status: ${result.second ?? '(none)'}\n`);
      return 0;
    }

    case 'simulate': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: 'string', short: 'c' },
          format: { type: 'string' },
          'origin-cache-control': { type: 'string' },
          'max-bytes': { type: 'string' },
          'max-entries': { type: 'string' },
          namespace: { type: 'string' },
          json: { type: 'boolean' },
        },
        allowPositionals: true,
      });
      const file = positionals[0];
      if (file === undefined || values.config === undefined) {
        throw new UsageError('simulate needs <access-log> --config FILE');
      }
      if (values.format !== undefined && values.format !== 'clf' && values.format !== 'json') {
        throw new UsageError('--format is clf or json');
      }
      const config = await loadConfigFile(values.config);
      const log = parseAccessLog(await readFile(file, 'utf8'), values.format);
      if (log.records.length === 0) throw new UsageError(`no ${log.format} lines found in ${file}`);
      const report = await simulate(log.records, config, {
        originCacheControl: values['origin-cache-control'],
        maxBytes: values['max-bytes'] === undefined ? undefined : parseSize(values['max-bytes']),
        maxEntries: values['max-entries'] === undefined ? undefined : Number(values['max-entries']),
        namespace: values.namespace,
      });
      if (values.json) {
        out(
          JSON.stringify({ format: log.format, skipped: log.skipped, ...report }, null, 2) + '\n',
        );
        return 0;
      }
      out(
        `${report.requests} requests (${log.format}${log.skipped ? `, ${log.skipped} lines skipped` : ''}) from ${report.from} to ${report.to}\n`,
      );
      out(
        `predicted hit ratio   ${pct(report.hitRatio)}  (${report.served} of ${report.cacheable} cacheable; ${report.bypasses} bypassed)\n`,
      );
      out(
        `origin calls          ${report.originCalls} (${report.originCallsSaved} saved, ${pct(report.requests ? report.originCallsSaved / report.requests : null)})\n`,
      );
      out(`bytes from cache      ${formatBytes(report.bytesServedFromCache)}\n`);
      out(
        `memory                peak ${formatBytes(report.peakBytes)} of ${formatBytes(report.maxBytes)}, ${report.peakEntries} entries, ${report.evictions} evictions\n`,
      );
      out(
        `memory needed         ${formatBytes(report.memoryNeededBytes)} to hold every live entry\n`,
      );
      if (report.routes.length > 0) {
        out('\nroute                          requests  hit ratio\n');
        for (const r of report.routes)
          out(
            `${r.route.padEnd(30)} ${String(r.requests).padStart(8)}  ${pct(r.hitRatio).padStart(9)}\n`,
          );
      }
      return 0;
    }

    case 'bigkeys': {
      const { values } = parseArgs({
        args: rest,
        options: {
          redis: { type: 'string' },
          match: { type: 'string' },
          top: { type: 'string' },
          count: { type: 'string' },
          json: { type: 'boolean' },
        },
      });
      const report = await bigKeys({
        url: values.redis ?? io.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
        ...(values.match !== undefined && { match: values.match }),
        ...(values.top !== undefined && { top: Number(values.top) }),
        ...(values.count !== undefined && { count: Number(values.count) }),
      });
      if (values.json) {
        out(JSON.stringify(report, null, 2) + '\n');
        return 0;
      }
      out(`${report.scanned} keys, ${formatBytes(report.totalBytes)}\n\nlargest keys\n`);
      for (const k of report.top)
        out(
          `${String(k.bytes).padStart(10)}  ${k.key}${k.ttlMs > 0 ? `  (ttl ${Math.round(k.ttlMs / 1000)}s)` : ''}\n`,
        );
      out('\nby group\n');
      for (const g of report.groups)
        out(
          `${formatBytes(g.bytes).padStart(10)}  ${String(g.keys).padStart(6)} keys  ${g.group}\n`,
        );
      return 0;
    }

    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** Runs one command; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      io.stderr(`gatecache: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr(`gatecache: ${(error as Error).message}\n`);
    return 1;
  }
}
