/**
 * What is a trapped exec about to run? The path the tracee passed is resolved the way the kernel
 * will resolve it, but inside the tracee's own view (its root, cwd and fds, reached through
 * /proc/<pid>/{root,cwd,fd}): every symlink is read and followed here, one component at a time, so
 * an absolute symlink inside the sandbox is followed inside the sandbox, never on the host.
 *
 * Threats: a denied program reached through a symlink alias, `exec -a` (argv[0] is not the
 * program), a relative path from a chdir'd cwd, an fd (`execveat(AT_EMPTY_PATH)`, /proc/self/fd/N,
 * /dev/fd/N) — including anonymous memory (memfd) and deleted files, which have no name to judge —,
 * a shebang script whose interpreter is the denied program (the kernel runs the interpreter
 * without another execve), and the dynamic loader run directly with the program as its argument.
 *
 * This is a best-effort view of memory and files the tracee can still change (it runs concurrently);
 * the decision built on it is enforced by CONTINUE, so the Landlock execute floor, installed first,
 * is what bounds a racing attacker (README: "What a racing attacker can do").
 *
 * Pure logic over an injected filesystem view (`TraceeFs`), so the rules are unit-testable.
 */
import { posix } from 'node:path';

export interface TraceeFs {
  /** lstat in the tracee's root: 'link' | 'file' | 'dir' | 'other', or null when it does not exist. */
  kind(path: string): 'link' | 'file' | 'dir' | 'other' | null;
  /** readlink in the tracee's root (a real symlink). */
  readlink(path: string): string | null;
  /** The tracee's cwd (as the tracee sees it). */
  cwd(): string | null;
  /** What the tracee's fd N refers to: a path as the tracee sees it, or e.g. `/memfd:x (deleted)`, `pipe:[1]`. */
  fd(n: number): string | null;
  /** The tracee's current executable (/proc/self/exe). */
  exe(): string | null;
  /** The first bytes of a regular file in the tracee's root (for `#!`), or null. */
  head(path: string, n: number): Buffer | null;
}

export interface ExecTarget {
  /** The program, resolved (absolute, in the tracee's view); null when it has no name. */
  real: string | null;
  /** The path as the kernel was given it, made absolute (for names: `basename`). */
  given: string | null;
  /** Why there is no name to judge (memfd, deleted file, another process's fd, unreadable path). */
  anonymous?: string;
  /** Directories whose entries decided the resolution (a writer to any of them could change it). */
  consulted: string[];
  /** Programs the kernel will start on the way (shebang interpreters, outermost first) with their argv. */
  runs: Array<{ path: string; given: string; aliases: string[]; argv: string[] }>;
  /** Every name the program was reached by along its symlink chain (`cc` -> `gcc` -> `gcc-12` -> ...). */
  aliases: string[];
  /** Whether the path exists right now (a vanished path is judged by name; the kernel then fails it). */
  exists: boolean;
}

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const MAX_LINKS = 40;
const MAX_INTERP = 5; // exec_binprm: script rewrites at depth 0..BINPRM_MAX_RECURSION (4) → five

/** Normalises an absolute path lexically (`//`, `.`, `..` at the root). */
function norm(p: string): string {
  return posix.normalize(p).replace(/\/+$/, '') || '/';
}

function isAnonymous(link: string): string | undefined {
  if (link.startsWith('/memfd:')) return 'an anonymous memory file (memfd)';
  if (!link.startsWith('/')) return `a non-file descriptor (${link.slice(0, 40)})`;
  if (link.endsWith(' (deleted)')) return 'a deleted file';
  return undefined;
}

export type Walk = { path: string; exists: boolean; aliases: string[] } | { anonymous: string };

/**
 * Resolves an absolute path component by component, following symlinks inside the tracee's root.
 * /proc/self|thread-self/{fd/N,exe,cwd,root} are magic links to the tracee's own objects and are
 * replaced by what they point at; every other /proc entry is refused (its meaning depends on who
 * looks).
 */
export function walk(fs: TraceeFs, start: string, consulted: Set<string>): Walk {
  // No lexical normalisation: `l/..` must follow l first, as the kernel does.
  let todo = start.split('/').filter(Boolean);
  const aliases: string[] = [];
  let cur = '';
  let links = 0;
  while (todo.length) {
    const comp = todo.shift()!;
    if (comp === '.') continue;
    if (comp === '..') {
      cur = posix.dirname(cur || '/') === '/' ? '' : posix.dirname(cur);
      continue;
    }
    const next = `${cur}/${comp}`;
    if (next === '/proc' && todo.length) {
      const magic = procMagic(fs, todo);
      if ('anonymous' in magic) return magic;
      consulted.add('/proc');
      todo = [...norm(magic.target).split('/').filter(Boolean), ...magic.rest];
      cur = '';
      if (++links > MAX_LINKS) return { anonymous: 'a symlink loop' };
      continue;
    }
    consulted.add(cur || '/');
    const k = fs.kind(next);
    if (k === null) return { path: norm([next, ...todo].join('/')), exists: false, aliases };
    if (k === 'link') {
      if (++links > MAX_LINKS) return { anonymous: 'a symlink loop' };
      const t = fs.readlink(next);
      if (t === null) return { path: norm([next, ...todo].join('/')), exists: false, aliases };
      if (todo.length === 0) aliases.push(comp); // a name the program itself is known by
      todo = [...t.split('/').filter(Boolean), ...todo];
      if (t.startsWith('/')) cur = '';
      continue;
    }
    cur = next;
  }
  return { path: cur || '/', exists: true, aliases };
}

function procMagic(fs: TraceeFs, rest: string[]): { target: string; rest: string[] } | { anonymous: string } {
  const [who, what, n, ...tail] = rest;
  if (who !== 'self' && who !== 'thread-self') return { anonymous: `a /proc path (${['/proc', ...rest].join('/').slice(0, 60)})` };
  let link: string | null = null;
  let used = 2;
  if (what === 'exe') link = fs.exe();
  else if (what === 'cwd') link = fs.cwd();
  else if (what === 'root') link = '/';
  else if (what === 'fd' && n !== undefined && /^\d{1,7}$/.test(n)) {
    link = fs.fd(Number(n));
    used = 3;
  } else return { anonymous: `a /proc path (${['/proc', ...rest].join('/').slice(0, 60)})` };
  if (link === null) return { anonymous: 'a closed or unreadable descriptor' };
  const anon = isAnonymous(link);
  if (anon) return { anonymous: anon };
  return { target: link, rest: used === 3 ? tail : [n, ...tail].filter((x): x is string => x !== undefined) };
}

/** `#!interp [arg]` of a file, as the kernel parses it (first line, at most 255 bytes). */
function shebang(fs: TraceeFs, path: string): { interp: string; arg?: string } | null {
  const h = fs.head(path, 256);
  if (!h || h.length < 3 || h[0] !== 0x23 || h[1] !== 0x21) return null;
  let end = h.indexOf(0x0a);
  if (end < 0) end = h.length;
  const line = h.subarray(2, end).toString('utf8').replace(/[ \t]+$/, '').replace(/^[ \t]+/, '');
  const sp = line.search(/[ \t]/);
  if (line === '') return null;
  if (sp < 0) return { interp: line };
  const arg = line.slice(sp).replace(/^[ \t]+/, '');
  return arg ? { interp: line.slice(0, sp), arg } : { interp: line.slice(0, sp) };
}

export function resolveExecTarget(
  fs: TraceeFs,
  req: { path: string; syscall: 'execve' | 'execveat'; dirfd: number; flags: number; argv: string[] },
): ExecTarget {
  const consulted = new Set<string>();
  const done = (t: Omit<ExecTarget, 'consulted'>): ExecTarget => ({ ...t, consulted: [...consulted] });
  let base: string | null;
  let abs: string;
  if (req.syscall === 'execveat' && req.path === '' && (req.flags & AT_EMPTY_PATH) !== 0) {
    const link = fs.fd(req.dirfd);
    if (link === null) return done({ real: null, given: null, anonymous: 'a closed or unreadable descriptor', runs: [], aliases: [], exists: false });
    const anon = isAnonymous(link);
    if (anon) return done({ real: null, given: null, anonymous: anon, runs: [], aliases: [], exists: false });
    abs = link;
  } else if (req.path.startsWith('/')) {
    abs = req.path;
  } else {
    base = req.syscall === 'execveat' && req.dirfd !== AT_FDCWD ? fs.fd(req.dirfd) : fs.cwd();
    if (base === null || isAnonymous(base)) return done({ real: null, given: null, anonymous: 'a path relative to an unknown directory', runs: [], aliases: [], exists: false });
    abs = `${base}/${req.path}`;
  }
  const given = norm(abs);
  const w = walk(fs, abs, consulted);
  if ('anonymous' in w) return done({ real: null, given, anonymous: w.anonymous, runs: [], aliases: [], exists: false });
  const runs: ExecTarget['runs'] = [];
  // The kernel starts interpreters in turn: `#!/bin/sh` runs /bin/sh with [interp, arg?, script, argv[1..]].
  let prog = w.path;
  let argv = [prog, ...req.argv.slice(1)];
  for (let depth = 0; w.exists && depth < MAX_INTERP; depth++) {
    const sb = shebang(fs, prog);
    if (!sb) break;
    // A relative interpreter is opened relative to the cwd (binfmt_script's open_exec), not the script.
    const cwd = sb.interp.startsWith('/') ? '' : fs.cwd();
    if (cwd === null) return done({ real: null, given, anonymous: 'a script whose relative interpreter has no known cwd', runs, aliases: w.aliases, exists: true });
    const interp = sb.interp.startsWith('/') ? sb.interp : `${cwd}/${sb.interp}`;
    const iw = walk(fs, interp, consulted);
    if ('anonymous' in iw) return done({ real: null, given, anonymous: `a script whose interpreter is ${iw.anonymous}`, runs, aliases: w.aliases, exists: true });
    argv = [iw.path, ...(sb.arg !== undefined ? [sb.arg] : []), prog, ...argv.slice(1)];
    runs.push({ path: iw.path, given: norm(interp), aliases: iw.aliases, argv });
    prog = iw.path;
  }
  return done({ real: w.path, given, runs, aliases: w.aliases, exists: w.exists });
}

// ---- the dynamic loader run directly -------------------------------------------------------------

const LOADER = /^(ld-linux[-.\w]*\.so(\.\d+)*|ld\.so(\.\d+)*|ld-musl-[\w-]+\.so\.1|ld64\.so\.\d+)$/;
const LOADER_FLAG_ONLY = new Set(['--list', '--verify', '--inhibit-cache', '--list-tunables', '--list-diagnostics', '--help', '--version']);
const LOADER_WITH_ARG = new Set(['--inhibit-rpath', '--library-path', '--preload', '--audit', '--argv0', '--glibc-hwcaps-prepend', '--glibc-hwcaps-mask']);

export function isLoader(path: string): boolean {
  return LOADER.test(posix.basename(path));
}

/**
 * `ld.so [options] PROGRAM [args]`: the program the loader will map and run (it needs no execute
 * right of its own — the loader mmaps it). Returns null when the loader runs nothing (`--help`),
 * or 'unknown' for an option this parser does not know (the caller denies: fail closed).
 */
export function loaderProgram(argv: readonly string[]): { program: string; argv: string[] } | null | 'unknown' {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return i + 1 < argv.length ? { program: argv[i + 1]!, argv: argv.slice(i + 1) } : null;
    if (LOADER_FLAG_ONLY.has(a)) continue;
    if (LOADER_WITH_ARG.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0 && LOADER_WITH_ARG.has(a.slice(0, eq))) continue;
      return 'unknown';
    }
    return { program: a, argv: argv.slice(i) };
  }
  return null;
}

/**
 * Names a program is known by for the command rules: its resolved file name and the name it was
 * invoked by (a symlink alias), each also without a version suffix (`python3.11` -> `python3`,
 * `python`; `gcc-12` -> `gcc`), so a rule on `python3` meets `/usr/bin/python3.11`.
 */
const TRIPLET = /^(?:x86_64|i[3-6]86|aarch64|arm\w*|riscv64|powerpc64\w*|s390x|mips\w*|loongarch64)-\w+-\w+-(.+)$/;

export function programNames(...paths: Array<string | null | undefined>): string[] {
  const out = new Set<string>();
  const bases: string[] = [];
  for (const p of paths) {
    if (!p) continue;
    const b = posix.basename(p);
    bases.push(b);
    // A cross-toolchain name (`x86_64-linux-gnu-gcc-12`) is also the tool it names.
    const t = TRIPLET.exec(b);
    if (t) bases.push(t[1]!);
  }
  for (const base of bases) {
    let n = base;
    out.add(n);
    for (let i = 0; i < 4; i++) {
      const m = /^(.*\D)\d+$/.exec(n);
      const stripped = m ? m[1]!.replace(/[-.]$/, '') : '';
      if (!/[A-Za-z]/.test(stripped) || stripped.length < 2) break;
      n = stripped;
      out.add(n);
    }
  }
  return [...out];
}
