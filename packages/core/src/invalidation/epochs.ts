import { globToRegExp } from '../memory-store.ts';
import type { CacheEntry, EntryValidator, EntryValidity } from '../types.ts';

/**
 * One purge recorded as a time: entries whose fetch began before `at` are purged when read.
 * `tag` names one tag, `pattern` a tag glob (`products:*`), `all` the whole namespace (`name` is
 * empty): a version bump.
 */
export interface EpochRecord {
  readonly kind: 'tag' | 'pattern' | 'all';
  readonly name: string;
  /** Soft: the entry turns stale (still there for stale-if-error) rather than unreachable. */
  readonly soft: boolean;
  /** Epoch milliseconds. */
  readonly at: number;
}

interface PatternEpoch {
  readonly glob: string;
  readonly regex: RegExp;
  hard: number;
  soft: number;
}

/**
 * Tag epochs held in memory: the read-time check behind tag, version and soft purges.
 *
 * A purge records one number per tag, whatever the number of entries carrying it; a read compares
 * the entry's `fetchedAt` with the epochs of its tags. Comparing with the time the fetch *began*
 * (not when it was stored) is what makes a purge that lands during a fetch win: the body fetched
 * before the purge is older than the epoch, so it never becomes reachable. A fetch that began in
 * the same millisecond as the purge counts as before it: at worst one extra miss, never a
 * pre-purge body.
 */
export class EpochTable implements EntryValidator {
  readonly #hard = new Map<string, number>();
  readonly #soft = new Map<string, number>();
  #allHard = Number.NEGATIVE_INFINITY;
  #allSoft = Number.NEGATIVE_INFINITY;
  #patterns: PatternEpoch[] = [];

  /** The hit path: no I/O, no allocation, a Map lookup per tag of the entry. */
  check(entry: CacheEntry, _now: number): EntryValidity {
    const fetchedAt = entry.fetchedAt;
    if (this.#allHard >= fetchedAt) return 'invalid';
    let stale = this.#allSoft >= fetchedAt;
    const tags = entry.tags;
    const count = tags.length;
    if (count === 0) return stale ? 'stale' : 'valid';
    if (this.#hard.size !== 0 || this.#soft.size !== 0) {
      for (let i = 0; i < count; i++) {
        const tag = tags[i]!;
        const hard = this.#hard.get(tag);
        if (hard !== undefined && hard >= fetchedAt) return 'invalid';
        if (!stale) {
          const soft = this.#soft.get(tag);
          if (soft !== undefined && soft >= fetchedAt) stale = true;
        }
      }
    }
    const patterns = this.#patterns;
    for (let p = 0; p < patterns.length; p++) {
      const pattern = patterns[p]!;
      const hard = pattern.hard >= fetchedAt;
      if (!hard && (stale || !(pattern.soft >= fetchedAt))) continue;
      for (let i = 0; i < count; i++) {
        if (!pattern.regex.test(tags[i]!)) continue;
        if (hard) return 'invalid';
        stale = true;
        break;
      }
    }
    return stale ? 'stale' : 'valid';
  }

  /** Records an epoch, keeping the later time when one exists. Returns true when it changed. */
  apply(record: EpochRecord): boolean {
    const at = record.at;
    if (!Number.isFinite(at)) return false;
    switch (record.kind) {
      case 'all':
        if (record.soft) {
          if (at <= this.#allSoft) return false;
          this.#allSoft = at;
        } else {
          if (at <= this.#allHard) return false;
          this.#allHard = at;
        }
        return true;
      case 'tag': {
        const map = record.soft ? this.#soft : this.#hard;
        const current = map.get(record.name);
        if (current !== undefined && current >= at) return false;
        map.set(record.name, at);
        return true;
      }
      case 'pattern': {
        let pattern = this.#patterns.find((p) => p.glob === record.name);
        if (pattern === undefined) {
          pattern = {
            glob: record.name,
            regex: globToRegExp(record.name),
            hard: Number.NEGATIVE_INFINITY,
            soft: Number.NEGATIVE_INFINITY,
          };
          // A new array, so a check running over the old one is never disturbed.
          this.#patterns = [...this.#patterns, pattern];
        }
        if (record.soft) {
          if (at <= pattern.soft) return false;
          pattern.soft = at;
        } else {
          if (at <= pattern.hard) return false;
          pattern.hard = at;
        }
        return true;
      }
      default:
        return record.kind satisfies never;
    }
  }

  /** The latest hard epoch of a tag (its version), or 0 when it was never purged. */
  versionOf(tag: string): number {
    return this.#hard.get(tag) ?? 0;
  }

  /** The namespace version: the latest `invalidateAll`, or 0. */
  get namespaceVersion(): number {
    return Number.isFinite(this.#allHard) ? this.#allHard : 0;
  }

  /**
   * Forgets epochs older than `before`. Safe once no entry fetched before `before` can still be
   * stored (entries older than the longest TTL plus stale windows).
   */
  prune(before: number): number {
    let removed = 0;
    for (const map of [this.#hard, this.#soft]) {
      for (const [tag, at] of map) {
        if (at < before) {
          map.delete(tag);
          removed++;
        }
      }
    }
    const kept = this.#patterns.filter((p) => Math.max(p.hard, p.soft) >= before);
    removed += this.#patterns.length - kept.length;
    this.#patterns = kept;
    return removed;
  }

  /** Every epoch held, for persistence and diagnostics. */
  records(): EpochRecord[] {
    const out: EpochRecord[] = [];
    if (Number.isFinite(this.#allHard))
      out.push({ kind: 'all', name: '', soft: false, at: this.#allHard });
    if (Number.isFinite(this.#allSoft))
      out.push({ kind: 'all', name: '', soft: true, at: this.#allSoft });
    for (const [name, at] of this.#hard) out.push({ kind: 'tag', name, soft: false, at });
    for (const [name, at] of this.#soft) out.push({ kind: 'tag', name, soft: true, at });
    for (const p of this.#patterns) {
      if (Number.isFinite(p.hard))
        out.push({ kind: 'pattern', name: p.glob, soft: false, at: p.hard });
      if (Number.isFinite(p.soft))
        out.push({ kind: 'pattern', name: p.glob, soft: true, at: p.soft });
    }
    return out;
  }

  /** Number of tag epochs held (hard and soft). */
  get size(): number {
    return this.#hard.size + this.#soft.size + this.#patterns.length;
  }
}
