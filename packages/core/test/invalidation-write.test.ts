import { describe, expect, it } from 'vitest';
import { createHttpCache } from '../src/engine.ts';
import { createInvalidation, createWriteInvalidation } from '../src/invalidation/index.ts';
import type { Origin } from '../src/origin.ts';
import { createManualClock } from '../src/testing/index.ts';
import type { HeaderList } from '../src/types.ts';

function origin(count: { calls: number }, status: number, headers: HeaderList = []): Origin {
  return async (call) => {
    count.calls++;
    const bytes = new TextEncoder().encode('x');
    const fields: HeaderList = [['cache-control', 'max-age=600'], ...headers];
    const action = call.head(status, fields, bytes);
    return Promise.resolve({
      status,
      headers: fields,
      body: action.capture ? bytes : undefined,
      complete: true,
    });
  };
}

describe('tags purged by writes through the gateway', () => {
  const setup = () => {
    const clock = createManualClock();
    const invalidation = createInvalidation({ clock });
    const cache = createHttpCache({ clock, validator: invalidation });
    const writes = createWriteInvalidation(
      [{ pattern: '/api/users/{id}', methods: ['PUT', 'PATCH'], tags: ['user:{id}', 'users'] }],
      { invalidation },
    );
    return { clock, invalidation, cache, writes };
  };

  it('maps a write to its tags', () => {
    const { writes } = setup();
    expect(writes.tagsFor('PUT', '/api/users/42?x=1')).toEqual(['user:42', 'users']);
    expect(writes.tagsFor('DELETE', '/api/users/42')).toEqual([]);
    expect(writes.tagsFor('PUT', '/api/users/42/orders')).toEqual([]);
  });

  it('a successful PUT purges the user tag beyond its own URL; a failed one does not', async () => {
    const { cache, writes, clock } = setup();
    const count = { calls: 0 };
    const profile = origin(count, 200, [['cache-tag', 'user:42']]);
    const get = async (url: string) =>
      (await cache.handle({ method: 'GET', url, headers: {} }, profile)).type === 'send';
    await get('/api/users/42/profile');
    expect(await get('/api/users/42/profile')).toBe(true);
    clock.advance(1);
    const put = { method: 'PUT', url: '/api/users/42', headers: {} };
    await cache.handle(put, writes.wrapOrigin(put, origin(count, 500)));
    expect(await get('/api/users/42/profile')).toBe(true);
    await cache.handle(put, writes.wrapOrigin(put, origin(count, 204)));
    clock.advance(1);
    expect(await get('/api/users/42/profile')).toBe(false);
  });

  it('validates rules when created', () => {
    const invalidation = createInvalidation();
    expect(() =>
      createWriteInvalidation([{ pattern: '/api/users/{id}', tags: ['user:{uid}'] }], {
        invalidation,
      }),
    ).toThrow(/rules\[0\]\.tags/);
    expect(() =>
      createWriteInvalidation([{ pattern: '/x', methods: ['GET'], tags: ['x'] }], { invalidation }),
    ).toThrow(/rules\[0\]\.methods/);
  });
});
