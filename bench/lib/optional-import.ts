/**
 * gatecache's packages are imported by name at run time, so that a package that does not exist yet
 * (or does not yet export what a row needs) makes its rows "not available" instead of failing the run.
 */
export type Loaded =
  | { readonly ok: true; readonly module: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

export async function importOptional(
  specifier: string,
  exports: readonly string[],
): Promise<Loaded> {
  let module: Record<string, unknown>;
  try {
    module = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason =
      code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'
        ? `${specifier} is not installed`
        : `${specifier} failed to load: ${(error as Error).message.split('\n')[0] ?? ''}`;
    return { ok: false, reason };
  }
  const missing = exports.filter((name) => typeof module[name] !== 'function');
  if (missing.length > 0)
    return { ok: false, reason: `${specifier} does not export ${missing.join(', ')}` };
  return { ok: true, module };
}
