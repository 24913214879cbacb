/**
 * Strict glob compiler shared by every rule kind (paths, argv elements, tool names, env names).
 *
 * Syntax: `*` (any run of characters except the separator), `**` (any run, separators included),
 * `?` (one character except the separator), `[abc]` / `[a-z]` / `[!abc]` classes, `{a,b}`
 * alternation (nestable), `\x` escapes x. Anything malformed (unterminated class or brace, trailing
 * backslash, empty class) is an error with its column: a policy that does not mean what it says must
 * not load, because a glob that silently matches nothing is a silent fail-open for deny rules.
 */

export interface Glob {
  readonly source: string;
  /** True when the pattern has no metacharacters (after escapes): matching is string equality. */
  readonly literal: boolean;
  /** The unescaped text when literal; the longest literal prefix otherwise. */
  readonly prefix: string;
  /** Count of literal characters: the specificity measure used to rank competing rules. */
  readonly literalChars: number;
  test(s: string): boolean;
}

export class GlobError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(message);
  }
}

const MAX_GLOB_LENGTH = 4096;
const MAX_BRACE_DEPTH = 8;

function escapeRe(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch;
}

/** Compiles `pattern`; `sep` is the segment separator (`/` for paths) or null for flat names. */
export function compileGlob(pattern: string, sep: '/' | null): Glob {
  if (pattern.length > MAX_GLOB_LENGTH) throw new GlobError(`glob longer than ${MAX_GLOB_LENGTH} characters`, 1);
  if (pattern.includes('\0')) throw new GlobError('NUL byte in pattern', pattern.indexOf('\0') + 1);
  const notSep = sep ? `[^${escapeRe(sep)}]` : '[\\s\\S]';
  let re = '';
  let literal = true;
  let prefix = '';
  let prefixOpen = true;
  let literalChars = 0;
  const braces: number[] = [];
  const lit = (ch: string): void => {
    re += escapeRe(ch);
    literalChars++;
    if (prefixOpen) prefix += ch;
  };
  const meta = (): void => {
    literal = false;
    prefixOpen = false;
  };
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    switch (ch) {
      case '\\': {
        const next = pattern[i + 1];
        if (next === undefined) throw new GlobError('trailing backslash', i + 1);
        lit(next);
        i++;
        break;
      }
      case '*': {
        meta();
        if (pattern[i + 1] === '*') {
          // `/**/` also matches a single `/`, so `a/**/b` matches `a/b`.
          if (sep && pattern[i + 2] === sep && (i === 0 || pattern[i - 1] === sep)) {
            re += `(?:[\\s\\S]*${escapeRe(sep)})?`;
            i += 2;
          } else {
            re += '[\\s\\S]*';
            i++;
          }
          while (pattern[i + 1] === '*') i++;
        } else {
          re += `${notSep}*`;
        }
        break;
      }
      case '?':
        meta();
        re += notSep;
        break;
      case '[': {
        meta();
        let j = i + 1;
        let negate = false;
        if (pattern[j] === '!' || pattern[j] === '^') {
          negate = true;
          j++;
        }
        let body = '';
        let first = true;
        for (; j < pattern.length; j++) {
          const c = pattern[j] as string;
          if (c === ']' && !first) break;
          first = false;
          if (c === '\\') {
            const n = pattern[j + 1];
            if (n === undefined) throw new GlobError('trailing backslash in class', j + 1);
            body += `\\${n}`;
            j++;
          } else {
            body += /[\]\\^]/.test(c) ? `\\${c}` : c;
          }
        }
        if (j >= pattern.length) throw new GlobError('unterminated character class "["', i + 1);
        if (body === '') throw new GlobError('empty character class', i + 1);
        try {
          new RegExp(`[${body}]`, 'u');
        } catch {
          throw new GlobError('invalid character class (range out of order?)', i + 1);
        }
        const sepEx = sep ? escapeRe(sep) : '';
        if (negate) re += `[^${body}${sepEx}]`;
        else re += sep ? `(?:(?!${sepEx})[${body}])` : `[${body}]`;
        i = j;
        break;
      }
      case '{':
        meta();
        if (braces.length >= MAX_BRACE_DEPTH) throw new GlobError(`braces nested deeper than ${MAX_BRACE_DEPTH}`, i + 1);
        braces.push(i);
        re += '(?:';
        break;
      case ',':
        if (braces.length > 0) re += '|';
        else lit(ch);
        break;
      case '}':
        if (braces.length === 0) throw new GlobError('unmatched "}"', i + 1);
        braces.pop();
        re += ')';
        break;
      default:
        lit(ch);
    }
  }
  if (braces.length > 0) throw new GlobError('unterminated "{"', (braces[braces.length - 1] as number) + 1);
  const source = pattern;
  if (literal) {
    return { source, literal, prefix, literalChars, test: (s) => s === prefix };
  }
  const rx = new RegExp(`^${re}$`, 'u');
  return { source, literal, prefix, literalChars, test: (s) => rx.test(s) };
}

export function hasGlobMeta(s: string): boolean {
  return /[*?[\]{}\\]/.test(s);
}
