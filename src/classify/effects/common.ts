/**
 * Building blocks shared by effect handlers: nested execution (wrappers, payloads), reading files
 * into streams, judging code whose text is (partly) unknown, and the argument audit that judges any
 * program — known or not — by what its arguments name (secret paths, URLs, sockets, shells, code).
 *
 * Invariant: every nested execution goes through the analyser with `depth + 1`, so wrappers inside
 * payloads inside wrappers stay bounded by MAX_DEPTH and the step budget.
 */
import { openForRead, openForWrite, resolveField } from '../files.js';
import { UNKNOWN } from '../glob.js';
import { EXEC_OPTION_RE, SHELL_NAMES } from '../kb/binaries.js';
import { type Ctx, display, type Field, type Invocation, lit, MAX_DEPTH, mergeTaint, NO_STREAM, type Stream, type Taint, UNKNOWN_STREAM } from '../model.js';
import { devTcp, findUrls } from '../net.js';
import type { Risk } from '../types.js';

export const CURL_SH_SUGGESTION = 'download to a file, inspect it, then run it: curl -fsSLo install.sh URL && less install.sh && sh install.sh';

/** A context one level deeper, with a description of how we got there. */
export function nested(inv: Invocation, via: string, extra?: Partial<Ctx>): Ctx {
  const v = inv.ctx.via ? `${inv.ctx.via}, ${via}` : via;
  return { ...inv.ctx, depth: inv.ctx.depth + 1, via: v.length > 120 ? v.slice(0, 117) + '...' : v, ...extra };
}

/** Runs an argv the program would start (wrappers, -exec, xargs). */
export function runNestedArgv(inv: Invocation, fields: Field[], via: string, stdin: Stream = inv.stdin, extra?: Partial<Ctx>): Stream {
  if (fields.length === 0) return NO_STREAM;
  const ctx = nested(inv, via, extra);
  if (ctx.depth > MAX_DEPTH) {
    inv.a.add('obfuscated-exec', 'high', 'commands nest deeper than the analysis limit', undefined, inv.ctx);
    return UNKNOWN_STREAM;
  }
  return inv.a.runArgv(fields, ctx, stdin, new Map());
}

/** Runs shell code the program would hand to a shell (`sh -c`, `-exec sh -c`, `--rsh`, hooks). */
export function runShellCode(inv: Invocation, code: Field, via: string, stdin: Stream = NO_STREAM, extra?: Partial<Ctx>): Stream {
  const ctx = nested(inv, via, extra);
  judgeCodeProvenance(inv, code.taint, code.exact && code.s.trim() !== '' ? 'known' : code.s.replace(new RegExp(UNKNOWN, 'g'), '').trim() === '' ? 'unknown' : 'partial', 'shell code', ctx);
  if (!code.exact && code.s.replace(new RegExp(UNKNOWN, 'g'), '').trim() === '') return UNKNOWN_STREAM;
  return inv.a.runSource(code.s, ctx, stdin);
}

/**
 * Effects of executing code by where it came from: downloaded, from a socket, decoded, or simply
 * unknowable. Known, untainted code adds nothing here (its own content is analysed).
 */
export function judgeCodeProvenance(inv: Invocation, taint: Taint | null, known: 'known' | 'partial' | 'unknown', what: string, ctx: Ctx = inv.ctx): void {
  const a = inv.a;
  if (taint?.socket) {
    a.add('reverse-shell', 'critical', `runs ${what} received from a network connection (${taint.socket})`, undefined, ctx);
  } else if (taint?.remote) {
    a.add('download-exec', 'critical', `runs ${what} downloaded from ${taint.remote} without inspecting it`, { suggestion: CURL_SH_SUGGESTION, chain: taint.links.filter((l) => l.step !== a.facts.step) }, ctx);
  } else if (taint?.decoded) {
    a.add('obfuscated-exec', 'high', `runs ${what} that is decoded or decompressed at run time (hides what runs)`, undefined, ctx);
  } else if (known === 'unknown') {
    // `eval "$(tool init)"` is an everyday idiom; provenance that matters (download, decode,
    // socket) is judged above, so an untainted unknown is a warning, not a review.
    const idiom = /(?:^|, )eval$/.test(ctx.via) || ctx.via.endsWith('eval');
    a.add('dynamic', idiom ? 'low' : 'medium', `runs ${what} that cannot be determined before it runs`, undefined, ctx);
  }
}

/** Reads files into one stream: exact text when every part is known, taint merged. */
export function readFiles(inv: Invocation, files: Field[], how: string): Stream {
  if (files.length === 0) return inv.stdin;
  let text: string | null = '';
  let taint: Taint | null = null;
  let src: Stream['src'] = 'file';
  for (const f of files) {
    const s = f.s === '-' || f.s === '/dev/stdin' ? inv.stdin : openForRead(inv.a, f, inv.ctx, how);
    text = text !== null && s.text !== null ? text + s.text : null;
    taint = mergeTaint(taint, s.taint);
    if (s.src === 'remote' || s.src === 'socket' || s.src === 'shell') src = s.src;
  }
  return { text, taint, src };
}

export function writeFile(inv: Invocation, f: Field, content: Stream, append = false, how = 'write'): void {
  openForWrite(inv.a, f, inv.ctx, content, append, how);
}

/** A stream derived from another: same provenance, transformed (or unknown) text. */
export function derived(s: Stream, text: string | null, decoded = false): Stream {
  let taint = s.taint;
  if (decoded) taint = mergeTaint(taint, { decoded: true, links: [] });
  const out: Stream = { text, taint, src: decoded ? 'decoded' : s.src === 'none' ? 'unknown' : s.src };
  if (text === null && !decoded && s.bytes) out.bytes = s.bytes;
  return out;
}

export function isShellName(s: string): boolean {
  const base = s.slice(s.lastIndexOf('/') + 1);
  return SHELL_NAMES.has(base) && base !== 'busybox';
}

/** A path to a shell binary: `/bin/sh`, `/usr/bin/bash` (not a bare word). */
export function isShellPath(s: string): boolean {
  return s.includes('/') && isShellName(s) && !s.endsWith('/');
}

function looksLikePath(s: string): boolean {
  return s.startsWith('/') || s.startsWith('~') || s.startsWith('./') || s.startsWith('../') || s.startsWith(UNKNOWN + '/') || /^[\w.-]*\/[\w./-]/.test(s) || /^\.[\w.-]+$/.test(s) || /^[\w.-]+\.(?:pem|key|env|kdbx|p12|pfx|tfstate|jks|keystore)$/.test(s) || s === 'credentials';
}

/** Options that name an input file for almost every program (`date -f FILE`, `--config FILE`). */
const FILE_OPT_RE = /^(?:-f|--file|--config|--conf|--rcfile|--input|--from-file|--init-file)$/;
const WRITE_OPT_RE = /^-{1,2}(?:o|out|output|outfile|output-file|output-dir|outdir|out-file|log|log-file|logfile|dump|save|write|w|dest|destination|target|to|file)$/;
const READ_OPT_RE = /^-{1,2}(?:i|in|input|infile|input-file|file|f|F|config|conf|c|r|read|load|from|cert|key|netrc-file|cookie|b|T|upload-file|attach|a)$/;

export interface JudgeOptions {
  /**
   * How positionals are treated: `judge` (unknown programs: anything they name matters), `read`
   * (the program reads them), `skip` (a known program whose positionals were already judged, or
   * are metadata only: `ls ~/.ssh`). Option values are always judged.
   */
  positionals?: 'judge' | 'read' | 'skip';
  /** Options known to take a value (pairs them reliably); others pair heuristically. */
  val?: readonly string[];
}

/**
 * The argument audit: what an argument list *names*, independent of which program receives it —
 * raw sockets, command-valued options, URLs, shells, secret and protected paths, libraries to load.
 */
export function judgeArgs(inv: Invocation, fields: Field[], o: JudgeOptions = {}): Stream {
  const mode = o.positionals ?? 'judge';
  const known = o.val ? new Set(o.val) : null;
  let out: Stream = NO_STREAM;
  const setOut = (st: Stream): void => {
    out = st;
  };
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const s = f.s;
    if (s === '--') {
      if (mode !== 'skip') for (const g of fields.slice(i + 1)) judgeOne(inv, g, null, mode, setOut, 0);
      break;
    }
    const eq = /^(-{1,2}[\w-]+)=(.*)$/s.exec(s);
    if (eq) {
      judgeOne(inv, { ...f, s: eq[2]! }, eq[1]!, mode, setOut, 0);
      continue;
    }
    if (s.startsWith('-') && s.length > 1) {
      const next = fields[i + 1];
      if (!next || next.s.startsWith('-')) continue;
      const takes = known ? known.has(s) || FILE_OPT_RE.test(s) : EXEC_OPTION_RE.test(s) || WRITE_OPT_RE.test(s) || READ_OPT_RE.test(s) || /^--[\w-]+$/.test(s);
      if (takes) {
        judgeOne(inv, next, s, mode, setOut, 0);
        i++;
      }
      continue;
    }
    if (mode !== 'skip') judgeOne(inv, f, null, mode, setOut, 0);
  }
  return out;
}

function judgeOne(inv: Invocation, f: Field, optName: string | null, mode: 'judge' | 'read' | 'skip', setOut: (s: Stream) => void, depth: number): void {
  const a = inv.a;
  const ctx = inv.ctx;
  const s = f.s;
  const prog = inv.name || 'the program';
  const dt = devTcp(s, a.cfg.allowedHosts);
  if (dt) {
    a.add('network-egress', 'high', `${prog} is given a raw network socket (${dt.raw})`, undefined, ctx);
    return;
  }
  if (optName && EXEC_OPTION_RE.test(optName) && s.trim() !== '') {
    if (ctx.depth < MAX_DEPTH) runShellCode(inv, f, `${prog} ${optName}`);
    // `-z FILE`, `-e FILE` may just as well be a file option: a secret path is still a secret.
    if (!s.startsWith('/') || /\s/.test(s)) return;
  }
  for (const u of findUrls(s, a.cfg.allowedHosts).slice(0, 3)) {
    if (u.cls === 'metadata') a.add('read-secret', 'high', `${prog} contacts the cloud metadata endpoint ${u.host} (instance credentials)`, undefined, ctx);
    else if (u.scheme === 'file') setOut(openForRead(a, lit(s.replace(/^file:\/\//i, '')), ctx, 'url'));
  }
  // `alias.x=!cmd` (git/hg/... config aliases): a shell command.
  const bang = /^[\w.-]+=!(.+)$/s.exec(s);
  if (bang && ctx.depth < MAX_DEPTH) {
    runShellCode(inv, { ...f, s: bang[1]! }, `${prog} alias`);
    return;
  }
  // Compound values (`path=/bin/sh,argv1=-c`, `Include /root/x`): judge the path-like pieces.
  if (depth === 0 && /[\s,;=:]/.test(s) && !s.includes('://')) {
    const pieces = s.split(/[\s,;=]+|:(?=\/)/).filter((x) => x && x !== s).slice(0, 8);
    for (const piece of pieces) if (/^(?:\/|~\/|@\/)/.test(piece)) judgeOne(inv, { ...f, s: piece }, optName, mode === 'skip' ? 'judge' : mode, setOut, 1);
    if (pieces.length > 1) return;
  }
  if (isShellPath(s) && !isShellName(prog)) {
    a.add('shell-escape', 'high', `${prog} is given a shell (${s}) to run`, undefined, ctx);
    return;
  }
  const at = s.startsWith('@') && s.length > 1 ? s.slice(1) : null;
  const ps = at ?? s;
  if (!looksLikePath(ps)) return;
  const pf: Field = { ...f, s: ps };
  const p = resolveField(a, pf, ctx);
  if (!p) return;
  const c = p.info.classes;
  if (optName !== null && WRITE_OPT_RE.test(optName)) {
    writeFile(inv, pf, UNKNOWN_STREAM, false, 'option');
    if (c.has('secret-dir')) a.add('read-secret', 'medium', `${prog} is pointed at ${p.abs} (${p.info.what})`, undefined, ctx);
    return;
  }
  if (c.has('secret') || c.has('proc-mem')) {
    setOut(openForRead(a, pf, ctx, 'argument'));
  } else if (c.has('secret-dir')) {
    a.add('read-secret', 'medium', `${prog} is pointed at ${p.abs} (${p.info.what})`, undefined, ctx);
  } else if (mode === 'read') {
    setOut(openForRead(a, pf, ctx, 'argument'));
  } else if (mode !== 'judge') {
    // A known program's option value: only secrets (above) are judged without knowing the option.
  } else if (c.has('persistence') || c.has('privesc') || c.has('preload') || c.has('warden') || c.has('agent-config')) {
    a.add(c.has('persistence') ? 'write-persistence' : c.has('preload') ? 'code-injection' : c.has('privesc') ? 'privilege-escalation' : 'security-tampering', 'medium', `${prog} is given ${p.abs} (${p.info.what}), which it may modify`, undefined, ctx);
  } else if (c.has('disk-device')) {
    a.add('destroy', 'high', `${prog} is given raw disk device ${p.abs}`, undefined, ctx);
  } else if ((optName !== null || /\/\.[^/]+\//.test(p.abs)) && !p.pattern && /^\/(?:tmp|var\/tmp|dev\/shm)\/|\/\.[^/]+\//.test(p.abs) && /\.(?:sh|py|pl|rb|bash|so)$|\/\.[^/]*\/[^/.]+$/.test(p.abs) && !a.kb.inWorkspace(p.abs)) {
    a.add('exec-untrusted', 'medium', `${prog} ${optName} is given ${p.abs}, a script in a world-writable or hidden location (it may run it)`, undefined, ctx);
  }
  if (/\.so(?:\.\d+)*$/.test(p.abs) && !/^\/(?:usr\/)?lib/.test(p.abs)) {
    a.add('code-injection', 'medium', `${prog} is given a shared library (${display(p.abs)}) to load`, undefined, ctx);
  }
  // A file this session wrote, handed to a program we know nothing about: it may well be run or
  // interpreted (config with commands, source code), so its content is judged at full weight.
  if (mode === 'judge' && !p.pattern) {
    const fi = ctx.env.files.get(p.abs);
    if (fi?.text && ctx.depth < MAX_DEPTH) a.analyzePayload(fi.text, { ...ctx, env: ctx.env.fork(), depth: ctx.depth + 1, via: `content of ${p.abs} given to ${prog}` });
  }
}

/**
 * Secrets a recursive reader of `abs` would pick up, and how much that matters: the home
 * directory (or an ancestor of it) holds the user's keys and tokens; a system tree like /var or
 * /etc mostly does not (its secrets need root).
 */
export function secretsUnder(inv: Invocation, abs: string): { what: string; risk: Risk } | null {
  const kb = inv.a.kb;
  const child = kb.classify(abs.replace(/\/$/, '') + '/x');
  const what = kb.containsSecrets(abs) ?? (child.classes.has('secret') ? `${abs} (${child.what})` : null);
  if (!what) return null;
  const home = kb.home;
  const personal = abs === home || kb.inHome(abs) || home.startsWith(abs === '/' ? '/' : abs + '/');
  return { what, risk: personal ? 'high' : 'low' };
}
