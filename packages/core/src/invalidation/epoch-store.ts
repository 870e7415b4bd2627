import type { MaybePromise } from '../types.ts';
import type { EpochRecord } from './epochs.ts';

/**
 * Where a fleet keeps its purge epochs, so that an instance that starts (or reconnects after
 * missing messages) learns every purge it did not see. One hash per namespace in Redis.
 */
export interface EpochStore {
  /** Every epoch recorded. */
  load(): Promise<readonly EpochRecord[]>;
  /** Records epochs; where one exists for the same field, the later time wins (racing purges). */
  save(records: readonly EpochRecord[]): Promise<void>;
  /** Forgets epochs older than `before` (epoch ms). */
  prune?(before: number): Promise<void>;
  close?(): MaybePromise<void>;
}

/**
 * The field an epoch is kept under: `t:h:user:42`, `t:s:user:42`, `p:h:products:*`, `a:h:`.
 * Kind and softness come first so a tag may contain any character.
 */
export function epochField(record: Pick<EpochRecord, 'kind' | 'name' | 'soft'>): string {
  const kind = record.kind === 'tag' ? 't' : record.kind === 'pattern' ? 'p' : 'a';
  return `${kind}:${record.soft ? 's' : 'h'}:${record.kind === 'all' ? '' : record.name}`;
}

/** The record behind a field written by `epochField`, or undefined for a foreign field. */
export function parseEpochField(field: string, value: string | number): EpochRecord | undefined {
  const at = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(at) || field.length < 4 || field[1] !== ':' || field[3] !== ':') {
    return undefined;
  }
  const kind =
    field[0] === 't' ? 'tag' : field[0] === 'p' ? 'pattern' : field[0] === 'a' ? 'all' : undefined;
  const soft = field[2] === 's' ? true : field[2] === 'h' ? false : undefined;
  if (kind === undefined || soft === undefined) return undefined;
  const name = field.slice(4);
  if (kind !== 'all' && name === '') return undefined;
  return { kind, name, soft, at };
}

/** An epoch store in this process: for one instance, or tests. */
export function createMemoryEpochStore(): EpochStore & {
  readonly fields: ReadonlyMap<string, number>;
} {
  const fields = new Map<string, number>();
  return {
    fields,
    load() {
      const out: EpochRecord[] = [];
      for (const [field, at] of fields) {
        const record = parseEpochField(field, at);
        if (record !== undefined) out.push(record);
      }
      return Promise.resolve(out);
    },
    save(records) {
      for (const record of records) {
        const field = epochField(record);
        if ((fields.get(field) ?? Number.NEGATIVE_INFINITY) < record.at)
          fields.set(field, record.at);
      }
      return Promise.resolve();
    },
    prune(before) {
      for (const [field, at] of fields) if (at < before) fields.delete(field);
      return Promise.resolve();
    },
  };
}
