import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { WardenError } from '../errors.js';
import { packageRoot } from '../package-root.js';

export { packageRoot };

/**
 * Absolute path of native/build/warden-helper, located from the package (never the cwd: a
 * workspace the agent controls must not be able to plant the binary Warden trusts as its
 * executor). HELPER_MISSING, with the fix, if it has not been built.
 */
export function helperPath(variant: 'release' | 'asan' = 'release'): string {
  const p = join(packageRoot(), 'native', 'build', variant === 'asan' ? 'warden-helper-asan' : 'warden-helper');
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new WardenError(
      'HELPER_MISSING',
      `the native sandbox helper is missing: ${p}`,
      variant === 'asan' ? 'run make -C native asan' : 'run npm run build:native',
    );
  }
  return p;
}
