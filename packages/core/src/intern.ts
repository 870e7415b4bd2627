import type { EntryFlags, HeaderList } from './types.ts';

/**
 * Shares the parts that repeat across thousands of entries (header fields such as
 * `content-type: application/json`, directive summaries, empty vary and tag sets), so an entry
 * costs its body and little more. Bounded: past `limit` distinct values, new ones are kept as
 * they are.
 */
export class Interner {
  readonly #fields = new Map<string, [string, string]>();
  readonly #flags = new Map<string, EntryFlags>();
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  /** The same pair object for the same field, for fields short enough to be shared. */
  headers(headers: HeaderList): HeaderList {
    const out: HeaderList = new Array<[string, string]>(headers.length);
    for (let i = 0; i < headers.length; i++) {
      const field = headers[i]!;
      if (field[1].length > 128) {
        out[i] = field;
        continue;
      }
      const id = `${field[0]}\n${field[1]}`;
      let shared = this.#fields.get(id);
      if (shared === undefined) {
        shared = field;
        if (this.#fields.size < this.#limit) this.#fields.set(id, shared);
      }
      out[i] = shared;
    }
    return out;
  }

  flags(flags: EntryFlags): EntryFlags {
    const id = `${+flags.mustRevalidate}${+flags.noCache}:${flags.staleWhileRevalidate}:${flags.staleIfError}`;
    const shared = this.#flags.get(id);
    if (shared !== undefined) return shared;
    const frozen = Object.freeze({ ...flags });
    if (this.#flags.size < this.#limit) this.#flags.set(id, frozen);
    return frozen;
  }
}

export const EMPTY_VARY: Readonly<Record<string, string | null>> = Object.freeze({});
export const EMPTY_TAGS: readonly string[] = Object.freeze([]);
