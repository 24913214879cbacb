/**
 * Obfuscation variant generator: the same command rewritten with each evasion technique a shell
 * allows (quoting, escapes, variables, IFS, brace expansion, globbed paths, substitutions, eval,
 * nested shells, decode-then-execute pipes, here-strings, wrappers). A classifier that understands
 * the command must give every variant the same verdict as the original.
 *
 * Deterministic: no randomness, so runs are comparable.
 */
import { gzipSync } from 'node:zlib';
import { systemBinaryPaths } from '../../src/classify/kb/binaries.js';

export interface Variant {
  technique: string;
  command: string;
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function hexEsc(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => '\\x' + b.toString(16).padStart(2, '0')).join('');
}

function octEsc(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => '\\' + b.toString(8).padStart(3, '0')).join('');
}

/** The leading program word of a command line, if it is a plain word followed by arguments. */
function splitHead(cmd: string): { head: string; tail: string } | null {
  const m = /^([A-Za-z][\w.+-]*)(\s.*)?$/s.exec(cmd);
  if (!m) return null;
  return { head: m[1]!, tail: m[2] ?? '' };
}

/** A glob that names exactly one system binary path for `name`, e.g. `/u?r/b?n/c?rl`. */
function uniqueGlob(name: string): string | null {
  const paths = systemBinaryPaths();
  const target = `/usr/bin/${name}`;
  if (!paths.includes(target)) return null;
  const toRe = (g: string): RegExp => new RegExp('^' + g.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\?/g, '[^/]').replace(/\*/g, '[^/]*') + '$');
  const candidates = [
    `/u?r/b?n/${name.slice(0, 1)}${'?'.repeat(Math.max(0, name.length - 1))}`,
    `/u?r/b?n/${name.slice(0, -1)}?`,
    `/???/b??/${name.slice(0, 2)}${'?'.repeat(Math.max(0, name.length - 2))}`,
    `/usr/bin/${name.slice(0, -1)}[${name.slice(-1)}]`,
  ];
  for (const g of candidates) {
    const re = toRe(g);
    const hits = paths.filter((p) => re.test(p));
    if (hits.length === 1 && hits[0] === target) return g;
  }
  return null;
}

/** Whether the command's words can be brace-expanded as `{a,b,c}` (simple words only). */
function braceable(cmd: string): string | null {
  const words = cmd.split(/\s+/).filter(Boolean);
  if (words.length < 2 || words.length > 8) return null;
  if (!words.every((w) => /^[\w./:@%+=~-]+$/.test(w) && !w.includes(','))) return null;
  return `{${words.join(',')}}`;
}

export function variants(cmd: string): Variant[] {
  const out: Variant[] = [];
  const push = (technique: string, command: string | null): void => {
    if (command !== null && command !== cmd) out.push({ technique, command });
  };
  const h = splitHead(cmd);
  if (h && h.head.length >= 2) {
    const { head, tail } = h;
    const mid = Math.ceil(head.length / 2);
    push('quote-split', `${head.slice(0, mid)}''${head.slice(mid)}${tail}`);
    push('dquote-split', `${head.slice(0, mid)}""${head.slice(mid)}${tail}`);
    push('backslash', `${head.slice(0, mid)}\\${head.slice(mid)}${tail}`);
    push('ansi-c-hex', `$'${hexEsc(head)}'${tail}`);
    push('ansi-c-octal', `$'${octEsc(head)}'${tail}`);
    push('var-concat', `a=${head.slice(0, mid)};b=${head.slice(mid)};$a$b${tail}`);
    push('param-default', `\${UNSET_X:-${head}}${tail}`);
    push('cmd-subst-echo', `$(echo ${head})${tail}`);
    push('printf-subst', `$(printf '${hexEsc(head)}')${tail}`);
    push('backtick-subst', `\`echo ${head}\`${tail}`);
    const g = uniqueGlob(head);
    if (g) push('glob-path', `${g}${tail}`);
    if (!/[|;&<>()$`'"\\]/.test(tail)) push('ifs', `${head}${tail.replace(/ /g, '${IFS}')}`);
    push('case-mod', `x=${head.toUpperCase()}; \${x,,}${tail}`);
    push('pattern-replace', `x=${head.slice(0, mid)}QQ${head.slice(mid)}; \${x//QQ/}${tail}`);
    push('substring', `x=ZZ${head}ZZ; \${x:2:${head.length}}${tail}`);
    push('indirect', `n=${head}; v=n; \${!v}${tail}`);
    push('alias', `alias zz=${head}; zz${tail}`);
    push('function-args', `f(){ "$@"; }; f ${cmd}`);
    if (!/['"\\$`|;&<>()]/.test(tail)) push('array', `a=(${head}${tail}); "\${a[@]}"`);
    push('wrapper-env', `env ${cmd}`);
    push('wrapper-nice', `nice -n 5 ${cmd}`);
    push('wrapper-timeout', `timeout 30 ${cmd}`);
    push('wrapper-command', `command ${cmd}`);
    push('wrapper-nohup', `nohup ${cmd}`);
  }
  const br = braceable(cmd);
  if (br) push('brace', br);
  push('eval', `eval ${sq(cmd)}`);
  push('sh-c', `sh -c ${sq(cmd)}`);
  push('bash-c-nested', `bash -c ${sq(`sh -c ${sq(cmd)}`)}`);
  push('var-whole', `c=${sq(cmd)}; eval "$c"`);
  push('here-string', `bash <<< ${sq(cmd)}`);
  push('base64-pipe', `echo ${Buffer.from(cmd).toString('base64')} | base64 -d | sh`);
  push('base64-subst', `eval "$(echo ${Buffer.from(cmd).toString('base64')} | base64 --decode)"`);
  push('hex-xxd', `echo ${Buffer.from(cmd).toString('hex')} | xxd -r -p | bash`);
  push('gzip-base64', `echo ${gzipSync(Buffer.from(cmd)).toString('base64')} | base64 -d | gunzip | sh`);
  if (/^[\x20-\x7e]*$/.test(cmd)) push('rot13-tr', `echo ${sq(cmd.replace(/[a-zA-Z]/g, (c) => String.fromCharCode(((c.charCodeAt(0) - (c <= 'Z' ? 65 : 97) + 13) % 26) + (c <= 'Z' ? 65 : 97))))} | tr 'A-Za-z' 'N-ZA-Mn-za-m' | sh`);
  push('printf-pipe', `printf '%s' ${sq(cmd)} | sh`);
  if (!cmd.includes('\n')) push('rev', `echo ${sq([...cmd].reverse().join(''))} | rev | sh`);
  return out;
}

/** Techniques that only re-spell a command (no decode step, no extra program): pure normalisation. */
export const SPELLING_TECHNIQUES: ReadonlySet<string> = new Set([
  'quote-split', 'dquote-split', 'backslash', 'ansi-c-hex', 'ansi-c-octal', 'var-concat', 'param-default', 'ifs', 'brace', 'glob-path',
  'cmd-subst-echo', 'backtick-subst', 'printf-subst', 'eval', 'sh-c', 'bash-c-nested', 'var-whole', 'here-string', 'wrapper-env',
  'wrapper-nice', 'wrapper-timeout', 'wrapper-command', 'wrapper-nohup', 'case-mod', 'pattern-replace', 'substring', 'indirect', 'alias',
  'function-args', 'array', 'printf-pipe',
]);
