import { isAbsolute, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileGlob } from '../policy/glob.js';
import type { McpArgCondition } from './policy-ext.js';
import type { HostCheck } from './inspect/urls.js';

/**
 * Argument conditions on tool calls. Pure: symlink resolution and the network decision are
 * injected.
 *
 * Threats and the invariant that answers each:
 * - `..`, `//`, `~`, `file://` spellings and relative paths: every path is made absolute (against
 *   the server's working directory), `~` expanded as servers do (`~user` refused), normalised, and
 *   then compared component-wise — `/ws-evil` is not under `/ws`;
 * - symlinks: the path and the roots are compared after resolving symlinks (including dangling
 *   ones, whose targets would be created), so a link inside the workspace pointing at ~/.ssh is
 *   seen for where it leads. A link swapped in after the check (TOCTOU) is beyond a proxy's reach:
 *   the sandbox's Landlock rules bound what the server itself can open;
 * - URL tricks (`http://allowed@evil`, IDN, IP spellings): the WHATWG parser's host is decided by
 *   the network section's own evaluator, which canonicalises IPs;
 * - missing or oddly typed arguments: a condition that cannot be checked fails (unless `optional`).
 */

export interface ConditionEnv {
  /** The upstream server's working directory (relative paths resolve against it). */
  cwd: string;
  home: string;
  /** Resolves symlinks in an absolute path (components that do not exist are kept). */
  resolvePath: (abs: string) => string;
  hostAllowed: HostCheck;
}

export type ConditionOutcome = { ok: true; approvals: string[] } | { ok: false; reason: string };

type Leaf = { path: string; value: unknown };

/** Values at `arg` (dot path; arrays fan out). Missing steps produce no leaf. */
export function argValues(args: Record<string, unknown>, arg: string): Leaf[] {
  let cur: Leaf[] = [{ path: '', value: args }];
  for (const step of arg.split('.')) {
    const next: Leaf[] = [];
    const descend = (l: Leaf): void => {
      if (Array.isArray(l.value)) {
        l.value.forEach((v, i) => descend({ path: `${l.path}[${i}]`, value: v }));
        return;
      }
      if (l.value && typeof l.value === 'object' && Object.prototype.hasOwnProperty.call(l.value, step)) {
        next.push({ path: l.path ? `${l.path}.${step}` : step, value: (l.value as Record<string, unknown>)[step] });
      }
    };
    cur.forEach(descend);
    cur = next;
  }
  // A final array fans out too: `paths: [a, b]` checks a and b.
  const out: Leaf[] = [];
  const flat = (l: Leaf, d: number): void => {
    if (Array.isArray(l.value) && d < 8) l.value.forEach((v, i) => flat({ path: `${l.path}[${i}]`, value: v }, d + 1));
    else out.push(l);
  };
  cur.forEach((l) => flat(l, 0));
  return out;
}

/** The absolute, normalised, symlink-resolved form of a path argument, or an error string. */
export function resolveArgPath(value: unknown, env: ConditionEnv): { path: string } | { error: string } {
  if (typeof value !== 'string') return { error: `is not a string (${value === null ? 'null' : typeof value})` };
  let s = value;
  if (s.length === 0) return { error: 'is empty' };
  if (s.includes('\0')) return { error: 'contains a NUL byte' };
  if (/^file:/i.test(s)) {
    try {
      s = fileURLToPath(s);
    } catch {
      return { error: 'is a file: URL that does not name a local path' };
    }
  }
  if (s === '~' || s.startsWith('~/')) s = env.home + s.slice(1);
  else if (s.startsWith('~')) return { error: 'uses ~user, which is not supported' };
  if (!isAbsolute(s)) s = posix.join(env.cwd, s);
  const norm = posix.normalize(s);
  return { path: env.resolvePath(norm.length > 1 && norm.endsWith('/') ? norm.slice(0, -1) : norm) };
}

export function isUnder(path: string, root: string): boolean {
  if (root === '/') return true;
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

function checkOne(c: McpArgCondition, leaf: Leaf, env: ConditionEnv, approvals: string[]): string | undefined {
  const name = leaf.path || c.arg;
  if (c.under) {
    const r = resolveArgPath(leaf.value, env);
    if ('error' in r) return `argument ${name} ${r.error}`;
    const roots = c.under.map((u) => env.resolvePath(posix.normalize(u)));
    if (!roots.some((root) => isUnder(r.path, root))) return `argument ${name} resolves to ${r.path}, which is not under ${c.under.join(', ')}`;
    return undefined;
  }
  if (c.hostAllowedBy) {
    if (typeof leaf.value !== 'string') return `argument ${name} is not a URL string`;
    let u: URL;
    try {
      u = new URL(leaf.value);
    } catch {
      return `argument ${name} is not a valid URL`;
    }
    const schemes = c.schemes ?? ['http', 'https'];
    const scheme = u.protocol.replace(/:$/, '');
    if (!schemes.includes(scheme)) return `argument ${name} uses scheme ${scheme}: (allowed: ${schemes.join(', ')})`;
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    if (!host) return `argument ${name} has no host`;
    const port = u.port ? Number(u.port) : scheme === 'https' || scheme === 'wss' ? 443 : 80;
    const d = env.hostAllowed(host, port);
    if (d === 'approve') approvals.push(`argument ${name}: network policy asks approval for ${host}:${port}`);
    else if (d !== 'allow') return `argument ${name}: host ${host}:${port} is not allowed by the network section`;
    return undefined;
  }
  if (c.matches !== undefined) {
    if (typeof leaf.value !== 'string') return `argument ${name} is not a string`;
    if (!compileGlob(c.matches, null).test(leaf.value)) return `argument ${name} does not match ${c.matches}`;
    return undefined;
  }
  return 'condition has no test (denied)';
}

export function checkConditions(conds: readonly McpArgCondition[], args: Record<string, unknown>, env: ConditionEnv): ConditionOutcome {
  const approvals: string[] = [];
  for (const c of conds) {
    const leaves = argValues(args, c.arg);
    if (leaves.length === 0) {
      if (c.optional) continue;
      return { ok: false, reason: `argument ${c.arg} is missing (a condition requires it)` };
    }
    for (const leaf of leaves) {
      const err = checkOne(c, leaf, env, approvals);
      if (err) return { ok: false, reason: err };
    }
  }
  return { ok: true, approvals };
}
