/**
 * Alerts from the seed's `cache_monitoring` block: hit rate below its threshold, memory above the
 * warning and critical thresholds, p95/p99 response time above theirs. Each alert is raised once
 * when its condition starts and cleared once when it ends, with hysteresis so that a value
 * hovering at the threshold does not flap: never an event per request.
 */
import type { CacheMonitoringConfig } from '../config/schema.ts';
import { invalidOption } from '../errors.ts';

export type AlertName =
  'hit_rate_low' | 'memory_warning' | 'memory_critical' | 'response_time_p95' | 'response_time_p99';

export interface AlertEvent {
  readonly type: 'alert';
  readonly state: 'raised' | 'cleared';
  readonly name: AlertName;
  readonly severity: 'warning' | 'critical';
  /** The measured value: a ratio in [0, 1] or seconds. */
  readonly value: number;
  readonly threshold: number;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly message: string;
}

export interface AlertThresholds {
  /** Raise when the hit ratio over the window falls below this (0..1). */
  readonly hitRate?: number | undefined;
  /** Raise when memory held / limit reaches these (0..1). */
  readonly memoryWarning?: number | undefined;
  readonly memoryCritical?: number | undefined;
  /** Seconds. */
  readonly p95?: number | undefined;
  readonly p99?: number | undefined;
}

export interface AlertHysteresis {
  /** A ratio alert clears this far back on the safe side of its threshold. Default 0.05. */
  readonly ratio?: number;
  /** A latency alert clears below threshold × this factor. Default 0.8. */
  readonly latencyFactor?: number;
}

/** What one evaluation looks at, measured over the alert window. */
export interface AlertInput {
  readonly hitRatio: number | undefined;
  /** Cacheable requests in the window: a hit ratio over fewer than `minRequests` is not judged. */
  readonly requests: number;
  readonly memoryRatio: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
}

/** Thresholds of a validated `cache_monitoring` block (`LoadedConfig.cacheMonitoring`). */
export function thresholdsFromMonitoring(config: CacheMonitoringConfig): AlertThresholds {
  const m = config.metrics;
  return {
    hitRate: m.hitRate?.alertThreshold,
    memoryWarning: m.memoryUsage?.warningThreshold,
    memoryCritical: m.memoryUsage?.criticalThreshold,
    p95: m.responseTime?.p95Threshold,
    p99: m.responseTime?.p99Threshold,
  };
}

interface Rule {
  readonly name: AlertName;
  readonly severity: 'warning' | 'critical';
  readonly threshold: number;
  /** The value to judge, or undefined when there is not enough data (state is kept). */
  readonly measure: (input: AlertInput) => number | undefined;
  readonly breached: (value: number) => boolean;
  readonly recovered: (value: number) => boolean;
  readonly describe: (value: number) => string;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const ms = (x: number): string => `${(x * 1000).toFixed(1)} ms`;

function checkRatio(name: string, value: number | undefined): void {
  if (value !== undefined && !(typeof value === 'number' && value >= 0 && value <= 1)) {
    throw invalidOption(name, value, 'a ratio from 0 to 1');
  }
}

export class AlertEvaluator {
  readonly #rules: Rule[] = [];
  readonly #active = new Map<AlertName, AlertEvent>();
  readonly #minRequests: number;

  constructor(thresholds: AlertThresholds, hysteresis: AlertHysteresis = {}, minRequests = 20) {
    const margin = hysteresis.ratio ?? 0.05;
    const factor = hysteresis.latencyFactor ?? 0.8;
    checkRatio('alerts.hitRate', thresholds.hitRate);
    checkRatio('alerts.memoryWarning', thresholds.memoryWarning);
    checkRatio('alerts.memoryCritical', thresholds.memoryCritical);
    checkRatio('alerts.hysteresis.ratio', margin);
    if (!(factor > 0 && factor <= 1)) {
      throw invalidOption('alerts.hysteresis.latencyFactor', factor, 'a number in (0, 1]');
    }
    for (const key of ['p95', 'p99'] as const) {
      const value = thresholds[key];
      if (value !== undefined && !(typeof value === 'number' && value > 0)) {
        throw invalidOption(`alerts.${key}`, value, 'a positive number of seconds');
      }
    }
    this.#minRequests = minRequests;
    const { hitRate, memoryWarning, memoryCritical, p95, p99 } = thresholds;
    if (hitRate !== undefined) {
      this.#rules.push({
        name: 'hit_rate_low',
        severity: 'warning',
        threshold: hitRate,
        measure: (i) => (i.requests >= this.#minRequests ? i.hitRatio : undefined),
        breached: (v) => v < hitRate,
        recovered: (v) => v >= hitRate + margin,
        describe: (v) => `cache hit rate ${pct(v)} (threshold ${pct(hitRate)})`,
      });
    }
    const memory = (
      name: AlertName,
      severity: 'warning' | 'critical',
      threshold: number,
    ): Rule => ({
      name,
      severity,
      threshold,
      measure: (i) => i.memoryRatio,
      breached: (v) => v >= threshold,
      recovered: (v) => v < threshold - margin,
      describe: (v) => `cache memory at ${pct(v)} of its limit (${severity} at ${pct(threshold)})`,
    });
    if (memoryWarning !== undefined)
      this.#rules.push(memory('memory_warning', 'warning', memoryWarning));
    if (memoryCritical !== undefined) {
      this.#rules.push(memory('memory_critical', 'critical', memoryCritical));
    }
    const latency = (name: AlertName, key: 'p95' | 'p99', threshold: number): Rule => ({
      name,
      severity: 'warning',
      threshold,
      measure: (i) => i[key],
      breached: (v) => v > threshold,
      recovered: (v) => v <= threshold * factor,
      describe: (v) => `${key} response time ${ms(v)} (threshold ${ms(threshold)})`,
    });
    if (p95 !== undefined) this.#rules.push(latency('response_time_p95', 'p95', p95));
    if (p99 !== undefined) this.#rules.push(latency('response_time_p99', 'p99', p99));
  }

  get enabled(): boolean {
    return this.#rules.length > 0;
  }

  /** The alerts raised and not yet cleared. */
  active(): AlertEvent[] {
    return [...this.#active.values()];
  }

  /** Judges one measurement; returns the transitions (usually none). */
  evaluate(input: AlertInput, now: number): AlertEvent[] {
    const transitions: AlertEvent[] = [];
    for (const rule of this.#rules) {
      const value = rule.measure(input);
      if (value === undefined || !Number.isFinite(value)) continue;
      const raised = this.#active.has(rule.name);
      if (!raised && rule.breached(value)) {
        const event: AlertEvent = {
          type: 'alert',
          state: 'raised',
          name: rule.name,
          severity: rule.severity,
          value,
          threshold: rule.threshold,
          at: now,
          message: rule.describe(value),
        };
        this.#active.set(rule.name, event);
        transitions.push(event);
      } else if (raised && rule.recovered(value)) {
        this.#active.delete(rule.name);
        transitions.push({
          type: 'alert',
          state: 'cleared',
          name: rule.name,
          severity: rule.severity,
          value,
          threshold: rule.threshold,
          at: now,
          message: `${rule.name} cleared: ${rule.describe(value)}`,
        });
      }
    }
    return transitions;
  }
}
