/** Settings from the environment, each with its default and a bound check. */
function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

export interface BenchConfig {
  readonly rounds: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
}

export function readConfig(): BenchConfig {
  return {
    rounds: Math.round(positiveNumber('BENCH_ROUNDS', 5)),
    durationSeconds: positiveNumber('BENCH_DURATION', 2),
    warmupSeconds: positiveNumber('BENCH_WARMUP', 0.5),
    connections: Math.round(positiveNumber('BENCH_CONNECTIONS', 10)),
  };
}
