import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argsKey, cached, createDataCache, stableStringify } from '@gatecache/core/data';
import { createManualClock } from '@gatecache/core/testing';

/*
 * The service below uses `@` decorator syntax. Vitest's transformer does not lower TC39
 * decorators yet, so the class is compiled by tsx (esbuild), as an application running on tsx
 * would be; the decorator itself comes from the package under test.
 */
const SERVICE = `
export function defineService(cache, cached) {
  class UserService {
    calls = 0;
    @cache.cached({ ttl: 60, tags: (id) => ['user:' + id] })
    async getUser(id, options) {
      this.calls++;
      return { id, name: 'user ' + id, expand: options?.expand ?? [] };
    }
    @cached({ cache, ttl: 5, key: (region) => 'stats:' + region })
    async stats(region) {
      this.calls++;
      return { region, at: this.calls };
    }
  }
  return UserService;
}
`;

let dir: string;
let defineService: (
  cache: unknown,
  decorator: unknown,
) => new () => {
  calls: number;
  getUser(id: number, options?: { expand?: string[] }): Promise<{ id: number; expand: string[] }>;
  stats(region: string): Promise<{ region: string; at: number }>;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatecache-decorator-'));
  const file = join(dir, 'service.ts');
  await writeFile(file, SERVICE);
  ({ defineService } = (await tsImport(pathToFileURL(file).href, import.meta.url)) as {
    defineService: typeof defineService;
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('@cached method decorator', () => {
  it('caches a method per arguments, with tags and a key option', async () => {
    const clock = createManualClock();
    const cache = createDataCache({ clock });
    const UserService = defineService(cache, cached);
    const service = new UserService();
    const first = await service.getUser(1, { expand: ['orders'] });
    expect(first).toEqual({ id: 1, name: 'user 1', expand: ['orders'] });
    // Same arguments (object keys in another order are the same): served from the cache.
    await service.getUser(1, { expand: ['orders'] });
    expect(service.calls).toBe(1);
    await service.getUser(2);
    expect(service.calls).toBe(2);
    // Tags from the arguments: purging user:1 reloads only user 1.
    await cache.invalidateTags(['user:1']);
    await service.getUser(1, { expand: ['orders'] });
    await service.getUser(2);
    expect(service.calls).toBe(3);
    // The `key` option and the standalone decorator.
    expect(await service.stats('eu')).toEqual({ region: 'eu', at: 4 });
    expect(await cache.get('stats:eu')).toEqual({ region: 'eu', at: 4 });
    clock.advance(5000);
    expect(await service.stats('eu')).toEqual({ region: 'eu', at: 5 });
  });

  it('keys arguments by stable JSON, hashing long ones', () => {
    expect(stableStringify([{ b: 1, a: [2, undefined] }, undefined])).toBe(
      '[{"a":[2,null],"b":1},null]',
    );
    expect(argsKey([{ b: 1, a: 2 }])).toBe(argsKey([{ a: 2, b: 1 }]));
    expect(argsKey(['x'.repeat(500)])).toMatch(/^#[\w-]{22}$/);
    expect(() => argsKey([1n])).toThrow(/JSON data/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => argsKey([cyclic])).toThrow(/cycles/);
  });

  it('works applied by hand, as a TC39 decorator is called', async () => {
    const cache = createDataCache({ clock: createManualClock() });
    let calls = 0;
    const method = async function (this: unknown, n: number) {
      calls++;
      return await Promise.resolve(n * 2);
    };
    const decorated = cache.cached({ ttl: 10 })(method, {
      kind: 'method',
      name: 'double',
      static: false,
      private: false,
      access: { has: () => true, get: () => method },
      addInitializer: () => undefined,
      metadata: {},
    } as unknown as ClassMethodDecoratorContext<unknown, typeof method>);
    expect(await decorated.call({}, 4)).toBe(8);
    expect(await decorated.call({}, 4)).toBe(8);
    expect(calls).toBe(1);
    expect(() => cached({ cache: 42 as never })).toThrow(/option "cache"/);
  });
});
