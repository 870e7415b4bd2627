/**
 * Load generation with wrk (https://github.com/wg/wrk) when it is installed: a C client that needs a
 * fraction of autocannon's CPU per request, so the fastest servers are not capped by the load
 * generator's core. One wrk thread on the client core; a Lua script gives distinct URLs and prints
 * the summary as JSON.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PRODUCTS_PATH } from './body.ts';
import { CLIENT_CORE, PINNING } from './pinning.ts';

export interface WrkRun {
  readonly port: number;
  readonly seconds: number;
  readonly connections: number;
  readonly distinctUrls: boolean;
  readonly urlPrefix: string;
  readonly firstIndex: number;
}

export interface WrkSummary {
  readonly requests: number;
  readonly durationUs: number;
  readonly latencyMeanUs: number;
  readonly latencyP50Us: number;
  readonly latencyP99Us: number;
  /** Non-2xx/3xx responses. */
  readonly statusErrors: number;
  readonly socketErrors: number;
}

/** True when a `wrk` binary answers on the PATH. */
export function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits with status 1 after printing its version.
    return (error as { status?: number }).status === 1;
  }
}

const SUMMARY_MARK = 'WRK_SUMMARY ';

function script(run: WrkRun): string {
  const lines = [
    `local counter = ${run.firstIndex - 1}`,
    `local base = ${JSON.stringify(`${PRODUCTS_PATH}?${run.urlPrefix}=`)}`,
  ];
  if (run.distinctUrls) {
    lines.push(
      'request = function()',
      '  counter = counter + 1',
      '  return wrk.format("GET", base .. counter)',
      'end',
    );
  }
  lines.push(
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format("${SUMMARY_MARK}{\\"requests\\":%d,\\"durationUs\\":%d,\\"latencyMeanUs\\":%f,` +
      `\\"latencyP50Us\\":%d,\\"latencyP99Us\\":%d,\\"statusErrors\\":%d,\\"socketErrors\\":%d}\\n",`,
    '    summary.requests, summary.duration, latency.mean, latency:percentile(50), latency:percentile(99),',
    '    e.status, e.connect + e.read + e.write + e.timeout))',
    'end',
  );
  return `${lines.join('\n')}\n`;
}

export async function runWrk(run: WrkRun): Promise<WrkSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'gatecache-wrk-'));
  const file = join(dir, 'run.lua');
  writeFileSync(file, script(run));
  // wrk takes whole seconds; a shorter run (a warm-up) is rounded up to one second.
  const seconds = Math.max(1, Math.round(run.seconds));
  const args = [
    '-t1',
    `-c${run.connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    file,
    `http://127.0.0.1:${run.port}${PRODUCTS_PATH}`,
  ];
  const [command, fullArgs] = PINNING
    ? ['taskset', ['-c', String(CLIENT_CORE), 'wrk', ...args]]
    : ['wrk', args];
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(command, fullArgs, { timeout: (seconds + 30) * 1000 }, (error, out, err) => {
        if (error) reject(new Error(`wrk failed: ${error.message}\n${err}`));
        else resolve(out);
      });
    });
    const line = stdout.split('\n').find((l) => l.startsWith(SUMMARY_MARK));
    if (line === undefined) throw new Error(`wrk printed no summary:\n${stdout}`);
    return JSON.parse(line.slice(SUMMARY_MARK.length)) as WrkSummary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
