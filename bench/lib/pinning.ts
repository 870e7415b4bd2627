/**
 * CPU pinning with taskset when the machine has it and at least two cores: servers on core 1, the
 * load generator (this process) on core 0, so they never share a core's time.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const PINNING =
  hasTaskset() && availableParallelism() >= 2 && process.env.BENCH_NO_PIN !== '1';
export const SERVER_CORE = 1;
export const CLIENT_CORE = 0;

/** Pins this process (the load generator) to the client core; a no-op without pinning. */
export function pinSelf(): void {
  if (!PINNING) return;
  execFileSync('taskset', ['-a', '-p', '-c', String(CLIENT_CORE), String(process.pid)], {
    stdio: 'ignore',
  });
}

/** The command and arguments that run `command args` on the server core. */
export function onServerCore(command: string, args: readonly string[]): [string, string[]] {
  return PINNING
    ? ['taskset', ['-c', String(SERVER_CORE), command, ...args]]
    : [command, [...args]];
}
