import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WardenError } from '../errors.js';
import { compilePolicy, type CompiledPolicy, type PolicyLayer } from './compile.js';
import { PolicyInvalidError, type Diagnostic } from './diagnostics.js';
import { lintPolicy } from './lint.js';
import { MAX_POLICY_BYTES, parsePolicyText } from './source.js';

/**
 * Loading a policy: the only I/O of the policy module (reading files, resolving symlinks,
 * checking which paths exist). Everything it calls is pure.
 */

export const DEFAULT_PROFILE = 'coding-agent';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'profiles'))) return dir;
    dir = dirname(dir);
  }
  throw new WardenError('INTERNAL', 'cannot find the warden package root (profiles/ missing)', 'reinstall warden');
}

export function profilesDir(): string {
  return join(packageRoot(), 'profiles');
}

export function listProfiles(): string[] {
  return readdirSync(profilesDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Reads at most MAX_POLICY_BYTES + 1 bytes, so a multi-gigabyte "policy" costs nothing. */
function readBounded(file: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new WardenError('POLICY_UNREADABLE', `cannot read policy ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path and its permissions');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new WardenError('POLICY_UNREADABLE', `policy ${file} is not a regular file`, 'pass a YAML file');
    const buf = Buffer.alloc(Math.min(st.size, MAX_POLICY_BYTES) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) break;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function safeRealpath(p: string): string | undefined {
  try {
    return realpathSync.native(p);
  } catch {
    return undefined;
  }
}

export interface LoadOptions {
  /** Policy file; when absent the profile is used. */
  file?: string;
  /** Built-in profile name (default `coding-agent` when no file is given). */
  profile?: string;
  workspace: string;
  home: string;
  cwd: string;
}

export interface LoadedPolicy {
  policy: CompiledPolicy;
  warnings: Diagnostic[];
  /** Human name of what was loaded: the file path or `profile:NAME`. */
  source: string;
}

function layerFromBytes(bytes: Uint8Array, file: string, idPrefix: string, policyDir: string): { layer: PolicyLayer } | { errors: Diagnostic[] } {
  const r = parsePolicyText(bytes, file);
  if (!r.ok) return { errors: r.errors };
  return { layer: { doc: r.policy, file, idPrefix, locate: r.locate, policyDir } };
}

function profileLayer(name: string, workspace: string): PolicyLayer {
  if (!/^[a-z0-9-]+$/.test(name) || !listProfiles().includes(name)) {
    throw new WardenError('PROFILE_UNKNOWN', `unknown profile "${name}"`, `use one of: ${listProfiles().join(', ')}`);
  }
  const file = join(profilesDir(), `${name}.yaml`);
  const r = layerFromBytes(readBounded(file), file, `${name}:`, workspace);
  if ('errors' in r) throw new PolicyInvalidError(r.errors);
  if (r.layer.doc.extends) throw new WardenError('INTERNAL', `built-in profile ${name} must not extend another`, 'reinstall warden');
  return r.layer;
}

/** Loads, validates, compiles and lints. Throws PolicyInvalidError with every error found. */
export function loadPolicy(opts: LoadOptions): LoadedPolicy {
  const workspace = resolve(opts.cwd, opts.workspace);
  const layers: PolicyLayer[] = [];
  let source: string;
  if (opts.file !== undefined) {
    const file = resolve(opts.cwd, opts.file);
    const r = layerFromBytes(readBounded(file), opts.file, '', dirname(file));
    if ('errors' in r) throw new PolicyInvalidError(r.errors);
    if (r.layer.doc.extends) layers.push(profileLayer(r.layer.doc.extends, workspace));
    layers.push(r.layer);
    source = opts.file;
    if (opts.profile !== undefined) throw new WardenError('USAGE', '--policy and --profile are mutually exclusive', 'use "extends: PROFILE" inside the policy file');
  } else {
    const name = opts.profile ?? DEFAULT_PROFILE;
    layers.push(profileLayer(name, workspace));
    source = `profile:${name}`;
  }
  const realWorkspace = safeRealpath(workspace) ?? workspace;
  const compiled = compilePolicy(layers, { home: opts.home, workspace: realWorkspace, realpath: safeRealpath });
  if (!compiled.ok) throw new PolicyInvalidError(compiled.errors);
  const warnings = lintPolicy(compiled.policy, layers, (p) => existsSync(p));
  return { policy: compiled.policy, warnings, source };
}
