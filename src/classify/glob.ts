/**
 * Shell pattern helpers shared by word expansion (`${x#pat}`), path knowledge (`/e??/sh*`) and binary
 * resolution (`/???/b??/r?`). A pattern that cannot be compiled matches nothing rather than throwing.
 */

/** Placeholder for a part of a word whose value the classifier cannot know (unknown variable, `$(...)`). */
export const UNKNOWN = '\uE000';

export function hasGlobChars(s: string): boolean {
  return /[*?[]/.test(s);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Converts a shell glob to a regex source.
 * `pathMode`: `*` and `?` do not cross `/`, `**` does (as in globstar).
 * The UNKNOWN marker matches anything (it is a value we could not compute).
 */
export function globToRegexSource(glob: string, pathMode: boolean): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === UNKNOWN) {
      out += '.*';
    } else if (c === '*') {
      if (pathMode && glob[i + 1] === '*') {
        // `**/` matches zero or more whole components.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i++;
        }
      } else out += pathMode ? '[^/]*' : '.*';
    } else if (c === '?') {
      out += pathMode ? '[^/]' : '.';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = true;
        body = body.slice(1);
      }
      body = body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]').replace(/\[:(\w+):\]/g, (_m, cls: string) => POSIX_CLASSES[cls] ?? '');
      out += `[${neg ? '^' : ''}${body}]`;
      i = close;
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escapeRe(glob[i + 1]!);
      i++;
    } else {
      out += escapeRe(c);
    }
  }
  return out;
}

/**
 * The longest run of literal characters that every string matching `glob` contains, in the
 * reading of globToRegexSource (either mode): wildcards, `**` (with the `/` that follows it,
 * which may match nothing), `[...]` classes and UNKNOWN end a run; escaped characters and an
 * unclosed `[` are literal. `path.includes(requiredLiteral(g))` is therefore a necessary condition
 * for a match, cheap enough to test before a regex that would otherwise be compiled on first use.
 */
export function requiredLiteral(glob: string): string {
  let best = '';
  let run = '';
  const end = (): void => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === UNKNOWN || c === '?') end();
    else if (c === '*') {
      end();
      if (glob[i + 1] === '*') i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) run += c;
      else {
        end();
        i = close;
      }
    } else if (c === '\\' && i + 1 < glob.length) run += glob[++i]!;
    else run += c;
  }
  end();
  return best;
}

const POSIX_CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z', digit: '0-9', alnum: 'a-zA-Z0-9', upper: 'A-Z', lower: 'a-z', space: ' \\t\\n\\r\\f\\v',
  xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~', word: '\\w',
};

export function compileGlob(glob: string, pathMode: boolean, flags = ''): RegExp | null {
  try {
    return new RegExp(`^${globToRegexSource(glob, pathMode)}$`, flags);
  } catch {
    return null;
  }
}

/** `${x#pat}` family: remove the shortest/longest prefix/suffix matching `pat`. */
export function removePattern(value: string, pat: string, op: '#' | '##' | '%' | '%%'): string {
  const re = compileGlob(pat, false, 's');
  if (!re) return value;
  if (op === '#' || op === '##') {
    const order = op === '#' ? range(0, value.length) : range(value.length, 0);
    for (const i of order) if (re.test(value.slice(0, i))) return value.slice(i);
    return value;
  }
  const order = op === '%' ? range(value.length, 0) : range(0, value.length);
  for (const i of order) if (re.test(value.slice(i))) return value.slice(0, i);
  return value;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  if (from <= to) for (let i = from; i <= to; i++) out.push(i);
  else for (let i = from; i >= to; i--) out.push(i);
  return out;
}

/** `${x/pat/rep}` family. `pat` may start with `#` or `%` (anchors) as mvdan/sh keeps them. */
export function replacePattern(value: string, pat: string, rep: string, all: boolean): string {
  let anchor = '';
  if (pat.startsWith('#') || pat.startsWith('%')) {
    anchor = pat[0]!;
    pat = pat.slice(1);
  }
  let src: string;
  try {
    src = globToRegexSource(pat, false);
    // Shell patterns are greedy-longest at each position, which is what a JS greedy regex does.
    const re = new RegExp(anchor === '#' ? `^(?:${src})` : anchor === '%' ? `(?:${src})$` : src, all && !anchor ? 'gs' : 's');
    if (src === '') return value;
    return value.replace(re, () => rep);
  } catch {
    return value;
  }
}
