import { systemClock } from '../clock.ts';
import { invalidOption } from '../errors.ts';
import { createMemoryStore, globToRegExp, type MemoryStore } from '../memory-store.ts';
import type { CacheStore, Clock, StoredRecord } from '../types.ts';
import { tenantOfKey } from './key-parts.ts';

/** The bounds of one budget: every key the resolver maps to `name` shares them. */
export interface Budget {
  readonly name: string;
  readonly maxBytes: number;
  readonly maxEntries: number;
  /** Largest single record. Default: a tenth of `maxBytes` (as the memory store). */
  readonly maxEntryBytes?: number;
}

export type BudgetLimits = Omit<Budget, 'name'>;

export interface BudgetedMemoryStoreOptions {
  /** The budget of a key. Must be a pure function of the key: the same key, the same budget. */
  readonly budgets: (key: string) => Budget;
  /**
   * How many budgets are held at once (each its own LRU). Names beyond it share the `overflow`
   * budget rather than push out a budget in use, so a stream of new tenant names cannot evict the
   * tenants already cached. Default 1,000.
   */
  readonly maxBudgets?: number;
  /** Limits of the shared overflow budget. Default 8 MiB / 1,000 entries. */
  readonly overflow?: BudgetLimits;
  readonly clock?: Clock;
  /** A record pushed out to make room in its budget. */
  readonly onEvict?: (budget: string, key: string) => void;
}

export interface BudgetUsage {
  readonly name: string;
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly evictions: number;
}

/** Name of the budget shared by keys whose own budget could not be held (see `maxBudgets`). */
export const OVERFLOW_BUDGET = '~overflow';

/**
 * A memory tier made of one bounded LRU per budget (a tenant, a route, a tenant's route): a
 * flood of one tenant's entries evicts only that tenant's entries. Budgets are created on first
 * write and dropped when empty.
 */
export function createBudgetedMemoryStore(
  options: BudgetedMemoryStoreOptions,
): BudgetedMemoryStore {
  if (options === null || typeof options !== 'object') {
    throw invalidOption('options', options, 'an object with budgets');
  }
  if (typeof options.budgets !== 'function') {
    throw invalidOption(
      'budgets',
      options.budgets,
      'a function (key) => { name, maxBytes, maxEntries }',
    );
  }
  const maxBudgets = options.maxBudgets ?? 1000;
  if (!Number.isSafeInteger(maxBudgets) || maxBudgets < 1) {
    throw invalidOption('maxBudgets', options.maxBudgets, 'a positive integer');
  }
  const overflow = {
    name: OVERFLOW_BUDGET,
    ...(options.overflow ?? { maxBytes: 8 * 1024 * 1024, maxEntries: 1000 }),
  };
  validateBudget(overflow, 'overflow');
  if (options.onEvict !== undefined && typeof options.onEvict !== 'function') {
    throw invalidOption('onEvict', options.onEvict, 'a function');
  }
  return new BudgetedMemoryStore(
    options.budgets,
    maxBudgets,
    overflow,
    options.clock ?? systemClock,
    options.onEvict,
  );
}

interface Held {
  readonly budget: Budget;
  readonly store: MemoryStore;
}

export class BudgetedMemoryStore implements CacheStore {
  readonly name = 'memory-budgeted';
  readonly local = true;
  readonly maxBudgets: number;
  readonly #resolve: (key: string) => Budget;
  readonly #overflowBudget: Budget;
  readonly #clock: Clock;
  readonly #onEvict: ((budget: string, key: string) => void) | undefined;
  /** Insertion order is recency: a budget used again moves to the end. */
  readonly #held = new Map<string, Held>();
  #overflow: Held | undefined;

  constructor(
    resolve: (key: string) => Budget,
    maxBudgets: number,
    overflow: Budget,
    clock: Clock,
    onEvict: ((budget: string, key: string) => void) | undefined,
  ) {
    this.#resolve = resolve;
    this.maxBudgets = maxBudgets;
    this.#overflowBudget = overflow;
    this.#clock = clock;
    this.#onEvict = onEvict;
  }

  get(key: string): StoredRecord | undefined {
    const own = this.#held.get(this.#budgetOf(key).name);
    return own?.store.get(key) ?? this.#overflow?.store.get(key);
  }

  set(key: string, record: StoredRecord, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    const budget = this.#budgetOf(key);
    const held = this.#hold(budget);
    // A key lives in one place only: a purge must never leave an older copy to be found later.
    if (held !== this.#overflow) this.#overflow?.store.delete(key);
    else this.#held.get(budget.name)?.store.delete(key);
    held.store.set(key, record, ttlMs);
  }

  delete(key: string): void {
    this.#held.get(this.#budgetOf(key).name)?.store.delete(key);
    this.#overflow?.store.delete(key);
  }

  clear(): void {
    this.#held.clear();
    this.#overflow = undefined;
  }

  async *scan(match: string, batchSize = 1000): AsyncIterable<string> {
    const pattern = globToRegExp(match);
    let seen = 0;
    const stores = [...this.#held.values(), ...(this.#overflow ? [this.#overflow] : [])];
    for (const { store } of stores) {
      for (const key of [...store.keys()]) {
        if (pattern.test(key)) yield key;
        if (++seen % batchSize === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /** Entries, bytes and evictions of every budget held (the overflow budget last, when used). */
  usage(): BudgetUsage[] {
    const all = [...this.#held.values(), ...(this.#overflow ? [this.#overflow] : [])];
    return all.map(({ budget, store }) => ({
      name: budget.name,
      entries: store.size,
      bytes: store.bytes,
      maxBytes: budget.maxBytes,
      maxEntries: budget.maxEntries,
      evictions: store.evictions,
    }));
  }

  /** Usage of one budget, or undefined when it holds nothing. */
  usageOf(name: string): BudgetUsage | undefined {
    return this.usage().find((usage) => usage.name === name);
  }

  #budgetOf(key: string): Budget {
    const budget = this.#resolve(key);
    if (
      budget === null ||
      typeof budget !== 'object' ||
      typeof budget.name !== 'string' ||
      budget.name === ''
    ) {
      throw invalidOption('budgets', budget, 'a function returning { name, maxBytes, maxEntries }');
    }
    return budget;
  }

  #hold(budget: Budget): Held {
    const existing = this.#held.get(budget.name);
    if (existing !== undefined) {
      this.#held.delete(budget.name);
      this.#held.set(budget.name, existing);
      return existing;
    }
    if (this.#held.size >= this.maxBudgets) this.#dropEmpty();
    if (this.#held.size >= this.maxBudgets) {
      this.#overflow ??= this.#create(this.#overflowBudget);
      return this.#overflow;
    }
    validateBudget(budget, `budgets("${budget.name}")`);
    const held = this.#create(budget);
    this.#held.set(budget.name, held);
    return held;
  }

  #create(budget: Budget): Held {
    const onEvict = this.#onEvict;
    const store = createMemoryStore({
      maxBytes: budget.maxBytes,
      maxEntries: budget.maxEntries,
      ...(budget.maxEntryBytes === undefined ? {} : { maxEntryBytes: budget.maxEntryBytes }),
      clock: this.#clock,
      ...(onEvict === undefined ? {} : { onEvict: (key: string) => onEvict(budget.name, key) }),
    });
    return { budget, store };
  }

  /** Budgets whose every record expired or was deleted give their slot back. */
  #dropEmpty(): void {
    for (const [name, { store }] of this.#held) {
      if (store.keys().next().done === true) this.#held.delete(name);
    }
  }
}

function validateBudget(budget: Budget, name: string): void {
  if (!Number.isSafeInteger(budget.maxBytes) || budget.maxBytes < 1024) {
    throw invalidOption(`${name}.maxBytes`, budget.maxBytes, 'an integer of at least 1024');
  }
  if (!Number.isSafeInteger(budget.maxEntries) || budget.maxEntries < 1) {
    throw invalidOption(`${name}.maxEntries`, budget.maxEntries, 'a positive integer');
  }
  const entry = budget.maxEntryBytes;
  if (
    entry !== undefined &&
    (!Number.isSafeInteger(entry) || entry < 1 || entry > budget.maxBytes)
  ) {
    throw invalidOption(
      `${name}.maxEntryBytes`,
      entry,
      `an integer from 1 to maxBytes (${budget.maxBytes})`,
    );
  }
}

/** A route budget: keys whose text matches `match` share `limits` (within their tenant). */
export interface RouteBudget extends BudgetLimits {
  readonly name: string;
  readonly match: RegExp | ((key: string) => boolean);
}

export interface TenantBudgetOptions {
  /** Limits of each tenant's space. */
  readonly tenant: BudgetLimits;
  /** Limits of the shared (tenant-less) space. Default: those of a tenant. */
  readonly shared?: BudgetLimits;
  /** Routes with a budget of their own inside each tenant's space, first match wins. */
  readonly routes?: readonly RouteBudget[];
}

/**
 * A `budgets` resolver: one budget per tenant (read from the key's namespace, `~<tenant hash>`),
 * one for the shared space, and optional route budgets inside each.
 */
export function budgetPerTenant(options: TenantBudgetOptions): (key: string) => Budget {
  const routes = options.routes ?? [];
  for (const [index, route] of routes.entries()) {
    if (typeof route.name !== 'string' || route.name === '') {
      throw invalidOption(`routes[${index}].name`, route.name, 'a non-empty string');
    }
    validateBudget({ ...route }, `routes[${index}]`);
  }
  validateBudget({ name: 'tenant', ...options.tenant }, 'tenant');
  const shared = options.shared ?? options.tenant;
  validateBudget({ name: 'shared', ...shared }, 'shared');
  return (key) => {
    const tenant = tenantOfKey(key);
    const space = tenant === undefined ? 'shared' : `tenant:${tenant}`;
    for (const route of routes) {
      const matches = typeof route.match === 'function' ? route.match(key) : route.match.test(key);
      if (matches) {
        return {
          name: `${space}|route:${route.name}`,
          maxBytes: route.maxBytes,
          maxEntries: route.maxEntries,
          ...(route.maxEntryBytes === undefined ? {} : { maxEntryBytes: route.maxEntryBytes }),
        };
      }
    }
    const limits = tenant === undefined ? shared : options.tenant;
    return { name: space, ...limits };
  };
}
