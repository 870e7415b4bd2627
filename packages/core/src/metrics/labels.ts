/**
 * Label values. Every label has a bounded set of values: a policy (rule) name or a route
 * template, never a path, a user or a token (one series per URL would grow without bound and
 * would leak identifiers into the monitoring system).
 */
import { digest } from '../hash.ts';

/** The label of requests no rule named. */
export const DEFAULT_POLICY_LABEL = 'default';
/** The label of every policy name beyond the cap. */
export const OTHER_LABEL = 'other';

/** Keeps at most `limit` distinct label values; later ones are folded into `other`. */
export class BoundedLabel {
  readonly #seen = new Set<string>();

  constructor(readonly limit: number) {}

  value(raw: string | undefined): string {
    if (raw === undefined || raw === '') return DEFAULT_POLICY_LABEL;
    // Names are the user's rule names: printable, short, no quotes or control characters.
    const clean = raw.replace(/[^\w.:/{}*@-]/g, '_').slice(0, 64);
    if (this.#seen.has(clean)) return clean;
    if (this.#seen.size >= this.limit) return OTHER_LABEL;
    this.#seen.add(clean);
    return clean;
  }
}

/** The marker of a private (per-user) key: the partition hash follows it. */
export const PRIVATE_KEY_MARKER = ' p=';

/**
 * A key as the admin endpoint shows it: a private key (one that holds a partition hash) only as a
 * digest of the whole key, so that two users' entries for one URL cannot even be told apart by
 * their URL.
 */
export function displayKey(key: string): string {
  return key.includes(PRIVATE_KEY_MARKER) ? `private:${digest(key).slice(0, 16)}` : key;
}

/** Whether a key is private. */
export function isPrivateKey(key: string): boolean {
  return key.includes(PRIVATE_KEY_MARKER);
}
