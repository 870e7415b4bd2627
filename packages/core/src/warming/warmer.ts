import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock } from '../clock.ts';
import { systemTimers, type Timers } from '../data/timers.ts';
import type { BackgroundRunner } from '../engine.ts';
import { invalidOption } from '../errors.ts';
import type { HandleResult, Origin, OriginCall, OriginOutcome } from '../origin.ts';
import type { CachePolicy, CacheRequest, Clock, RequestHeaders } from '../types.ts';
import { parseCron, type CronSchedule } from './cron.ts';
import { TopK } from './top-k.ts';

/** What the warmer needs of the engine (`HttpCache` has it). */
export interface WarmableCache {
  handle(
    request: CacheRequest,
    origin: Origin,
    overrides?: CachePolicy,
    background?: BackgroundRunner,
  ): Promise<HandleResult>;
}

export interface WarmingLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Per-user warming: only ever from an explicit list (user id or session as the partition). */
export interface UserWarming {
  readonly partition: string;
  readonly paths: readonly string[];
}

export interface WarmerOptions {
  readonly cache: WarmableCache;
  /**
   * Runs a GET for `url` through the app or upstream with no client. For Express:
   * `(url) => (call) => runThroughApp(app, url, { host }, call)`; for Hono, a runner on `app.fetch`.
   */
  readonly run: (url: string) => BackgroundRunner | ((call: OriginCall) => Promise<OriginOutcome>);
  /** false: `start()` does nothing (the seed's `enabled: false`). Default true. */
  readonly enabled?: boolean;
  /** Paths warmed every run (the seed's `static_content`). */
  readonly paths?: readonly string[];
  /**
   * Also warm the most requested paths learned from traffic (the seed's `popular_endpoints`):
   * the number to warm, or the limit and the tracker's capacity (default 10 × limit, ≥ 100).
   */
  readonly topK?:
    number | { readonly limit: number; readonly capacity?: number; readonly tracker?: TopK };
  /** Five-field cron (`0 *\/6 * * *`), a parsed schedule, or none (warm at start only). */
  readonly schedule?: string | CronSchedule;
  /** Cron fields in UTC (default) or local time. */
  readonly timezone?: 'utc' | 'local';
  /** Warm when `start()` is called. Default true. */
  readonly warmOnStart?: boolean;
  /** Requests at once. Default 4. */
  readonly concurrency?: number;
  /** Host of the warmed requests (part of the key when the engine keys on Host). */
  readonly host?: string;
  /** Extra request fields (an `accept` the clients send, for example). Never credentials. */
  readonly headers?: RequestHeaders;
  /** Per-route settings the route's middleware would apply (`route` of the adapter). */
  readonly overrides?: CachePolicy;
  /**
   * The engine's rules (the `policy` given to the engine): paths whose policy is private, personal,
   * sensitive or not cached are skipped, as warming has no user to store them for.
   */
  readonly policy?: (request: CacheRequest) => CachePolicy | undefined;
  /** Per-user paths, warmed only for the users listed here. */
  readonly users?: readonly UserWarming[];
  /** Halve the learned counts after each run, so old traffic fades. Default true. */
  readonly decay?: boolean;
  /** Notes from `fromConfig` (strategies not run), logged at start. */
  readonly skipped?: readonly string[];
  readonly logger?: WarmingLogger;
  readonly clock?: Clock;
  readonly timers?: Timers;
}

export type WarmOutcome = 'stored' | 'hit' | 'not-stored' | 'failed' | 'skipped';

export interface WarmReport {
  readonly total: number;
  readonly stored: number;
  /** Already fresh in the cache: nothing fetched. */
  readonly hits: number;
  readonly notStored: number;
  readonly failed: number;
  readonly skipped: number;
  readonly ms: number;
  readonly results: ReadonlyArray<{
    readonly url: string;
    readonly outcome: WarmOutcome;
    readonly user?: true;
  }>;
}

interface Job {
  readonly url: string;
  readonly partition: string | undefined;
}

/** setTimeout's longest delay; a longer wait is taken in steps. */
const MAX_DELAY = 2_147_000_000;

/**
 * Fills the cache ahead of traffic: at start, on a cron schedule, from a static list and from the
 * most requested paths, each request stored exactly as a client's request would be (it goes
 * through `cache.handle` and the app).
 */
export class Warmer {
  readonly traffic: TopK | undefined;
  readonly #options: WarmerOptions;
  readonly #schedule: CronSchedule | undefined;
  readonly #concurrency: number;
  readonly #topLimit: number;
  readonly #clock: Clock;
  readonly #timers: Timers;
  #timer: unknown;
  #running: Promise<WarmReport> | undefined;
  #started = false;
  #stopping = false;
  #runs = 0;

  constructor(options: WarmerOptions) {
    if (options === null || typeof options !== 'object')
      throw invalidOption('options', options, 'an object');
    if (options.cache === undefined || typeof options.cache.handle !== 'function') {
      throw invalidOption('cache', options.cache, 'an HttpCache');
    }
    if (typeof options.run !== 'function')
      throw invalidOption('run', options.run, 'a function of the URL');
    for (const path of options.paths ?? []) checkPath('paths', path);
    for (const user of options.users ?? []) {
      if (typeof user?.partition !== 'string' || user.partition === '') {
        throw invalidOption('users[].partition', user?.partition, 'a non-empty string');
      }
      for (const path of user.paths) checkPath('users[].paths', path);
    }
    this.#options = options;
    this.#schedule =
      options.schedule === undefined
        ? undefined
        : typeof options.schedule === 'string'
          ? parseCron(
              options.schedule,
              options.timezone === undefined ? {} : { timezone: options.timezone },
            )
          : options.schedule;
    this.#concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(this.#concurrency) || this.#concurrency < 1) {
      throw invalidOption('concurrency', options.concurrency, 'a positive integer');
    }
    const topK = typeof options.topK === 'number' ? { limit: options.topK } : options.topK;
    if (topK !== undefined) {
      if (!Number.isSafeInteger(topK.limit) || topK.limit < 1) {
        throw invalidOption('topK.limit', topK.limit, 'a positive integer');
      }
      this.traffic = topK.tracker ?? new TopK(topK.capacity ?? Math.max(100, topK.limit * 10));
      this.#topLimit = topK.limit;
    } else {
      this.#topLimit = 0;
    }
    this.#clock = options.clock ?? systemClock;
    this.#timers = options.timers ?? systemTimers;
  }

  /** Counts one request for `url` (path and query) toward the most requested list. */
  recordRequest(url: string): void {
    if (this.traffic === undefined || typeof url !== 'string' || !url.startsWith('/')) return;
    this.traffic.record(url);
  }

  /** Warms once, now. A run already going is joined rather than doubled. */
  warmNow(): Promise<WarmReport> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Resolves when no run is going (the current one, if any, has finished). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Warms now (unless `warmOnStart: false`) and on the schedule until `stop()`. */
  start(): void {
    if (this.#options.enabled === false || this.#started) return;
    this.#started = true;
    this.#stopping = false;
    for (const note of this.#options.skipped ?? []) this.#options.logger?.warn(note);
    if (this.#options.warmOnStart !== false) void this.warmNow();
    this.#arm();
  }

  /** Stops the schedule, lets requests already sent finish, and sends no more. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#started = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** When the schedule runs next (epoch ms), or undefined. */
  nextRun(): number | undefined {
    return this.#schedule?.next(this.#clock.now());
  }

  #arm(): void {
    if (this.#schedule === undefined || !this.#started) return;
    const at = this.#schedule.next(this.#clock.now());
    const wait = (): void => {
      const delay = at - this.#clock.now();
      this.#timer = this.#timers.setTimeout(
        () => {
          this.#timer = undefined;
          if (!this.#started) return;
          if (this.#clock.now() < at) {
            wait();
            return;
          }
          if (this.#running !== undefined) {
            this.#options.logger?.warn(
              'gatecache warming: previous run still going, skipping this one',
            );
          }
          void this.warmNow().finally(() => this.#arm());
        },
        Math.min(Math.max(0, delay), MAX_DELAY),
      );
    };
    wait();
  }

  #jobs(): { jobs: Job[]; skipped: string[] } {
    const seen = new Set<string>();
    const jobs: Job[] = [];
    const skipped: string[] = [];
    const add = (url: string, partition: string | undefined): void => {
      const id = `${partition === undefined ? '' : 'u'}\n${url}`;
      if (seen.has(id)) return;
      seen.add(id);
      if (partition === undefined && !this.#sharedCacheable(url)) {
        skipped.push(url);
        return;
      }
      jobs.push({ url, partition });
    };
    for (const path of this.#options.paths ?? []) add(path, undefined);
    if (this.traffic !== undefined) {
      for (const { item } of this.traffic.top(this.#topLimit)) add(item, undefined);
    }
    for (const user of this.#options.users ?? []) {
      for (const path of user.paths) add(path, user.partition);
    }
    return { jobs, skipped };
  }

  /** Per-user data is never warmed from a shared list: private or non-public rules are skipped. */
  #sharedCacheable(url: string): boolean {
    const policy = this.#options.policy;
    if (policy === undefined) return true;
    let rule: CachePolicy | undefined;
    try {
      rule = policy(this.#request(url, undefined));
    } catch {
      return false;
    }
    if (rule === undefined) return true;
    return (
      rule.cache !== false &&
      rule.private !== true &&
      (rule.classification === undefined || rule.classification === 'public')
    );
  }

  #request(url: string, partition: string | undefined): CacheRequest {
    return {
      method: 'GET',
      url,
      host: this.#options.host,
      headers: {
        ...(this.#options.headers ?? {}),
        ...(this.#options.host === undefined ? {} : { host: this.#options.host }),
      },
      partition,
    };
  }

  async #run(): Promise<WarmReport> {
    const began = this.#clock.now();
    const run = ++this.#runs;
    const { jobs, skipped } = this.#jobs();
    const logger = this.#options.logger;
    const results: Array<{ url: string; outcome: WarmOutcome; user?: true }> = skipped.map(
      (url) => ({
        url,
        outcome: 'skipped' as const,
      }),
    );
    if (skipped.length > 0) {
      logger?.info('gatecache warming: skipped per-user paths', { run, paths: skipped.length });
    }
    logger?.info('gatecache warming started', {
      run,
      total: jobs.length,
      concurrency: this.#concurrency,
    });
    let next = 0;
    let done = 0;
    let lastLogged = 0;
    const counts = { stored: 0, hit: 0, 'not-stored': 0, failed: 0, skipped: skipped.length };
    const worker = async (): Promise<void> => {
      while (!this.#stopping && next < jobs.length) {
        const job = jobs[next++]!;
        const outcome = await this.#warmOne(job);
        counts[outcome]++;
        // Partitions are never reported: they may be credentials.
        results.push(
          job.partition === undefined
            ? { url: job.url, outcome }
            : { url: job.url, outcome, user: true },
        );
        done++;
        const percent = Math.floor((done / jobs.length) * 4);
        if (percent > lastLogged && done < jobs.length) {
          lastLogged = percent;
          logger?.info('gatecache warming progress', { run, done, total: jobs.length, ...counts });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, jobs.length) }, worker));
    if (this.#options.decay !== false) this.traffic?.decay(0.5);
    const report: WarmReport = {
      total: jobs.length + skipped.length,
      stored: counts.stored,
      hits: counts.hit,
      notStored: counts['not-stored'],
      failed: counts.failed,
      skipped: counts.skipped,
      ms: this.#clock.now() - began,
      results,
    };
    logger?.info('gatecache warming finished', {
      run,
      total: report.total,
      stored: report.stored,
      hits: report.hits,
      notStored: report.notStored,
      failed: report.failed,
      skipped: report.skipped,
      stopped: this.#stopping,
    });
    return report;
  }

  async #warmOne(job: Job): Promise<WarmOutcome> {
    let runner: BackgroundRunner;
    try {
      const made = this.#options.run(job.url);
      runner = typeof made === 'function' ? { run: made } : made;
    } catch (error) {
      this.#options.logger?.warn('gatecache warming: runner failed', {
        url: job.url,
        error: String(error),
      });
      return 'failed';
    }
    let called = false;
    let captured = false;
    let status = 0;
    const origin: Origin = async (call) => {
      called = true;
      const outcome = await runner.run({
        requestHeaders: call.requestHeaders,
        head: (s, headers, body) => {
          status = s;
          const action = call.head(s, headers, body);
          captured = action.capture;
          return action;
        },
      });
      if (!outcome.complete || outcome.error !== undefined) captured = false;
      return outcome;
    };
    let result: HandleResult;
    try {
      result = await this.#options.cache.handle(
        this.#request(job.url, job.partition),
        origin,
        this.#options.overrides,
      );
    } catch (error) {
      this.#options.logger?.warn('gatecache warming: request failed', {
        url: job.url,
        error: String(error),
      });
      return 'failed';
    }
    if (result.type === 'rethrow') {
      this.#options.logger?.warn('gatecache warming: origin failed', { url: job.url });
      return 'failed';
    }
    if (!called) return 'hit';
    if (captured) return 'stored';
    if (status >= 500 || status === 0) return 'failed';
    return 'not-stored';
  }
}

function checkPath(name: string, path: unknown): void {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw invalidOption(name, path, 'paths starting with "/"');
  }
}

/** Creates a warmer; options are validated here, once. */
export function createWarmer(options: WarmerOptions): Warmer {
  return new Warmer(options);
}

export interface TrafficRecorderOptions {
  /** Count requests carrying credentials too. Default false: their responses are usually per user. */
  readonly includeAuthenticated?: boolean;
}

/**
 * Node/Express middleware feeding the warmer's most requested list: counts GET requests that got
 * a 200, by path and query. Mount it before the cache middleware.
 */
export function trafficRecorder(
  warmer: Warmer,
  options: TrafficRecorderOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return function trafficRecorder(req, res, next) {
    const authenticated =
      req.headers.authorization !== undefined || req.headers.cookie !== undefined;
    if (req.method === 'GET' && (options.includeAuthenticated === true || !authenticated)) {
      const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url;
      res.once('finish', () => {
        if (res.statusCode === 200 && url !== undefined) warmer.recordRequest(url);
      });
    }
    next();
  };
}
