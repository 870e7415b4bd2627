import { expect, it, vi } from 'vitest';
import type * as hash from '../src/hash.ts';

type HashModule = typeof hash;
type GetBuiltinModule = ((id: string) => unknown) | undefined;

/** The hash module loaded afresh while the runtime's getBuiltinModule is `replacement`. */
async function hashModuleWith(
  replacement: (original: (id: string) => unknown) => GetBuiltinModule,
): Promise<HashModule> {
  const host = globalThis.process as unknown as { getBuiltinModule: GetBuiltinModule };
  const original = host.getBuiltinModule!;
  host.getBuiltinModule = replacement(original);
  try {
    vi.resetModules();
    return await import('../src/hash.ts');
  } finally {
    host.getBuiltinModule = original;
  }
}

/**
 * Digests come from the runtime's crypto where it has one, else from @noble/hashes (Workers):
 * both must give the same ETags and key digests, or entries stored by one runtime would not be
 * found, or validated, by another.
 */
it('gives the same ETags and digests with and without the runtime crypto', async () => {
  const native = await import('../src/hash.ts');
  expect(native.HASH_BACKEND).toBe('native');

  const portable = await hashModuleWith(() => undefined);
  expect(portable.HASH_BACKEND).toBe('portable');

  for (const size of [0, 1, 55, 56, 64, 1000, 65_536]) {
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i += 1) body[i] = (i * 7 + size) % 251;
    expect(portable.generateETag(body)).toBe(native.generateETag(body));
  }
  for (const text of ['', 'tenant-1', 'ünïcödé', 'lone \ud800 surrogate', 'x'.repeat(5000)]) {
    expect(portable.digest(text)).toBe(native.digest(text));
  }
});

it('gives the same values through createHash where the runtime has no one-shot crypto.hash', async () => {
  const native = await import('../src/hash.ts');
  let oneShotCalls = 0;
  // Older Node (before 20.12), Bun and Deno: createHash only. The one-shot must not be used.
  const fallback = await hashModuleWith((original) => (id: string) => {
    if (id !== 'node:crypto') return original(id);
    const crypto = original(id) as { createHash: unknown };
    return {
      createHash: crypto.createHash,
      get hash() {
        oneShotCalls += 1;
        return undefined;
      },
    };
  });
  expect(fallback.HASH_BACKEND).toBe('native');
  expect(oneShotCalls).toBeGreaterThan(0);
  for (const size of [0, 1, 1000, 65_536]) {
    const body = new Uint8Array(size).fill(size % 251);
    expect(fallback.generateETag(body)).toBe(native.generateETag(body));
  }
  expect(fallback.digest('tenant-1')).toBe(native.digest('tenant-1'));
});
