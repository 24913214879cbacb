/**
 * The filesystem as the analyser sees it: path resolution (cwd, `~`, globs and unknown parts), what
 * reading or writing a path means (the path knowledge base), and the session's own record of files
 * it wrote (content and provenance), which is what lets later steps be judged by what they run.
 *
 * Invariants:
 * - No I/O: the only file contents known are those written earlier in the same session.
 * - A path pattern (glob or unknown part) is judged by every known location it could name: `cat
 *   $D/.ssh/id_rsa` reads a secret whatever `$D` is.
 */
import type { Analyzer } from './analyze.js';
import { MAX_DEPTH, type Ctx, type Field, type FileInfo, type Stream, type Taint, display, mergeTaint, UNKNOWN_STREAM } from './model.js';
import { hasGlobChars, UNKNOWN } from './glob.js';
import { normalize, type PathInfo } from './pathkb.js';
import { type ChainLink, type EffectKind, type Risk, RISK_ORDER } from './types.js';

export function openForRead(an: Analyzer, f: Field, ctx: Ctx, how: string): Stream {
  const p = resolveField(an, f, ctx);
  const tcp = /^\/dev\/(tcp|udp)\//.test(f.s) ? f.s : null;
  if (tcp) {
    netDevice(an, f.s, ctx, 'read');
    return { text: null, taint: { socket: f.s, links: [an.link(ctx, 'network socket')] }, src: 'socket' };
  }
  const proc = an.procStreams.get(f.s);
  if (proc) return proc;
  if (!p) return UNKNOWN_STREAM;
  const known = ctx.env.files.get(p.abs);
  const info = p.info;
  let taint: Taint | null = known?.taint ?? null;
  if (info.classes.has('secret')) {
    secretRead(an, p.abs, info, ctx, how);
    taint = mergeTaint(taint, { secret: `${p.abs} (${info.what})`, links: [an.link(ctx, 'secret read')] });
  } else if (info.classes.has('sensitive') && !p.pattern) {
    taint = mergeTaint(taint, { sensitive: `${p.abs} (${info.what})`, links: [an.link(ctx, 'sensitive read')] });
  }
  if (known) known.inspected = true;
  return { text: known?.text ?? null, taint, src: 'file', desc: p.abs };
}

export function secretRead(an: Analyzer, abs: string, info: PathInfo, ctx: Ctx, how: string): void {
  const risk: Risk = info.classes.has('proc-mem') || info.classes.has('mem-device') ? 'high' : 'high';
  const sug = /\.env(\.|$)/.test(abs) ? 'read only the variable names (cut -d= -f1 .env) or use .env.example' : undefined;
  an.add('read-secret', risk, `reads ${abs} (${info.what})${how === 'redirect' ? '' : ''}`, { suggestion: sug }, ctx);
  an.facts.secretReads.push(an.link(ctx, 'secret read'));
}

/** Opening a path for writing (redirect, tee, cp destination, -o FILE ...). */
export function openForWrite(an: Analyzer, f: Field, ctx: Ctx, content: Stream, append: boolean, _how: string): void {
  if (/^\/dev\/(tcp|udp)\//.test(f.s)) {
    netDevice(an, f.s, ctx, 'write', content);
    return;
  }
  const p = resolveField(an, f, ctx);
  if (!p) {
    if (!f.exact) an.add('dynamic', 'low', `writes to a path that cannot be determined (${display(f.s)})`, undefined, ctx);
    return;
  }
  writeEffects(an, p.abs, p.info, p.pattern, ctx, append);
  // Track contents for later steps (chains, payload files).
  if (!p.pattern) {
    const prev = ctx.env.files.get(p.abs);
    const text = content.text !== null ? (append && prev?.text ? prev.text + content.text : content.text) : null;
    const fi: FileInfo = { text, taint: content.taint, written: an.link(ctx, 'write') };
    if (prev?.downloaded && append) fi.downloaded = prev.downloaded;
    if (content.src === 'remote' && content.taint?.remote) fi.downloaded = an.link(ctx, `download from ${content.taint.remote}`);
    ctx.env.files.set(p.abs, fi);
    if (text !== null && text.length > 0 && !p.info.classes.has('null-device') && mayRun(p.abs, p.info, text)) payloadWritten(an, p.abs, text, ctx);
  }
}

export function writeEffects(an: Analyzer, abs: string, info: PathInfo, pattern: boolean, ctx: Ctx, append: boolean): void {
  const c = info.classes;
  const what = info.what;
  const verb = append ? 'appends to' : 'writes';
  if (c.has('null-device')) return;
  if (c.has('disk-device')) {
    an.add('destroy', 'critical', `${verb} raw disk device ${abs}: destroys the filesystem on it`, { suggestion: 'write to an image file instead and check the target with lsblk' }, ctx);
  } else if (c.has('mem-device')) {
    an.add('destroy', 'critical', `writes ${abs} (${what})`, undefined, ctx);
  } else if (c.has('kernel-control')) {
    if (abs === '/proc/sysrq-trigger') an.add('destroy', 'critical', 'writes /proc/sysrq-trigger (immediate reboot/crash of the machine)', undefined, ctx);
    else an.add('system-modify', 'high', `changes kernel settings (${abs})`, undefined, ctx);
  } else if (c.has('preload')) {
    an.add('code-injection', 'critical', `${verb} ${abs} (${what}): injects a library into every process`, undefined, ctx);
  } else if (c.has('privesc') && !c.has('sensitive')) {
    an.add('privilege-escalation', 'critical', `${verb} ${abs} (${what})`, undefined, ctx);
  } else if (c.has('privesc')) {
    an.add('privilege-escalation', 'critical', `${verb} ${abs} (${what})`, undefined, ctx);
  } else if (c.has('warden') || c.has('agent-config')) {
    an.add('security-tampering', 'high', `${verb} ${abs} (${what})`, undefined, ctx);
  } else if (c.has('persistence')) {
    const sug = /\/\.(bash|zsh)rc$|\/\.profile$/.test(abs) ? 'set the variable for this command only, or use a project-local .envrc' : undefined;
    an.add('write-persistence', 'high', `${verb} ${abs} (${what}): code that runs later, outside this session`, { suggestion: sug, chain: reconChain(an) }, ctx);
  } else if (c.has('history') || c.has('log')) {
    if (append) an.add('security-tampering', 'medium', `${verb} ${abs} (${what}): forges log entries`, undefined, ctx);
    else an.add('security-tampering', 'high', `overwrites ${abs} (${what}): destroys the audit trail`, undefined, ctx);
  } else if (c.has('secret') && !an.kb.inWorkspace(abs) && !c.has('tmp')) {
    // The project's own .env is the agent's to write; the user's keys and tokens are not.
    an.add('destroy', 'high', `${verb} ${abs} (${what})`, undefined, ctx);
  } else if (c.has('secret-dir')) {
    an.add('system-modify', 'medium', `${verb} ${abs} (${what})`, undefined, ctx);
  } else if (c.has('boot')) {
    an.add('destroy', 'critical', `${verb} ${abs} (boot files)`, undefined, ctx);
  } else if (c.has('system-bin')) {
    an.add('system-modify', 'high', `${verb} ${abs} (${what})`, undefined, ctx);
  } else if (c.has('system-config')) {
    an.add('system-modify', 'medium', `${verb} ${abs} (system configuration)`, undefined, ctx);
  } else if (!an.kb.inWorkspace(abs) && !c.has('tmp') && !abs.startsWith('/tmp') && !pattern) {
    if (an.kb.inHome(abs) || abs.startsWith('/home/')) an.add('system-modify', 'low', `${verb} ${abs}, outside the workspace`, undefined, ctx);
    else if (!abs.startsWith('/dev/')) an.add('system-modify', 'medium', `${verb} ${abs}, outside the workspace and home`, undefined, ctx);
  }
  // Secret content leaving into a readable place is staging for exfiltration (recorded in taint).
}

export function reconChain(an: Analyzer): ChainLink[] | undefined {
  return an.facts.recon.length ? an.facts.recon.slice(-4) : undefined;
}

const DOC_EXT = /\.(?:md|markdown|txt|rst|adoc|html?|css|csv|tsv|log|xml|svg|json|jsonl|ya?ml|toml|ini|lock|map|snap|po|pot)$/i;
const MANIFEST = /(?:^|\/)(?:package\.json|composer\.json|\.?npmrc|pyproject\.toml|Makefile|GNUmakefile|Dockerfile|Jenkinsfile|Rakefile|Gemfile|justfile|\.envrc)$/;

/**
 * Whether written content is something that may be *run* (so it is judged as a payload now): any
 * file in a place that runs code or controls privileges, scripts and sources, extension-less files,
 * build manifests. Documentation and data files are not judged (a README may quote `curl | sh`);
 * if such a file is executed later, its content is judged then, at full weight.
 */
function mayRun(abs: string, info: PathInfo, text: string): boolean {
  const c = info.classes;
  if (c.has('persistence') || c.has('privesc') || c.has('preload') || c.has('system-bin') || c.has('system-config') || c.has('agent-config') || c.has('warden') || c.has('kernel-control')) return true;
  if (text.startsWith('#!') || MANIFEST.test(abs)) return true;
  return !DOC_EXT.test(abs);
}

/** A file with known content was written: judge the content as a payload someone may run. */
export function payloadWritten(an: Analyzer, abs: string, text: string, ctx: Ctx): void {
  if (ctx.depth >= MAX_DEPTH - 1 || text.length > 200_000) return;
  const sub = an.fork();
  const start = Math.min(an.budget, 600);
  sub.budget = start;
  const sctx: Ctx = { ...ctx, env: ctx.env.fork(), depth: ctx.depth + 1, via: '', positional: [] };
  sub.analyzePayload(text, sctx);
  an.budget -= start - sub.budget;
  // Not run yet: one level less severe than running it (which is judged in full when it happens).
  for (const e of sub.effects) {
    if (!PAYLOAD_KINDS.has(e.kind)) continue;
    const risk = downgrade(e.risk);
    if (RISK_ORDER[risk] >= RISK_ORDER.medium) an.effects.push({ ...e, risk, reason: `writes ${abs} with code that ${e.reason}${ctx.via ? ` (${ctx.via})` : ''}` });
  }
}

/** Reading or writing a `/dev/tcp/HOST/PORT` path (or a descriptor opened on one). */
export function netDevice(an: Analyzer, spec: string, ctx: Ctx, dir: 'read' | 'write', content?: Stream): void {
  const m = /^\/dev\/(tcp|udp)\/([^/]+)\/(.+)$/.exec(spec);
  const host = m ? `${m[2]}:${m[3]}` : spec;
  if (dir === 'write' && content?.taint?.secret) {
    an.add('exfiltration', 'critical', `sends ${content.taint.secret} to ${host} over a raw ${m?.[1] ?? 'tcp'} socket`, { chain: content.taint.links }, ctx);
  } else if (dir === 'write' && content?.src === 'shell') {
    an.add('reverse-shell', 'critical', `connects a shell to ${host} over /dev/${m?.[1] ?? 'tcp'} (reverse shell)`, undefined, ctx);
  } else an.add('network-egress', 'high', `opens a raw network connection to ${host} via ${spec.slice(0, 8)}`, undefined, ctx);
}

// -------------------------------------------------------------------------------------------
// Simple commands

export function resolvePath(an: Analyzer, s: string, ctx: Ctx): string | null {
  if (s === '') return null;
  let p = s;
  if (p === '~' || p.startsWith('~/')) p = an.kb.home + p.slice(1);
  else if (/^~[a-z_][\w-]*/.test(p)) {
    const m = /^~([a-z_][\w-]*)(.*)$/.exec(p)!;
    p = (m[1] === 'root' ? '/root' : `/home/${m[1]}`) + m[2];
  }
  if (p.startsWith(UNKNOWN)) {
    // `$D/.ssh/id_rsa`: keep the known suffix as a pattern under any directory.
    return p;
  }
  if (!p.startsWith('/')) {
    const cwd = ctx.env.cwd;
    if (cwd === null) return UNKNOWN + '/' + p;
    p = cwd + '/' + p;
  }
  const hadSlash = p.endsWith('/');
  const n = normalize(p);
  return hadSlash && n !== '/' ? n : n;
}

/** Absolute path and classes of a path argument (glob/unknown-aware). */
export function resolveField(an: Analyzer, f: Field, ctx: Ctx): { abs: string; info: PathInfo; pattern: boolean } | null {
  const abs = resolvePath(an, f.s, ctx);
  if (abs === null) return null;
  const pattern = abs.includes(UNKNOWN) || (f.glob && hasGlobChars(abs));
  const info = pattern ? an.kb.classifyArg(abs) : an.kb.classify(abs);
  return { abs, info, pattern };
}

// -------------------------------------------------------------------------------------------
// Word expansion

/** Effect kinds worth reporting when they are only *written* into a file (not yet run). */
const PAYLOAD_KINDS = new Set<EffectKind>([
  'reverse-shell', 'bind-shell', 'shell-escape', 'download-exec', 'privilege-escalation', 'exfiltration', 'destroy',
  'write-persistence', 'code-injection', 'obfuscated-exec', 'read-secret', 'security-tampering', 'resource-abuse', 'exec-untrusted',
]);

function downgrade(r: Risk): Risk {
  return r === 'critical' ? 'high' : r === 'high' ? 'medium' : r === 'medium' ? 'low' : r;
}
