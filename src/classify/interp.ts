/**
 * Code scanner for interpreter one-liners (python -c, perl -e, node -e, php -r, awk programs...) and
 * for file contents that some program will run. It does not parse each language: it looks for the
 * *capabilities* code uses — process execution, sockets, file writes, decoding — and sends every
 * command-like string literal back through the shell analyser, so `os.system("/bin/sh")`,
 * `exec "/bin/sh"` and `system("/bin/sh")` all reach the same verdict as `/bin/sh`.
 */
import type { Analyzer } from './analyze.js';
import { resolveField, secretRead, writeEffects } from './files.js';
import { type Ctx, lit, MAX_DEPTH } from './model.js';
import { asText, decodeAnsiC, decodeBase64 } from './decode.js';
import { findUrls } from './net.js';
import { BINARIES } from './kb/binaries.js';
import type { ChainLink } from './types.js';

interface StrLit {
  v: string;
  at: number;
  end: number;
}

const MAX_CODE = 100_000;

/** String literals in C-like / script languages: "..." '...' `...` with backslash escapes. */
export function stringLiterals(code: string): StrLit[] {
  const out: StrLit[] = [];
  const re = /"((?:[^"\\\n]|\\.){0,2000})"|'((?:[^'\\\n]|\\.){0,2000})'|`((?:[^`\\]|\\.){0,2000})`/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(code)) !== null && out.length < 400) {
    const raw = m[1] ?? m[2] ?? m[3] ?? '';
    const v = m[2] !== undefined ? raw.replace(/\\'/g, "'").replace(/\\\\/g, '\\') : decodeAnsiC(raw);
    out.push({ v, at: m.index, end: m.index + m[0].length });
  }
  return out;
}

const EXEC_SINK =
  /(?:\bos\.system|\bos\.popen[234]?|\bsubprocess\.(?:call|run|Popen|check_output|check_call|getoutput|getstatusoutput)|\bcommands\.getoutput|\bpty\.spawn|\bos\.exec[lv]p?e?|\bos\.spawn[lv]p?e?|\bos\.posix_spawnp?|\bshell_exec|\bpassthru|\bproc_open|\bpcntl_exec|\bpopen|\bsystem2?|\bexec(?:Sync|FileSync|File)?|\bspawn(?:Sync)?|\bos\.execute|\bio\.popen|\bIO\.popen|\bKernel\.(?:exec|system|spawn)|\bOpen3\.\w+|Runtime\.getRuntime\(\)\.exec|\bProcessBuilder|\bsyscall\.Exec|\bexec\.Command|\bcall-process|\bshell-command|\bmake-process|\bstart-process|\bterm|\bansi-term|\bwrite18|\bqx|\brun(?=\s*\(\s*`))\s*(?:\(|\{|\s+(?=["'`])|\[)/g;
const NET_CONNECT =
  /\bsocket\.socket|\bsocket\.create_connection|IO::Socket|\bfsockopen|\bstream_socket_client|\bTCPSocket|\bUDPSocket|\bnet\.(?:connect|createConnection|Socket|Dial)|require\(\s*["']net["']\s*\)|\bconnect\s*\(|\/inet\/(?:tcp|udp)|\bztcp\b|\bsyscall\.Socket|\bSockets\b|\bsocket\(/;
const NET_LISTEN = /\.bind\s*\(|\blisten\s*\(|\bcreateServer|\bTCPServer|\bsocket\.SO_REUSEADDR|syscall\.Bind|\bserve_forever|\bHTTPServer|-l\b/;
const NET_HTTP =
  /\burllib\d?|\burlopen|\burlretrieve|\brequests\.(?:get|post|put|request|patch)|\bhttps?\.(?:get|request)\b|require\(\s*["']https?["']\s*\)|\bfetch\s*\(|LWP::|HTTP::Tiny|Net::HTTP|open-uri|URI\.open|file_get_contents\s*\(\s*["']https?:|\bcurl_exec|\bdownload\s*\(|\bwget\b|\bhttp\.Get|\bhttp\.Post/;
const FD_REDIRECT = /\bdup2\b|open\s*\(\s*STD(?:IN|OUT|ERR)\s*,\s*["']?[>+<]*&|\$std(?:in|out|err)\.reopen|\bpty\.spawn|stdio\s*:\s*\[|\.pipe\(\s*\w+\.stdin|[<>]&\s*\$?\w*REPLY|[0-2]?[<>]&\s*\d|\bSTDIN\.reopen|\bos\.dup\b|fileno\(\)/;
const DECODE =
  /\bb64decode|\bbase64\b|\batob\s*\(|Buffer\.from\([^)]*["'](?:base64|hex)["']|decode_base64|base64_decode|\bunpack\s*\(\s*["']m|\bpack\s*\(\s*["']H|\bfromhex|\.decode\(\s*["'](?:hex|rot.?13|base64)|\bzlib\.decompress|\bmarshal\.loads|\bcodecs\.decode|\bgzinflate|\bstr_rot13|\bchr\s*\(\s*\w+\s*\^|\bxor\b|\bDecode(?:String)?\s*\(/i;
const CODE_EVAL = /\beval\s*\(|\bexec\s*\(|\bFunction\s*\(|\bcompile\s*\(|\bassert\s*\(\s*\$|\bcreate_function|\binstance_eval|\bload\s*\(|\bloadstring\s*\(|\bdostring/;
const WRITE_MARK =
  /\bdownload\s*\(|\burlretrieve\s*\(|\bwrite\s*\(\s*f\s*,|open\s*\([^)]*,\s*["'][wa]b?\+?["']|open\s*\([^)]*["']\s*>{1,2}|O_(?:WRONLY|RDWR|CREAT|APPEND)|\bwriteFile(?:Sync)?|\bappendFile(?:Sync)?|\bcreateWriteStream|\bfile_put_contents|\bfopen\s*\([^)]*["'][wa]|\bio\.open\s*\([^)]*["'][wa]|\bopen\s*\([^)]*["'][wa]["']|\bprint\s*(?:\{[^}]*\}\s*)?[^|;]*>\s*["']|\bprintf?\b[^|;]*>>?\s*["']|>{1,2}\s*["']\/|\bfputs\s*\(|\bFile\.(?:write|open)|\\openout|\$\(file\s*>|\.output\b|\bf:write|\bwrite\s*\(\s*f\b|\bIO\.write|\bos\.WriteFile|\bcopyFile|\bshutil\.copy|\bwrite_text|\bwrite_bytes|\bfwrite\s*\(/;
const FORK_BOMB = /\bfork\s*\(?\s*\)?\s*(?:while|until)\s*\(?\s*\bfork|(?:while|for|loop)\b[^\n]{0,80}\bfork\b|\bfork\b[^\n]{0,40}(?:while\s*\(?\s*(?:1|true|True)\)?)/;
const SETUID = /\bsetuid\s*\(\s*0\s*\)|\bsetreuid\s*\(\s*0|\bsetresuid\s*\(\s*0|POSIX::setuid\s*\(\s*0|\bos\.setuid\s*\(\s*0\s*\)|Process::Sys\.setuid\(\s*0|\bprocess\.setuid\s*\(\s*0/;
const SETUID_MODE = /\bchmod\s*\([^)]*(?:0o?[4-7][0-7]{3}|\b[4-7][0-7]{3}\b)/;

/** The region of code that forms a call's arguments, up to the balanced close bracket. */
function callArgs(code: string, from: number): string {
  const open = code[from - 1];
  if (open === '`') {
    const end = code.indexOf('`', from);
    return end < 0 ? code.slice(from, from + 400) : code.slice(from, end);
  }
  let depth = 1;
  const close = open === '{' ? '}' : open === '[' ? ']' : open === '(' ? ')' : '';
  if (!close) {
    // `system "cmd"` / `exec "/bin/sh"`: the rest of the statement.
    const end = code.slice(from).search(/[;\n]|\b(?:and|or|if|unless)\b/);
    return code.slice(from, end < 0 ? from + 400 : from + end);
  }
  let i = from;
  let q: string | null = null;
  for (; i < code.length && i < from + 2000; i++) {
    const c = code[i]!;
    if (q) {
      if (c === '\\') i++;
      else if (c === q) q = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') q = c;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) break;
  }
  return code.slice(from, i);
}

export function scanCode(a: Analyzer, code0: string, lang: string, ctx: Ctx): void {
  const code = code0.length > MAX_CODE ? code0.slice(0, MAX_CODE) : code0;
  if (ctx.depth > MAX_DEPTH) {
    a.add('obfuscated-exec', 'high', 'code nests payloads deeper than the analysis limit', undefined, ctx);
    return;
  }
  const sub: Ctx = { ...ctx, depth: ctx.depth + 1 };
  const hasConnect = NET_CONNECT.test(code) && !(lang === 'any' && !/socket|Socket|inet|ztcp|Dial/.test(code));
  const hasHttp = NET_HTTP.test(code);
  const hasListen = NET_LISTEN.test(code) && hasConnect;
  const hasFd = FD_REDIRECT.test(code);
  const hasDecode = DECODE.test(code);
  const hasWrite = WRITE_MARK.test(code);
  let execCount = 0;
  let dynamicExec = false;
  /** The command is built at run time but starts with a literal program name (`"kill " $2`). */
  let dynamicArgsOnly = true;

  // 1. Process execution: judge each command string as shell.
  EXEC_SINK.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = EXEC_SINK.exec(code)) !== null && execCount < 12) {
    const sinkName = m[0];
    // Python/JS `exec(`/`eval(` run code, not commands.
    // Python's exec() runs code, not commands; in JS only child_process' exec runs commands.
    if (/^exec\s*\($/.test(sinkName.replace(/\s+/g, '')) && (lang === 'python' || lang === 'js' && !/child_process/.test(code))) continue;
    if (/^spawn/.test(sinkName) && lang === 'any' && !/child_process|pty|subprocess/.test(code)) continue;
    if (/^(?:term|ansi-term)/.test(sinkName) && lang !== 'elisp' && lang !== 'any') continue;
    const region = callArgs(code, m.index + m[0].length);
    execCount++;
    const lits = stringLiterals(region).map((l) => l.v);
    const bare = region.trim();
    let cmd: string;
    if (lits.length === 0) {
      // `exec "/bin/sh"` without quotes in our cut, or backtick body, or a variable.
      if (sinkName.endsWith('`') || /^qx/.test(sinkName) || /^run/.test(sinkName)) cmd = bare;
      else if (/^[\w./-]+(\s+[\w./-]+)*$/.test(bare) && bare.includes('/')) cmd = bare;
      else {
        dynamicExec = true;
        dynamicArgsOnly = false;
        continue;
      }
    } else {
      const listForm = /^\s*\[/.test(region) || /^\s*["'][^"']*["']\s*,\s*["']/.test(region) || /^(?:os\.exec|os\.spawn|syscall\.Exec|exec\.Command|pcntl_exec|spawn)/.test(sinkName);
      cmd = listForm ? lits.filter((l, i) => !(i === 0 && /^(?:os\.exec[lv]p?e?|syscall\.Exec)/.test(sinkName) && lits.length > 1 && l === lits[1])).join(' ') : lits.join(' ');
      // execl("/bin/sh", "sh", ...): argv[0] repeats the program.
      if (/^os\.exec[lv]/.test(sinkName) && lits.length >= 2) cmd = [lits[0], ...lits.slice(2)].join(' ');
      if (/^syscall\.Exec/.test(sinkName) && lits.length >= 2) cmd = [lits[0], ...lits.slice(2)].join(' ');
      if (/[+.]\s*\w|\$\w|\{\w/.test(region.replace(/(["'])(?:(?!\1)[^\\]|\\.)*\1/g, '')) && lits.length > 0) {
        dynamicExec = true;
        if (!/^\s*["'`][\w./-]/.test(region)) dynamicArgsOnly = false;
      }
    }
    cmd = cmd.replace(/^\s*!/, '');
    if (cmd.trim() === '') continue;
    a.runSnippet(cmd, { ...sub, via: sub.via || `in ${lang} code` }, hasFd || hasConnect ? { text: null, taint: null, src: 'socket' } : { text: null, taint: null, src: 'none' });
  }
  // Perl/Ruby/PHP backticks and %x{} run commands too.
  if (lang === 'perl' || lang === 'ruby' || lang === 'php') {
    const bt = /`([^`]{1,400})`|%x\{([^}]{1,400})\}|qx\{([^}]{1,400})\}/g;
    while ((m = bt.exec(code)) !== null && execCount < 12) {
      execCount++;
      a.runSnippet(m[1] ?? m[2] ?? m[3] ?? '', sub);
    }
  }
  if (lang === 'tcl') {
    // Tcl/expect: `exec CMD`, `spawn CMD`, `open "|CMD"`.
    const tcl = /(?:^|[;\n{\[])\s*(?:spawn|exec)\s+([^;\n\]}]+)|open\s+"\|([^"]{1,400})"/g;
    while ((m = tcl.exec(code)) !== null && execCount < 12) {
      execCount++;
      a.runSnippet((m[1] ?? m[2] ?? '').replace(/\s+&\s*$/, ''), sub);
    }
  }
  if (lang === 'awk' || lang === 'any') {
    const pipes = /\|\s*"([^"]{1,400})"|"([^"]{1,400})"\s*\|\s*getline/g;
    while ((m = pipes.exec(code)) !== null && execCount < 12) {
      execCount++;
      a.runSnippet(m[1] ?? m[2] ?? '', sub);
    }
  }
  if (lang === 'vim' || lang === 'any') {
    // ex commands: `:!cmd`, `:shell`, `:terminal`
    const ex = /(?:^|[|:\s])!(\S[^|\n]*)/g;
    while ((m = ex.exec(code)) !== null && execCount < 12) {
      if (lang === 'any' && !/^\s*[/\w]/.test(m[1]!)) continue;
      if (lang === 'any') break;
      execCount++;
      a.runSnippet(m[1]!, sub);
    }
  }

  // 1b. String literals that are themselves command lines starting with a shell or `exec`
  // (`CALL "SYSTEM" USING "/bin/sh"`, `"text": "exec /bin/sh 1>&0"` in a config a program runs).
  if (execCount < 12) {
    for (const l of stringLiterals(code).slice(0, 200)) {
      const v = l.v.trim();
      const first = /^[\w./-]+/.exec(v)?.[0] ?? '';
      const commandLike = /^(?:exec\s+\S|(?:\/usr)?\/bin\/(?:ba|da|z|k|c|tc|fi|a)?sh(?:\s|$))/.test(v) || (BINARIES[first.slice(first.lastIndexOf('/') + 1)] !== undefined && /\s/.test(v) && /[|;&>]|https?:\/\/|\/dev\/(?:tcp|udp)\//.test(v));
      if (!commandLike || v.length > 2000) continue;
      if (execCount++ >= 12) break;
      a.runSnippet(v, { ...sub, via: sub.via || `command string in ${lang} code` });
    }
  }

  // 2. Network capabilities.
  const lits = stringLiterals(code);
  const urls = findUrls(code, a.cfg.allowedHosts);
  const hostLit = lits.find((l) => /^(?:\d{1,3}\.){3}\d{1,3}$|^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i.test(l.v) && !/\.(?:py|js|rb|php|txt|json|sh|so|go|c|h|pl|lua|md|yml|yaml|toml|cfg|conf|log|html|css)$/i.test(l.v));
  const target = urls[0]?.host || hostLit?.v || 'a remote host';
  let secretTouched: string | null = null;
  let secretLinks: ChainLink[] = [];
  let writeTarget = false;

  // 3. Paths in string literals (and bare paths: `open(f -> ..., /home/u/.ssh/authorized_keys, "w")`).
  const bare: StrLit[] = [];
  for (const m of code.matchAll(/(?<![\w"'`$/.\\-])((?:~\/|\/)(?:[\w.+@-]+\/)*[\w.+@-]+)(?![\w"'`/])/g)) {
    if (bare.length >= 40) break;
    const at = m.index;
    if (lits.some((l) => at >= l.at && at < l.end)) continue;
    bare.push({ v: m[1]!, at, end: at + m[0].length });
  }
  for (const l of [...lits.slice(0, 200), ...bare]) {
    const v = l.v.trim();
    if (!/^(?:\/|~\/)[^\s]*$/.test(v) || v.length < 2) continue;
    const f = lit(v.replace(/^~(?=\/)/, a.kb.home));
    const p = resolveField(a, f, ctx);
    if (!p) continue;
    const c = p.info.classes;
    const stmtEnd = code.slice(l.end).search(/[;\n]/);
    const stmt = code.slice(Math.max(0, code.lastIndexOf('\n', l.at) + 1, lastStmtStart(code, l.at)), stmtEnd < 0 ? code.length : l.end + stmtEnd);
    const writesHere = WRITE_MARK.test(stmt) || (hasWrite && /(?:writeFile|createWriteStream|file_put_contents|OpenFile|open\s*\(\s*f\s*->\s*write|download\s*\()/.test(code) && stmt.includes(l.v));
    // A file this session filled with secret data (staged for exfiltration) counts as the secret.
    const staged = !p.pattern ? ctx.env.files.get(p.abs) : undefined;
    if (staged?.taint?.secret && !writesHere && !secretTouched) {
      secretTouched = staged.taint.secret;
      secretLinks = staged.taint.links;
      continue;
    }
    if (c.has('null-device') || c.has('tmp') && !writesHere) continue;
    if (writesHere && (c.has('persistence') || c.has('privesc') || c.has('preload') || c.has('agent-config') || c.has('warden') || c.has('log') || c.has('system-bin') || c.has('system-config') || c.has('secret') || c.has('kernel-control') || c.has('disk-device'))) {
      writeTarget = true;
      writeEffects(a, p.abs, p.info, p.pattern, ctx, /["']a/.test(stmt));
      if (hasHttp || hasConnect) a.add('download', 'high', `downloads from ${target} into ${p.abs}`, undefined, ctx);
    } else if (c.has('secret')) {
      if (!secretTouched) {
        secretTouched = `${p.abs} (${p.info.what})`;
        secretRead(a, p.abs, p.info, ctx, 'code');
      }
    }
  }

  // Interactive network shells and exfiltration.
  if ((hasConnect || hasFd && hasHttp) && (execCount > 0 || hasFd)) {
    if (hasListen) a.add('bind-shell', 'critical', `${lang} code listens on a socket and serves a shell (bind shell)`, undefined, ctx);
    else a.add('reverse-shell', 'critical', `${lang} code connects to ${target} and attaches a shell or process to the socket (reverse shell)`, undefined, ctx);
  } else if (hasListen && /\bexec|system|spawn|Popen|pty/.test(code)) {
    a.add('bind-shell', 'critical', `${lang} code listens on a socket and runs commands (bind shell)`, undefined, ctx);
  } else if (hasConnect || hasHttp) {
    if (secretTouched) a.add('exfiltration', 'critical', `${lang} code sends ${secretTouched} to ${target}`, { chain: secretLinks.filter((l) => l.step !== a.facts.step) }, ctx);
    else if (!writeTarget) {
      const isUpload = /\bpost\b|POST|\.write\(|\bsend\s*\(|\bsendall|\bputs\b|print\s+\$s|\bwrite\s*\(\s*sock/.test(code);
      const cls = urls[0]?.cls;
      const plainHost = urls[0] !== undefined && urls[0].cls === 'name' && urls[0].scheme === 'https';
      const risk = cls === 'metadata' ? 'high' : hasConnect ? 'medium' : isUpload && !plainHost ? 'medium' : 'low';
      if (cls === 'metadata') a.add('read-secret', 'high', `${lang} code queries the cloud metadata endpoint (instance credentials)`, undefined, ctx);
      else a.add(isUpload ? 'network-upload' : 'network-egress', risk, `${lang} code ${hasConnect ? 'opens a raw socket to' : isUpload ? 'sends data to' : 'fetches from'} ${target}`, undefined, ctx);
    }
  }

  // 3b. Fetched code that is evaluated: download-and-execute inside the interpreter.
  if (hasHttp && CODE_EVAL.test(code)) {
    const fetchedInto = /\b(?:exec|eval|Function|compile|load|loadstring)\s*\([^)]*(?:urlopen|requests\.get|fetch|http|get\(|read\(\)|\.text|\.content|body)/.test(code);
    if (fetchedInto) a.add('download-exec', 'critical', `${lang} code downloads code from ${target} and evaluates it`, { suggestion: 'download the code to a file, inspect it, then run it' }, ctx);
  }

  // 4. Decoding feeding execution.
  if (hasDecode && (execCount > 0 || dynamicExec || CODE_EVAL.test(code))) {
    a.add('obfuscated-exec', 'high', `${lang} code decodes data and executes the result`, undefined, ctx);
  } else if (dynamicExec) {
    a.add('dynamic', dynamicArgsOnly ? 'low' : 'medium', `${lang} code runs a command built at run time`, undefined, ctx);
  }
  for (const l of lits) {
    if (l.v.length < 12 || l.v.length > 20_000) continue;
    if (!/^[A-Za-z0-9+/=_-]+$/.test(l.v) || !/[A-Z]/.test(l.v) || !/[a-z0-9]/.test(l.v)) continue;
    const b = decodeBase64(l.v);
    const t = b ? asText(b) : null;
    if (t && /[ /;|]/.test(t) && sub.depth < MAX_DEPTH) {
      a.runSnippet(t, { ...sub, via: 'decoded base64 literal' });
      a.scanCode(t, lang, sub);
    }
  }

  // 5. Resource abuse and privilege changes.
  if (FORK_BOMB.test(code)) a.add('resource-abuse', 'critical', `${lang} code forks in a loop (fork bomb)`, undefined, ctx);
  if (SETUID.test(code)) a.add('privilege-escalation', 'high', `${lang} code switches to uid 0`, undefined, ctx);
  if (SETUID_MODE.test(code)) a.add('privilege-escalation', 'high', `${lang} code sets a setuid/setgid mode`, undefined, ctx);
  if (/\bctypes\.(?:CDLL|cdll)|\bdlopen\s*\(|\bffi\.load/.test(code) && /\/tmp\/|\.so\b/.test(code)) a.add('code-injection', 'medium', `${lang} code loads a native library`, undefined, ctx);
  if (/\bsocket\b/i.test(code) && /\b(?:SOCK_RAW|AF_PACKET)\b/.test(code)) a.add('recon', 'medium', `${lang} code opens a raw packet socket (sniffing)`, undefined, ctx);
}

function lastStmtStart(code: string, at: number): number {
  const i = Math.max(code.lastIndexOf(';', at), code.lastIndexOf('\n', at));
  return i < 0 ? 0 : i + 1;
}
