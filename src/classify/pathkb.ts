/**
 * Compiled path knowledge for one classifier configuration (home, workspace). Immutable after
 * construction; sessions share nothing mutable through it.
 */
import { NOT_SECRET_BASENAMES, PATH_RULES, SECRET_BASENAMES, SYSTEM_ROOTS, type PathClass } from './kb/paths.js';
import { compileGlob, globToRegexSource, hasGlobChars, requiredLiteral, UNKNOWN } from './glob.js';

export interface PathInfo {
  classes: Set<PathClass>;
  /** Description of the first matching rule ("SSH private key"). */
  what: string;
}

export interface PathKbOptions {
  home: string;
  workspace: string;
}

/**
 * One glob of the knowledge base. Its regex is tested only on strings that contain the glob's
 * required literal (a necessary condition, so the result is the same as testing every regex),
 * and built on the first such string: building and compiling all ~300 for the first path a
 * session classifies cost 10–15 ms at start-up, and the first exec's verdict waited for it.
 */
class GlobMatcher {
  readonly literal: string;
  private re: RegExp | null | undefined;

  constructor(
    private readonly glob: string,
    /** Regex source put before the glob's (the home-directory alternatives of a `~` rule). */
    private readonly prefix = '',
  ) {
    this.literal = requiredLiteral(glob);
  }

  test(s: string): boolean {
    if (!s.includes(this.literal)) return false;
    if (this.re === undefined) {
      try {
        this.re = new RegExp(`^${this.prefix}${globToRegexSource(this.glob, true)}$`);
      } catch {
        this.re = null; // a pattern that cannot be compiled matches nothing (as compileGlob)
      }
    }
    return this.re !== null && this.re.test(s);
  }
}

interface CompiledRule {
  match: GlobMatcher;
  classes: PathClass[];
  what: string;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export class PathKb {
  readonly home: string;
  readonly workspace: string;
  private readonly rules: CompiledRule[];
  private readonly secretBase: { match: GlobMatcher; what: string }[];
  private readonly notSecretBase: GlobMatcher[];
  /** Concrete representatives of every rule, for matching glob/unknown arguments. */
  private readonly examples: string[];

  constructor(opts: PathKbOptions) {
    this.home = normalize(opts.home) || '/';
    this.workspace = normalize(opts.workspace) || '/';
    const homeAlt = `(?:${escapeRe(this.home)}|/root|/home/[^/]+|)`;
    this.rules = [];
    this.examples = [];
    for (const r of PATH_RULES) {
      const tilde = r.glob.startsWith('~');
      const body = tilde ? r.glob.slice(1) : r.glob;
      this.rules.push({ match: new GlobMatcher(body, tilde ? homeAlt : ''), classes: r.classes, what: r.what });
      const ex = r.examples ?? (hasGlobChars(r.glob) ? [] : [r.glob]);
      for (const e of ex) {
        if (e.startsWith('~')) {
          this.examples.push(this.home + e.slice(1), '/root' + e.slice(1));
        } else this.examples.push(e);
      }
    }
    this.secretBase = SECRET_BASENAMES.map((b) => ({ match: new GlobMatcher(b.glob), what: b.what }));
    this.notSecretBase = NOT_SECRET_BASENAMES.map((g) => new GlobMatcher(g));
    for (const b of SECRET_BASENAMES) if (!hasGlobChars(b.glob)) this.examples.push(`${this.workspace}/${b.glob}`);
  }

  /** Classes of a concrete, absolute, normalised path. */
  classify(path: string): PathInfo {
    const classes = new Set<PathClass>();
    let what = '';
    for (const r of this.rules) {
      if (r.match.test(path)) {
        if (!what) what = r.what;
        for (const c of r.classes) classes.add(c);
      }
    }
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (base && !this.notSecretBase.some((n) => n.test(base))) {
      for (const b of this.secretBase) {
        if (b.match.test(base)) {
          if (!classes.has('secret')) what = b.what;
          classes.add('secret');
          break;
        }
      }
    }
    return { classes, what };
  }

  /**
   * Classes a pattern (glob and/or UNKNOWN parts) could take: the union over every known example it
   * matches. A pattern ending in `/*` or `/**` also reaches what is under the directory.
   */
  classifyPattern(pattern: string): PathInfo {
    const re = compileGlob(pattern, true);
    const classes = new Set<PathClass>();
    let what = '';
    if (!re) return { classes, what };
    for (const ex of this.examples) {
      if (re.test(ex)) {
        const info = this.classify(ex);
        if (!what) what = info.what;
        for (const c of info.classes) classes.add(c);
      }
    }
    // The pattern as a literal may still classify (e.g. `/etc/cron.d/*` is under /etc/cron*).
    const literal = this.classify(pattern.replace(new RegExp(UNKNOWN, 'g'), 'x'));
    for (const c of literal.classes) classes.add(c);
    if (!what) what = literal.what;
    return { classes, what };
  }

  /**
   * Classes of a path argument that is a pattern. A last component with no literal content (`*`,
   * `**`, an unknown value) says nothing about *which* file is meant, so it is judged by its
   * directory instead: `~/.ssh/*` reads key material, `./**` (the whole project) does not name a
   * secret, and a fully unknown path names nothing. Without this, every unknown argument would
   * "match" every secret location and nothing could be allowed.
   */
  classifyArg(pattern: string): PathInfo {
    const slash = pattern.lastIndexOf('/');
    const last = pattern.slice(slash + 1);
    if (informative(last)) {
      // `*.php`, `*conf*`: any file with that suffix/infix. Judge a representative name, not every
      // example that happens to match (`*.php` would otherwise "be" wp-config.php).
      if (/^[*\uE000]/.test(last)) {
        const dirPart = pattern.slice(0, slash + 1).replace(/\*\*\//g, '').replace(/\*\*/g, 'x');
        const rep = (dirPart + last).replace(/\*+|\uE000|\?|\[[^\]]*\]/g, 'x');
        return hasGlobChars(dirPart) || dirPart.includes(UNKNOWN) ? this.classifyPattern(dirPart + last.replace(/^[*\uE000]+/, 'x')) : this.classify(rep);
      }
      return this.classifyPattern(pattern);
    }
    if (slash <= 0) return { classes: new Set(), what: '' };
    const dir = pattern.slice(0, slash);
    if (!informative(dir.replace(/\//g, ''))) return { classes: new Set(), what: '' };
    const rep = dir.replace(new RegExp(UNKNOWN, 'g'), 'x') + '/x';
    const info = hasGlobChars(dir) || dir.includes(UNKNOWN) ? this.classifyPattern(dir + '/x') : this.classify(rep);
    const own = this.classify(dir.replace(new RegExp(UNKNOWN, 'g'), 'x'));
    for (const c of own.classes) info.classes.add(c);
    if (own.classes.has('secret-dir') && !info.classes.has('secret')) {
      info.classes.add('secret');
      if (!info.what) info.what = own.what;
    }
    return info;
  }

  /** Whether `dir` contains (is an ancestor of) a known secret location. */
  containsSecrets(dir: string): string | null {
    const d = dir.endsWith('/') ? dir : dir + '/';
    if (dir === '/') return 'the whole filesystem (includes credentials)';
    for (const ex of this.examples) {
      if (ex.startsWith(d)) {
        const info = this.classify(ex);
        if (info.classes.has('secret')) return `${dir} (contains ${info.what})`;
      }
    }
    return null;
  }

  isSystemRoot(path: string): boolean {
    return path === '/' || SYSTEM_ROOTS.includes(path);
  }

  inWorkspace(path: string): boolean {
    return path === this.workspace || path.startsWith(this.workspace === '/' ? '/' : this.workspace + '/');
  }

  inHome(path: string): boolean {
    return path === this.home || path.startsWith(this.home + '/');
  }
}

/** Collapses `//`, `.` and `..` in an absolute path. Returns '' for a non-absolute input. */
export function normalize(p: string): string {
  if (!p.startsWith('/')) return '';
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/** Whether a pattern fragment has enough literal text to name something specific. */
function informative(frag: string): boolean {
  const lit = frag.replace(new RegExp(UNKNOWN, 'g'), '').replace(/\[[^\]]*\]/g, '').replace(/[*?]/g, '');
  return lit.replace(/\./g, '').length >= 2 || /^\.[\w]/.test(lit);
}
