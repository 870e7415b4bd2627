import { expect, it, vi } from 'vitest';

/**
 * Digests come from the runtime's crypto where it has one, else from @noble/hashes (Workers):
 * both must give the same ETags and key digests, or entries stored by one runtime would not be
 * found, or validated, by another.
 */
it('gives the same ETags and digests with and without the runtime crypto', async () => {
  const native = await import('../src/hash.ts');
  expect(native.HASH_BACKEND).toBe('native');

  const host = globalThis.process as unknown as { getBuiltinModule?: unknown };
  const original = host.getBuiltinModule;
  host.getBuiltinModule = undefined;
  let portable: typeof native;
  try {
    vi.resetModules();
    portable = await import('../src/hash.ts');
  } finally {
    host.getBuiltinModule = original;
  }
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
