/**
 * Load generation: wrk for timed runs when it is installed (BENCH_LOADGEN=autocannon turns it
 * off), else autocannon's programmatic API in this (client-core) process. Runs of a fixed number
 * of requests always use autocannon.
 */
import { request } from 'node:http';
import autocannon from 'autocannon';
import { PRODUCTS_PATH } from './body.ts';
import { hasWrk, runWrk } from './wrk.ts';

function chooseLoadGenerator(): 'wrk' | 'autocannon' {
  const wanted = process.env.BENCH_LOADGEN;
  if (wanted === 'autocannon') return 'autocannon';
  if (wanted !== undefined && wanted !== '' && wanted !== 'wrk')
    throw new Error(`BENCH_LOADGEN must be "wrk" or "autocannon", got ${JSON.stringify(wanted)}`);
  if (hasWrk()) return 'wrk';
  if (wanted === 'wrk') throw new Error('BENCH_LOADGEN=wrk, but no wrk on the PATH');
  return 'autocannon';
}

/** The generator timed runs use: "wrk" when installed, else "autocannon". */
export const LOAD_GENERATOR = chooseLoadGenerator();

export interface LoadOptions {
  readonly port: number;
  readonly seconds?: number;
  /** A fixed number of requests instead of a duration. */
  readonly amount?: number;
  readonly connections: number;
  /** Every request to its own URL (`?n=1`, `?n=2`, …): a cache cannot hit, so each one is a miss. */
  readonly distinctUrls?: boolean;
  /** Prefix that keeps one run's distinct URLs apart from another's. */
  readonly urlPrefix?: string;
  /** Number of the first distinct URL (default 1), so that runs can continue one another. */
  readonly firstIndex?: number;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly latencyMeanMs: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly ok: number;
  /** Non-2xx responses, connection errors and timeouts. */
  readonly failures: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (LOAD_GENERATOR === 'wrk' && options.amount === undefined) {
    const summary = await runWrk({
      port: options.port,
      seconds: options.seconds ?? 5,
      connections: options.connections,
      distinctUrls: options.distinctUrls === true,
      urlPrefix: options.urlPrefix ?? 'n',
      firstIndex: options.firstIndex ?? 1,
    });
    const ok = summary.requests - summary.statusErrors;
    return {
      requestsPerSecond: ok / (summary.durationUs / 1e6),
      latencyMeanMs: summary.latencyMeanUs / 1000,
      latencyP50Ms: summary.latencyP50Us / 1000,
      latencyP99Ms: summary.latencyP99Us / 1000,
      ok,
      failures: summary.statusErrors + summary.socketErrors,
    };
  }
  let counter = (options.firstIndex ?? 1) - 1;
  const prefix = options.urlPrefix ?? 'n';
  const result = await autocannon({
    url: `http://127.0.0.1:${options.port}${PRODUCTS_PATH}`,
    connections: options.connections,
    pipelining: 1,
    ...(options.amount === undefined
      ? { duration: options.seconds ?? 5 }
      : { amount: options.amount }),
    timeout: 10,
    ...(options.distinctUrls === true
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request) => {
                counter += 1;
                return { ...req, path: `${PRODUCTS_PATH}?${prefix}=${counter}` };
              },
            },
          ],
        }
      : {}),
  });
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    latencyMeanMs: result.latency.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    ok: result['2xx'],
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One GET on a fresh connection (no pooled sockets left behind), bounded by a timeout. */
export function httpGet(
  port: number,
  path: string = PRODUCTS_PATH,
  timeoutMs = 10_000,
  hostHeader?: string,
): Promise<SimpleResponse> {
  const headers = hostHeader === undefined ? {} : { host: hostHeader };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
