/**
 * The fleet demo as a sequence of requests over HTTP, each step described and checked: a miss on
 * A, a hit on B from Redis (B never called the backend), a purge on A, and a miss on B.
 */
export interface DemoTargets {
  /** Base URLs of instances A and B. */
  readonly a: string;
  readonly b: string;
  readonly purgeToken: string;
  /** Default `/api/products`. */
  readonly path?: string;
  /** Where each step is told. Default: nowhere. */
  readonly print?: (line: string) => void;
}

export interface DemoStep {
  readonly label: string;
  readonly instance: 'A' | 'B';
  readonly request: string;
  readonly status: number;
  readonly cacheStatus: string | undefined;
  /** How many times the backend had run the route when it made this response. */
  readonly backendCalls: string | undefined;
  /** What the step is expected to show, and whether it did. */
  readonly expected: string;
  readonly ok: boolean;
}

export async function runDemo(targets: DemoTargets): Promise<DemoStep[]> {
  const path = targets.path ?? '/api/products';
  const print = targets.print ?? (() => undefined);
  const steps: DemoStep[] = [];
  const record = (step: DemoStep): void => {
    steps.push(step);
    print(
      `${step.ok ? 'ok  ' : 'FAIL'} ${step.instance} ${step.request.padEnd(32)} ${String(step.status)}  cache-status: ${step.cacheStatus ?? '-'}${step.backendCalls === undefined ? '' : `  x-backend-calls: ${step.backendCalls}`}`,
    );
    print(`     ${step.label}: ${step.expected}`);
  };

  const get = async (
    instance: 'A' | 'B',
    label: string,
    expected: string,
    check: (cacheStatus: string) => boolean,
  ): Promise<void> => {
    const response = await fetch((instance === 'A' ? targets.a : targets.b) + path);
    await response.arrayBuffer();
    const cacheStatus = response.headers.get('cache-status') ?? undefined;
    record({
      label,
      instance,
      request: `GET ${path}`,
      status: response.status,
      cacheStatus,
      backendCalls: response.headers.get('x-backend-calls') ?? undefined,
      expected,
      ok: response.status === 200 && check(cacheStatus ?? ''),
    });
  };
  const isHit = (status: string): boolean => /(^|;\s*)hit(;|$)/.test(status);
  const purge = async (label: string, expected: string): Promise<void> => {
    const response = await fetch(`${targets.a}/cache/invalidate`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${targets.purgeToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ urls: [path] }),
    });
    const body = await response.text();
    record({
      label,
      instance: 'A',
      request: 'POST /cache/invalidate',
      status: response.status,
      cacheStatus: undefined,
      backendCalls: undefined,
      expected: `${expected} (${body.trim()})`,
      ok: response.status === 202,
    });
  };

  // An earlier run left the URL cached: start from nothing, so that step 1 is a miss.
  await purge('0. start clean', `purge ${path} on every instance`);

  await get(
    'A',
    '1. first request, on A',
    'a miss: A calls the backend and stores the response in its memory and in Redis',
    (s) => !isHit(s) && /stored/.test(s),
  );
  await get(
    'B',
    '2. same URL, on B',
    'a hit although B never called the backend: the entry came from Redis (L2)',
    isHit,
  );
  await get(
    'B',
    '3. again on B',
    "a hit from B's own memory (L1), filled from Redis by step 2",
    isHit,
  );

  await purge(
    '4. purge on A',
    `A deletes ${path} from memory and Redis and tells the fleet over Redis pub/sub`,
  );

  await get(
    'B',
    '5. same URL, on B',
    "a miss: the purge on A dropped B's copy too; the backend runs again",
    (s) => !isHit(s),
  );
  return steps;
}
