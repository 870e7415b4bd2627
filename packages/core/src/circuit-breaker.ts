import { invalidOption } from './errors.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the circuit. Default 5. */
  readonly failureThreshold?: number;
  /** Default 10,000 ms. */
  readonly windowMs?: number;
  /** How long the circuit stays open before one probe is let through. Default 30,000 ms. */
  readonly cooldownMs?: number;
}

interface Circuit {
  state: BreakerState;
  failures: number[];
  openedAt: number;
  probing: boolean;
}

/** What the breaker says of a call about to go to the origin. */
export type BreakerGate =
  | { readonly allow: true; readonly probe: boolean }
  | { readonly allow: false; readonly retryAfterMs: number };

/** The answer for a closed circuit, the common case: one shared object, not one per call. */
const ALLOW: BreakerGate = Object.freeze({ allow: true, probe: false });

/**
 * One circuit per key (an upstream or a route): after `failureThreshold` failures within
 * `windowMs` it opens for `cooldownMs`, then lets one probe through (half-open); a successful
 * probe closes it, a failed one opens it again. Time comes from the caller, so tests inject it.
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly windowMs: number;
  readonly cooldownMs: number;
  readonly #circuits = new Map<string, Circuit>();
  readonly #onChange: ((key: string, state: BreakerState) => void) | undefined;

  constructor(
    options: CircuitBreakerOptions = {},
    onChange?: (key: string, state: BreakerState) => void,
  ) {
    this.failureThreshold = wholeNumber('breaker.failureThreshold', options.failureThreshold, 5);
    this.windowMs = wholeNumber('breaker.windowMs', options.windowMs, 10_000);
    this.cooldownMs = wholeNumber('breaker.cooldownMs', options.cooldownMs, 30_000, 0);
    this.#onChange = onChange;
  }

  /** No circuit is open, half-open or counting failures: every gate allows, records are no-ops. */
  get idle(): boolean {
    return this.#circuits.size === 0;
  }

  state(key: string): BreakerState {
    return this.#circuits.get(key)?.state ?? 'closed';
  }

  /** Every circuit that is not closed, for metrics and admin views. */
  states(): Map<string, BreakerState> {
    const out = new Map<string, BreakerState>();
    for (const [key, circuit] of this.#circuits) out.set(key, circuit.state);
    return out;
  }

  gate(key: string, now: number): BreakerGate {
    const circuit = this.#circuits.get(key);
    if (circuit === undefined || circuit.state === 'closed') return ALLOW;
    if (circuit.state === 'open') {
      const reopenAt = circuit.openedAt + this.cooldownMs;
      if (now < reopenAt) return { allow: false, retryAfterMs: reopenAt - now };
      this.#set(key, circuit, 'half-open');
    }
    // Half-open: one probe at a time; everything else keeps failing fast.
    if (circuit.probing) return { allow: false, retryAfterMs: 1000 };
    circuit.probing = true;
    return { allow: true, probe: true };
  }

  record(key: string, ok: boolean, now: number): void {
    let circuit = this.#circuits.get(key);
    if (ok) {
      if (circuit === undefined) return;
      circuit.probing = false;
      circuit.failures.length = 0;
      if (circuit.state !== 'closed') this.#set(key, circuit, 'closed');
      this.#circuits.delete(key);
      return;
    }
    if (circuit === undefined) {
      circuit = { state: 'closed', failures: [], openedAt: 0, probing: false };
      this.#circuits.set(key, circuit);
    }
    if (circuit.state === 'half-open') {
      circuit.probing = false;
      circuit.openedAt = now;
      this.#set(key, circuit, 'open');
      return;
    }
    circuit.failures.push(now);
    while (circuit.failures.length > 0 && circuit.failures[0]! <= now - this.windowMs)
      circuit.failures.shift();
    if (circuit.state === 'closed' && circuit.failures.length >= this.failureThreshold) {
      circuit.openedAt = now;
      this.#set(key, circuit, 'open');
    }
  }

  #set(key: string, circuit: Circuit, state: BreakerState): void {
    circuit.state = state;
    this.#onChange?.(key, state);
  }
}

function wholeNumber(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalidOption(name, value, `a whole number of ${min} or more`);
  }
  return value;
}
