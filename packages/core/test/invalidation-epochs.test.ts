import { describe, expect, it } from 'vitest';
import { createHttpCache, type HttpCache } from '../src/engine.ts';
import { createMemoryEpochStore, createInvalidation } from '../src/invalidation/index.ts';
import { createMemoryStore } from '../src/memory-store.ts';
import type { HeaderList } from '../src/types.ts';
import type { Origin } from '../src/origin.ts';
import { createManualClock, makeEntry } from '../src/testing/index.ts';

/** An origin answering 200 with the given fields; `count.calls` proves hits and misses. */
function origin(
  count: { calls: number },
  body: string,
  headers: HeaderList = [['cache-control', 'max-age=600']],
  status = 200,
): Origin {
  return async (call) => {
    count.calls++;
    const bytes = new TextEncoder().encode(body);
    const fields: HeaderList = [['content-type', 'text/plain'], ...headers];
    const action = call.head(status, fields, bytes);
    return Promise.resolve({
      status,
      headers: fields,
      body: action.capture ? bytes : undefined,
      complete: true,
    });
  };
}

/** Text the client gets: the stored body on a hit, the origin's (streamed) body on a miss. */
async function get(
  cache: HttpCache,
  url: string,
  org: Origin,
): Promise<{ hit: boolean; status: number; body: string | undefined; cacheStatus: string }> {
  const result = await cache.handle({ method: 'GET', url, headers: {} }, org);
  if (result.type === 'send') {
    const status = result.response.headers.find(([n]) => n === 'cache-status')?.[1] ?? '';
    return {
      hit: true,
      status: result.response.status,
      body:
        result.response.body === undefined
          ? undefined
          : new TextDecoder().decode(result.response.body),
      cacheStatus: status,
    };
  }
  return { hit: false, status: 0, body: undefined, cacheStatus: '' };
}

function setup() {
  const clock = createManualClock();
  const invalidation = createInvalidation({ clock });
  const cache = createHttpCache({
    clock,
    store: createMemoryStore({ clock }),
    validator: invalidation,
  });
  invalidation.attach(cache);
  return { clock, invalidation, cache };
}

describe('tag purges (epochs)', () => {
  it('makes every entry carrying the tag a miss, and only those', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const tagged = origin(count, 'user 42', [
      ['cache-control', 'max-age=600'],
      ['cache-tag', 'user:42, profiles'],
    ]);
    const other = origin(count, 'user 7', [
      ['cache-control', 'max-age=600'],
      ['cache-tag', 'user:7'],
    ]);
    await get(cache, '/api/users/42', tagged);
    await get(cache, '/api/users/42/orders', tagged);
    await get(cache, '/api/users/7', other);
    expect(count.calls).toBe(3);
    expect((await get(cache, '/api/users/42', tagged)).hit).toBe(true);
    clock.advance(1);
    expect(await invalidation.invalidateTags(['user:42'])).toBe(1);
    // A fetch in the purge's own millisecond counts as before it: time moves on first.
    clock.advance(1);
    expect((await get(cache, '/api/users/42', tagged)).hit).toBe(false);
    expect((await get(cache, '/api/users/42/orders', tagged)).hit).toBe(false);
    expect((await get(cache, '/api/users/7', other)).hit).toBe(true);
    expect(count.calls).toBe(5);
    // What was fetched after the purge is reachable again.
    expect((await get(cache, '/api/users/42', tagged)).hit).toBe(true);
  });

  it('treats "*" as a tag like any other, never as everything', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const plain = origin(count, 'x', [
      ['cache-control', 'max-age=600'],
      ['cache-tag', 'a'],
    ]);
    const star = origin(count, 'y', [
      ['cache-control', 'max-age=600'],
      ['cache-tag', '*'],
    ]);
    await get(cache, '/a', plain);
    await get(cache, '/star', star);
    clock.advance(1);
    await invalidation.invalidateTags(['*']);
    expect((await get(cache, '/a', plain)).hit).toBe(true);
    expect((await get(cache, '/star', star)).hit).toBe(false);
  });

  it('purges a tag fetched before the purge even when stored after it (fetchedAt wins)', () => {
    const { invalidation, clock } = setup();
    const fetchedAt = clock.now();
    clock.advance(100);
    const purgedAt = clock.now();
    void invalidation.invalidateTags(['t']);
    clock.advance(100);
    const entry = makeEntry('k', { tags: ['t'], fetchedAt, storedAt: clock.now() });
    expect(invalidation.check(entry, clock.now())).toBe('invalid');
    // Same millisecond as the purge: treated as before it.
    expect(invalidation.check({ ...entry, fetchedAt: purgedAt }, clock.now())).toBe('invalid');
    expect(invalidation.check({ ...entry, fetchedAt: clock.now() }, clock.now())).toBe('valid');
  });

  it('tag globs purge entries whose tags match', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const product = origin(count, 'p', [
      ['cache-control', 'max-age=600'],
      ['cache-tag', 'products:123'],
    ]);
    const user = origin(count, 'u', [
      ['cache-control', 'max-age=600'],
      ['cache-tag', 'users:1'],
    ]);
    await get(cache, '/p/123', product);
    await get(cache, '/u/1', user);
    clock.advance(1);
    await invalidation.invalidate({ patterns: ['products:*'] });
    expect((await get(cache, '/p/123', product)).hit).toBe(false);
    expect((await get(cache, '/u/1', user)).hit).toBe(true);
  });
});

describe('versions', () => {
  it('a namespace version bump makes every entry unreachable at once', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const untagged = origin(count, 'body');
    for (let i = 0; i < 20; i++) await get(cache, `/n/${i}`, untagged);
    expect(count.calls).toBe(20);
    clock.advance(1);
    expect(invalidation.epochs.namespaceVersion).toBe(0);
    await invalidation.invalidateAll();
    expect(invalidation.epochs.namespaceVersion).toBe(clock.now());
    for (let i = 0; i < 20; i++) expect((await get(cache, `/n/${i}`, untagged)).hit).toBe(false);
    expect(count.calls).toBe(40);
  });

  it('an entity version bump leaves entries of the old version unreachable', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const profile = origin(count, 'v1', [
      ['cache-control', 'max-age=600'],
      ['surrogate-key', 'user:42'],
    ]);
    await get(cache, '/users/42', profile);
    expect(invalidation.versionOf('user:42')).toBe(0);
    clock.advance(5);
    const version = await invalidation.bumpVersion('user:42');
    expect(version).toBe(clock.now());
    expect(invalidation.versionOf('user:42')).toBe(version);
    clock.advance(1);
    expect((await get(cache, '/users/42', profile)).hit).toBe(false);
    expect((await get(cache, '/users/42', profile)).hit).toBe(true);
  });
});

describe('soft purges', () => {
  it('marks entries stale: revalidated when the origin is up, served when it is down', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const good = origin(count, 'original', [
      ['cache-control', 'max-age=600, stale-if-error=3600'],
      ['cache-tag', 'catalog'],
    ]);
    const down = origin(count, 'error', [['cache-control', 'no-store']], 503);
    await get(cache, '/catalog', good);
    clock.advance(1);
    await invalidation.invalidateTags(['catalog'], { soft: true });
    clock.advance(1);
    expect(
      invalidation.check(makeEntry('k', { tags: ['catalog'], fetchedAt: 0 }), clock.now()),
    ).toBe('stale');
    // The origin fails: the soft-purged copy is still there for stale-if-error.
    const served = await get(cache, '/catalog', down);
    expect(served.hit).toBe(true);
    expect(served.body).toBe('original');
    expect(served.cacheStatus).toContain('stale');
    expect(count.calls).toBe(2);
    // The origin is back: the stale entry is refetched, then fresh again.
    expect((await get(cache, '/catalog', good)).hit).toBe(false);
    expect((await get(cache, '/catalog', good)).hit).toBe(true);
  });

  it('a hard purge leaves nothing for stale-if-error', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const good = origin(count, 'original', [
      ['cache-control', 'max-age=600, stale-if-error=3600'],
      ['cache-tag', 'catalog'],
    ]);
    const down = origin(count, 'error', [['cache-control', 'no-store']], 503);
    await get(cache, '/catalog', good);
    clock.advance(1);
    await invalidation.invalidateTags(['catalog']);
    expect((await get(cache, '/catalog', down)).hit).toBe(false);
  });

  it('soft namespace purge: every entry stale, none lost', async () => {
    const { cache, invalidation, clock } = setup();
    const count = { calls: 0 };
    const good = origin(count, 'kept', [['cache-control', 'max-age=600, stale-if-error=60']]);
    const down = origin(count, 'error', [], 500);
    await get(cache, '/x', good);
    clock.advance(1);
    await invalidation.invalidateAll({ soft: true });
    const served = await get(cache, '/x', down);
    expect(served.body).toBe('kept');
    expect(count.calls).toBe(2);
  });
});

describe('persisted epochs', () => {
  it('an instance that starts later learns earlier purges from the epoch store', async () => {
    const clock = createManualClock();
    const epochStore = createMemoryEpochStore();
    const first = createInvalidation({ clock, epochStore, reloadIntervalMs: 0 });
    await first.start();
    await first.invalidateTags(['a', 'b'], {});
    await first.invalidateTags(['c'], { soft: true });
    await first.invalidateAll();
    const second = createInvalidation({ clock, epochStore, reloadIntervalMs: 0 });
    const entry = makeEntry('k', { tags: ['c'], fetchedAt: clock.now() - 1 });
    const fresh = { ...entry, fetchedAt: clock.now() + 1 };
    expect(second.check(entry, clock.now())).toBe('valid');
    await second.start();
    expect(second.check(entry, clock.now())).toBe('invalid');
    expect(second.versionOf('a')).toBe(clock.now());
    expect(second.check(fresh, clock.now())).toBe('valid');
    first.close();
    second.close();
  });

  it('keeps the later epoch when purges race', async () => {
    const epochStore = createMemoryEpochStore();
    await epochStore.save([{ kind: 'tag', name: 't', soft: false, at: 200 }]);
    await epochStore.save([{ kind: 'tag', name: 't', soft: false, at: 100 }]);
    expect(await epochStore.load()).toEqual([{ kind: 'tag', name: 't', soft: false, at: 200 }]);
  });

  it('forgets epochs older than the retention', async () => {
    const clock = createManualClock();
    const invalidation = createInvalidation({ clock, retentionMs: 1000, reloadIntervalMs: 0 });
    await invalidation.invalidateTags(['old']);
    clock.advance(2000);
    await invalidation.invalidateTags(['new']);
    await invalidation.reload();
    expect(invalidation.epochs.size).toBe(2);
    invalidation.epochs.prune(clock.now() - 1000);
    expect(invalidation.versionOf('old')).toBe(0);
    expect(invalidation.versionOf('new')).toBe(clock.now());
  });
});

describe('a tag held by 100,000 entries', () => {
  it('is purged in well under 50 ms, and reads after it miss', async () => {
    const clock = createManualClock();
    const invalidation = createInvalidation({ clock });
    const store = createMemoryStore({ clock, maxEntries: 200_000, maxBytes: 512 * 1024 * 1024 });
    const cache = createHttpCache({ clock, store, validator: invalidation });
    invalidation.attach(cache);
    const now = clock.now();
    for (let i = 0; i < 100_000; i++) {
      const key = `gc1:default:/items/${i}`;
      store.set(
        key,
        makeEntry(
          key,
          {
            tags: ['hot', `item:${i}`],
            fetchedAt: now,
            storedAt: now,
            staleAt: now + 600_000,
            deleteAt: now + 1_200_000,
          },
          now,
        ),
        1_200_000,
      );
    }
    const count = { calls: 0 };
    const org = origin(count, 'refetched');
    expect((await get(cache, '/items/5', org)).hit).toBe(true);
    clock.advance(1);
    const started = performance.now();
    await invalidation.invalidateTags(['hot']);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(50);
    for (const i of [0, 1, 5, 4242, 99_999]) {
      expect((await get(cache, `/items/${i}`, org)).hit).toBe(false);
    }
    expect(count.calls).toBe(5);
    expect(store.size).toBeGreaterThanOrEqual(100_000);
  });
});
