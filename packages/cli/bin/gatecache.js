#!/usr/bin/env node
// Runs the built CLI when there is one, else the TypeScript source through tsx (in the workspace).
try {
  await import('../dist/bin.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist'))
    throw error;
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/bin.ts');
}
