import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { WardenError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { compilePolicy, type CompiledPolicy, type PolicyLayer } from './compile.js';
import { PolicyInvalidError, type Diagnostic } from './diagnostics.js';
import { fileDocCache, type DocCache } from './doc-cache.js';

/** Same bound as source.ts (which is loaded lazily; see below). */
const MAX_POLICY_BYTES = 1 << 20;

/**
 * Loading a policy: the only I/O of the policy module (reading files, resolving symlinks,
 * checking which paths exist). Everything it calls is pure.
 *
 * Start-up cost matters (`warden run` budget): the YAML parser and the schema validator are
 * imported only on a cache miss, and lint (which needs source positions) only when asked for.
 */

export const DEFAULT_PROFILE = 'coding-agent';

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
  // Most paths a policy names do not exist on a given machine; existsSync says so without the
  // exception realpath would throw (start-up time is a budget).
  if (!existsSync(p)) return undefined;
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
  /** Run lint and return its warnings (needs source positions: never served from the cache). */
  lint?: boolean;
  /** Directory of the validated-document cache (Warden state); absent → no cache. */
  cacheDir?: string;
}

export interface LoadedPolicy {
  policy: CompiledPolicy;
  warnings: Diagnostic[];
  /** Human name of what was loaded: the file path or `profile:NAME`. */
  source: string;
}

const noLocation = (): { line: number; col: number } => ({ line: 1, col: 1 });

async function readLayer(bytes: Uint8Array, file: string, idPrefix: string, policyDir: string, cache: DocCache | undefined): Promise<PolicyLayer> {
  const hit = cache?.get(bytes);
  if (hit) return { doc: hit, file, idPrefix, locate: noLocation, policyDir };
  const { parsePolicyText } = await import('./source.js');
  const r = parsePolicyText(bytes, file);
  if (!r.ok) throw new PolicyInvalidError(r.errors);
  cache?.put(bytes, r.policy);
  return { doc: r.policy, file, idPrefix, locate: r.locate, policyDir };
}

function profileFile(name: string): string {
  if (!/^[a-z0-9-]+$/.test(name) || !listProfiles().includes(name)) {
    throw new WardenError('PROFILE_UNKNOWN', `unknown profile "${name}"`, `use one of: ${listProfiles().join(', ')}`);
  }
  return join(profilesDir(), `${name}.yaml`);
}

async function layersFor(opts: LoadOptions, workspace: string, cache: DocCache | undefined): Promise<{ layers: PolicyLayer[]; source: string }> {
  const profileLayer = async (name: string): Promise<PolicyLayer> => {
    const file = profileFile(name);
    const layer = await readLayer(readBounded(file), file, `${name}:`, workspace, cache);
    if (layer.doc.extends) throw new WardenError('INTERNAL', `built-in profile ${name} must not extend another`, 'reinstall warden');
    return layer;
  };
  if (opts.file !== undefined) {
    if (opts.profile !== undefined) throw new WardenError('USAGE', '--policy and --profile are mutually exclusive', 'use "extends: PROFILE" inside the policy file');
    const file = resolve(opts.cwd, opts.file);
    const own = await readLayer(readBounded(file), opts.file, '', dirname(file), cache);
    return { layers: own.doc.extends ? [await profileLayer(own.doc.extends), own] : [own], source: opts.file };
  }
  const name = opts.profile ?? DEFAULT_PROFILE;
  return { layers: [await profileLayer(name)], source: `profile:${name}` };
}

/** Loads, validates, compiles (and, when asked, lints). Throws PolicyInvalidError with every error found. */
export async function loadPolicy(opts: LoadOptions): Promise<LoadedPolicy> {
  const workspace = resolve(opts.cwd, opts.workspace);
  let cache: DocCache | undefined;
  if (opts.cacheDir && !opts.lint) {
    try {
      cache = fileDocCache(opts.cacheDir, readFileSync(join(packageRoot(), 'schema', 'policy.schema.json')));
    } catch {
      cache = undefined;
    }
  }
  const realWorkspace = safeRealpath(workspace) ?? workspace;
  const ctx = { home: opts.home, workspace: realWorkspace, realpath: safeRealpath };
  let { layers, source } = await layersFor(opts, workspace, cache);
  let compiled = compilePolicy(layers, ctx);
  if (!compiled.ok && cache) {
    // Cached layers carry no source positions: redo without the cache for located errors.
    ({ layers, source } = await layersFor(opts, workspace, undefined));
    compiled = compilePolicy(layers, ctx);
  }
  if (!compiled.ok) throw new PolicyInvalidError(compiled.errors);
  let warnings: Diagnostic[] = [];
  if (opts.lint) {
    const { lintPolicy } = await import('./lint.js');
    warnings = lintPolicy(compiled.policy, layers, (p) => existsSync(p));
  }
  return { policy: compiled.policy, warnings, source };
}
