/**
 * Data transformers: encoders/decoders (base64, xxd, openssl enc, gpg), compressors and archivers,
 * and text filters (tr, rev, grep). They matter twice: decoding literal payloads reveals what would
 * run (`echo cm0gLXJmIC8= | base64 -d | sh` is `rm -rf /`), and transforming secret data keeps its
 * taint, so `tar czf - ~/.ssh | base64 | curl -d @- ...` is still a secret leaving.
 *
 * Invariant: output taint is the union of the input taints; decoding/decompressing marks the
 * result `decoded` (content the reader of the command line could not see).
 */
import { createRequire } from 'node:module';
import { openForRead, resolveField } from '../files.js';
import { asText, decodeBase64, decodeHex, rot13, trTranslate } from '../decode.js';
import { display, type Field, type Invocation, lit, mergeTaint, NO_STREAM, type Stream } from '../model.js';
import { remoteSpec } from '../net.js';
import { flag, hasOpt, optValue, optValues, parseArgs } from './args.js';
import { derived, readFiles, runShellCode, secretsUnder, writeFile } from './common.js';

function decodeB64Stream(s: Stream): Stream {
  if (s.text === null) return derived(s, null, true);
  const buf = decodeBase64(s.text.replace(/\s+/g, ''));
  return bytesStream(s, buf);
}

/** A decoded stream from bytes: text when printable, otherwise the bytes (for a decompressor). */
function bytesStream(s: Stream, buf: Buffer | null): Stream {
  const t = buf ? asText(buf) : null;
  const out = derived(s, t, true);
  if (buf && t === null && buf.length <= MAX_BYTES) out.bytes = buf;
  return out;
}

const MAX_BYTES = 1 << 20;

/** Decompresses literal gzip/zlib/brotli data (bounded output); null when it is not that. */
function inflate(buf: Buffer): Buffer | null {
  // node:zlib is loaded here, on first use: decompression is rare, and loading it with the
  // classifier cost ~0.5–0.9 ms of `warden run`'s start-up.
  const { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
  const opts = { maxOutputLength: MAX_BYTES };
  for (const f of [() => gunzipSync(buf, opts), () => inflateSync(buf, opts), () => inflateRawSync(buf, opts), () => brotliDecompressSync(buf, opts)]) {
    try {
      return f();
    } catch {
      // not this format
    }
  }
  return null;
}

export function base64(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const input = readFiles(inv, p.pos, inv.name);
  if (hasOpt(p, '-d', '--decode', '-D')) return inv.name === 'base64' ? decodeB64Stream(input) : derived(input, null, true);
  const text = input.text !== null && inv.name === 'base64' ? Buffer.from(input.text, 'utf8').toString('base64') + '\n' : null;
  return derived(input, text);
}

function hexdump(buf: Buffer): string {
  const lines: string[] = [];
  for (let off = 0; off < buf.length && lines.length < 4096; off += 16) {
    const chunk = buf.subarray(off, off + 16);
    let hex = '';
    for (let i = 0; i < 16; i++) {
      hex += i < chunk.length ? chunk[i]!.toString(16).padStart(2, '0') : '  ';
      if (i % 2 === 1) hex += ' ';
    }
    const ascii = [...chunk].map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}: ${hex} ${ascii}`);
  }
  return lines.join('\n') + '\n';
}

function unhexdump(text: string): Buffer | null {
  let hex = '';
  for (const line of text.split('\n')) {
    const m = /^[0-9a-fA-F]+:\s?((?:[0-9a-fA-F]{2,4}\s?)+)/.exec(line);
    if (m) hex += m[1]!.replace(/\s+/g, '');
  }
  return decodeHex(hex);
}

/** xxd: dump (`xxd`, `xxd -p`) and reverse (`xxd -r [-p]`), optional infile/outfile positionals. */
export function xxd(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const [inF, outF] = p.pos.filter((f) => f.s !== '-' || true);
  const input = inF && inF.s !== '-' ? readFiles(inv, [inF], 'xxd') : inv.stdin;
  const reverse = flag(inv.args, 'r', '-revert');
  const plain = flag(inv.args, 'p', '-ps', '-postscript', '-plain');
  let out: Stream;
  if (reverse) {
    const buf = input.text === null ? null : plain ? decodeHex(input.text) : unhexdump(input.text);
    out = bytesStream(input, buf);
  } else {
    const text = input.text === null ? null : plain ? Buffer.from(input.text).toString('hex').replace(/(.{60})/g, '$1\n') + '\n' : hexdump(Buffer.from(input.text));
    out = derived(input, text);
  }
  if (outF && outF.s !== '-') {
    writeFile(inv, outF, out, false, 'xxd');
    return NO_STREAM;
  }
  return out;
}

export function compress(inv: Invocation): Stream {
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const decompress = hasOpt(p, '-d', '--decompress', '--uncompress') || /^(?:gunzip|bunzip2|unxz|unlzma|unzstd|unlz4|uncompress|zcat|gzcat|bzcat|xzcat|zstdcat|lz4cat)$/.test(inv.name);
  const toStdout = hasOpt(p, '-c', '--stdout', '--to-stdout') || p.pos.length === 0 || /cat$/.test(inv.name);
  const input = readFiles(inv, p.pos, inv.name);
  const raw = input.bytes ?? (input.text !== null ? Buffer.from(input.text, 'latin1') : null);
  const out = decompress && raw ? bytesStream(input, inflate(raw)) : derived(input, null, decompress);
  if (toStdout) return out;
  for (const f of p.pos) {
    const dest = decompress ? f.s.replace(/\.(?:gz|bz2|xz|lzma|zst|lz4|lzo|br|Z)$/, '') : `${f.s}.${inv.name.startsWith('bz') ? 'bz2' : inv.name === 'xz' ? 'xz' : inv.name === 'zstd' ? 'zst' : 'gz'}`;
    if (dest !== f.s) writeFile(inv, lit(dest), { text: null, taint: out.taint, src: out.src }, false, inv.name);
  }
  return NO_STREAM;
}

const TAR_VAL_LETTERS = new Set(['f', 'C', 'T', 'X', 'b', 'H', 'V', 'g', 'I', 'K', 'L', 'N']);

/** tar: create (reads sources), extract (writes under -C), and its command-running options. */
export function tar(inv: Invocation): Stream {
  const { a, ctx } = inv;
  let args = inv.args;
  // Old-style bundled first argument: `tar czf out.tgz dir`.
  const first = args[0];
  if (first && !first.s.startsWith('-') && /^[A-Za-z]+$/.test(first.s)) {
    const letters = first.s.split('');
    const expanded: Field[] = [];
    let vi = 1;
    for (const l of letters) {
      expanded.push(lit('-' + l));
      if (TAR_VAL_LETTERS.has(l) && args[vi]) expanded.push(args[vi++]!);
    }
    args = [...expanded, ...args.slice(vi)];
  }
  const p = parseArgs(args, inv.spec?.val ?? []);
  const create = hasOpt(p, '-c', '--create', '-r', '--append', '-u', '--update');
  const extract = hasOpt(p, '-x', '--extract', '--get');
  const file = optValue(p, '-f', '--file');
  const dir = optValue(p, '-C', '--directory');
  for (const o of p.opts) {
    if (!o.value) continue;
    if (/^--(?:to-command|rsh-command|use-compress-program|info-script|new-volume-script)$|^-I$|^-F$/.test(o.name)) runShellCode(inv, o.value, `tar ${o.name}`);
    if (o.name === '--checkpoint-action') {
      const m = /^(?:exec|execute)=(.*)$/s.exec(o.value.s);
      if (m) runShellCode(inv, { ...o.value, s: m[1]! }, 'tar --checkpoint-action');
    }
  }
  const filesFrom = optValue(p, '-T', '--files-from');
  if (create) {
    const sources = [...p.pos];
    if (filesFrom) {
      const list = readFiles(inv, [filesFrom], 'tar -T');
      if (list.text) sources.push(...list.text.split('\n').filter(Boolean).slice(0, 16).map((s) => lit(s)));
    }
    let content: Stream = { text: null, taint: null, src: 'file' };
    for (const s of sources.slice(0, 32)) {
      const r = resolveField(a, s, ctx);
      if (r && !r.pattern) {
        const inside = secretsUnder(inv, r.abs);
        if (inside && !a.kb.inWorkspace(r.abs) && !r.info.classes.has('secret')) {
          a.add('read-secret', inside.risk, `archives ${inside.what}`, undefined, ctx);
          if (inside.risk === 'high') {
            a.facts.secretReads.push(a.link(ctx, 'secret read'));
            content = { ...content, taint: mergeTaint(content.taint, { secret: inside.what, links: [a.link(ctx, 'secret archived')] }) };
          }
          continue;
        }
      }
      const st = openForRead(a, s, ctx, 'tar');
      content = { ...content, taint: mergeTaint(content.taint, st.taint) };
    }
    if (!file || file.s === '-') return content;
    writeFile(inv, file, content, false, 'tar');
    return NO_STREAM;
  }
  const remoteArchive = file ? remoteSpec(file.s, a.cfg.allowedHosts) : null;
  if (remoteArchive && remoteArchive.cls !== 'allowed') a.add('download', 'medium', `tar reads the archive ${display(file!.s)} from a remote host over ssh`, undefined, ctx);
  const archive = remoteArchive ? { text: null, taint: { remote: remoteArchive.host, links: [a.link(ctx, `download from ${remoteArchive.host}`)] }, src: 'remote' as const } : file && file.s !== '-' ? openForRead(a, file, ctx, 'tar') : inv.stdin;
  if (extract) {
    // `--xform 's@.*@/abs/path@'` with -P rewrites member names to absolute destinations.
    for (const o of p.opts) {
      if (!o.value || !/^--(?:xform|transform)$/.test(o.name)) continue;
      const m = /^s(.)(?:(?!\1).)*\1((?:(?!\1).)*)\1/.exec(o.value.s);
      if (m && m[2]!.startsWith('/')) writeFile(inv, lit(m[2]!), archive, false, 'tar --xform');
    }
    const target = dir ?? lit('.');
    const r = resolveField(a, target, ctx);
    if (r && !a.kb.inWorkspace(r.abs) && !r.info.classes.has('tmp')) {
      const c = r.info.classes;
      const risky = r.abs === '/' || a.kb.isSystemRoot(r.abs) || c.has('persistence') || c.has('system-bin') || c.has('system-config') || a.kb.inHome(r.abs) && r.abs === a.kb.home;
      a.add(c.has('persistence') ? 'write-persistence' : 'system-modify', risky ? 'high' : 'low', `extracts an archive into ${r.abs}${risky ? ' (can overwrite system or startup files)' : ''}`, undefined, ctx);
    }
    if (archive.taint?.remote && r) ctx.env.files.set(r.abs + '/*', { text: null, taint: archive.taint, downloaded: archive.taint.links[0] ?? a.link(ctx, 'download') });
    return hasOpt(p, '-O', '--to-stdout') ? derived(archive, null, true) : NO_STREAM;
  }
  return derived(archive, null);
}

export function zip(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  for (const o of p.opts) if (o.value && (o.name === '-TT' || o.name === '--unzip-command')) runShellCode(inv, o.value, `zip ${o.name}`);
  const [out, ...srcs] = p.pos;
  let content: Stream = { text: null, taint: null, src: 'file' };
  for (const s of srcs.slice(0, 32)) {
    const r = resolveField(a, s, ctx);
    const inside = r && !r.pattern ? secretsUnder(inv, r.abs) : null;
    if (inside && r && !a.kb.inWorkspace(r.abs) && !r.info.classes.has('secret')) {
      a.add('read-secret', inside.risk, `archives ${inside.what}`, undefined, ctx);
      if (inside.risk === 'high') content = { ...content, taint: mergeTaint(content.taint, { secret: inside.what, links: [a.link(ctx, 'secret archived')] }) };
      continue;
    }
    content = { ...content, taint: mergeTaint(content.taint, openForRead(a, s, ctx, 'zip').taint) };
  }
  if (out && out.s !== '-') writeFile(inv, out, content, false, 'zip');
  return out?.s === '-' ? content : NO_STREAM;
}

/** unzip, 7z, cpio, ar, ...: archive positionals are read; `-d DIR`/`-oDIR` is where files land. */
export function archive(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  let content: Stream = { text: null, taint: null, src: 'file' };
  const cmds = new Set(['a', 'x', 'e', 'l', 't', 'u', 'd', 'rn', 'h', 'b', 'i']);
  let pos = p.pos;
  if (/^7z/.test(name) && pos[0] && cmds.has(pos[0].s)) pos = pos.slice(1);
  if (name === 'cpio' && hasOpt(p, '-o', '--create') && inv.stdin.text !== null) {
    pos = [...pos, ...inv.stdin.text.split('\n').filter(Boolean).slice(0, 16).map((s) => lit(s))];
  }
  for (const f of pos.slice(0, 32)) content = { ...content, taint: mergeTaint(content.taint, openForRead(a, f, ctx, name).taint) };
  const attached = inv.args.find((f) => /^-o\/./.test(f.s));
  const dest = optValue(p, '-d', '--directory') ?? (attached ? { ...attached, s: attached.s.slice(2) } : null) ?? pos.slice(1).find((f) => f.s.endsWith('/')) ?? null;
  if (dest) {
    const r = resolveField(a, dest, ctx);
    if (r && !a.kb.inWorkspace(r.abs) && !r.info.classes.has('tmp')) {
      const c = r.info.classes;
      a.add(c.has('persistence') ? 'write-persistence' : 'system-modify', c.has('persistence') || c.has('system-bin') || a.kb.isSystemRoot(r.abs) ? 'high' : 'low', `extracts into ${r.abs}`, undefined, ctx);
    }
  }
  if (name === 'cpio' && (hasOpt(p, '-p', '--pass-through')) && pos[0]) writeFile(inv, pos[0], content, false, 'cpio');
  return content;
}

/** openssl: enc/base64 decode, file reads/writes, s_client connections, s_server listeners. */
export function openssl(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const sub = inv.args[0]?.s ?? '';
  const p = parseArgs(inv.args.slice(1), ['-in', '-out', '-connect', '-accept', '-port', '-key', '-cert', '-pass', '-passin', '-passout', '-k', '-K', '-iv', '-md', '-engine', '-keyform', '-inform', '-outform', '-CAfile', '-servername', '-host', '-config', '-extfile', '-subj', '-days', '-newkey', '-keyout', '-name', '-topk8', '-cipher', '-iter', '-S', '-digest'], { longSingleDash: true });
  const inF = optValue(p, '-in');
  const outF = optValue(p, '-out');
  const engine = optValue(p, '-engine');
  if (engine && /\//.test(engine.s)) a.add('code-injection', 'high', `openssl -engine loads a shared library (${display(engine.s)})`, undefined, ctx);
  const input = inF ? openForRead(a, inF, ctx, 'openssl -in') : inv.stdin;
  let out: Stream;
  if (sub === 's_client') {
    const host = optValue(p, '-connect')?.s ?? optValue(p, '-host')?.s ?? p.pos[0]?.s ?? 'a remote host';
    if (input.taint?.secret) a.add('exfiltration', 'critical', `sends ${input.taint.secret} to ${display(host)} over TLS`, { chain: input.taint.links }, ctx);
    else if (input.src === 'shell') a.add('reverse-shell', 'critical', `connects a shell to ${display(host)} over TLS (reverse shell)`, undefined, ctx);
    else if (input.src !== 'none' && input.desc !== '/dev/null') a.add('network-upload', 'medium', `sends data to ${display(host)} over a raw TLS connection`, undefined, ctx);
    else a.add('network-egress', 'low', `opens a TLS connection to ${display(host)}`, undefined, ctx);
    return { text: null, taint: { socket: host, links: [a.link(ctx, 'network socket')] }, src: 'socket' };
  }
  if (sub === 's_server') {
    a.add('listener', 'medium', `openssl s_server listens for connections on port ${display(optValue(p, '-accept')?.s ?? optValue(p, '-port')?.s ?? '?')}`, undefined, ctx);
    return { text: null, taint: { socket: 'listener', links: [] }, src: 'socket' };
  }
  const decode = hasOpt(p, '-d');
  const base64 = hasOpt(p, '-base64', '-a') || sub === 'base64';
  if (sub === 'enc' || sub === 'base64' || /^-?(?:aes|des|bf|camellia|chacha|rc4|cast|seed|sm4)/.test(sub)) {
    out = decode && base64 && !/aes|des|bf|camellia|chacha|rc4/.test(inv.args.map((f) => f.s).join(' ')) ? decodeB64Stream(input) : derived(input, null, decode);
  } else out = derived(input, null);
  if (outF) {
    writeFile(inv, outF, out, false, 'openssl -out');
    return NO_STREAM;
  }
  return out;
}

export function gpg(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  if (hasOpt(p, '--export-secret-keys', '--export-secret-subkeys')) a.add('read-secret', 'high', 'exports GPG private keys', undefined, ctx);
  if (hasOpt(p, '--recv-keys', '--refresh-keys', '--fetch-keys')) a.add('network-egress', 'low', 'fetches keys from a keyserver', undefined, ctx);
  const input = readFiles(inv, p.pos, 'gpg');
  const out = derived(input, null, hasOpt(p, '-d', '--decrypt'));
  const o = optValue(p, '-o', '--output');
  if (o) {
    writeFile(inv, o, out, false, 'gpg -o');
    return NO_STREAM;
  }
  return out;
}

const CRED_PATTERN = /pass(?:word|wd)?|secret|token|api[_-]?key|apikey|private[_ -]?key|BEGIN .*PRIVATE|aws_access|aws_secret|credential|authorization|bearer/i;

/** grep-likes: pattern first (unless -e/-f), then files; recursive credential hunts outside the project. */
export function grep(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, inv.spec?.val ?? []);
  const patterns = optValues(p, '-e', '--regexp');
  const pf = optValue(p, '-f', '--file');
  let files = p.pos;
  if (patterns.length === 0 && !pf) {
    if (files[0]) patterns.push(files[0]);
    files = files.slice(1);
  }
  if (pf) openForRead(a, pf, ctx, 'grep -f');
  const recursive = flag(inv.args, 'r', '--recursive', '-R', '--dereference-recursive') || inv.name === 'rg' || inv.name === 'ag' || inv.name === 'ack';
  const credHunt = patterns.some((f) => CRED_PATTERN.test(f.s));
  if (recursive || files.length === 0 && recursive) {
    const roots = files.length ? files : [lit('.')];
    for (const r of roots) {
      const rr = resolveField(a, r, ctx);
      if (!rr) continue;
      const secretsUnder = rr.pattern ? null : a.kb.containsSecrets(rr.abs);
      if (rr.info.classes.has('secret-dir') || rr.info.classes.has('secret')) {
        openForRead(a, r, ctx, 'grep');
      } else if (credHunt && !a.kb.inWorkspace(rr.abs)) {
        a.facts.secretReads.push(a.link(ctx, 'credential search'));
        a.add('read-secret', 'high', `searches ${rr.abs} recursively for credentials (${display(patterns.map((f) => f.s).join(' '))})`, undefined, ctx);
      } else if (secretsUnder && !a.kb.inWorkspace(rr.abs) && rr.abs !== '/') {
        a.add('read-secret', 'low', `searches ${secretsUnder} recursively`, undefined, ctx);
      }
    }
    return { text: null, taint: null, src: 'file' };
  }
  const input = readFiles(inv, files, 'grep');
  return derived(input, null);
}

/** tr / rev / cat-like passthroughs that keep literal text (obfuscation round-trips). */
export function textFilter(inv: Invocation): Stream {
  const p = parseArgs(inv.args, []);
  if (inv.name === 'tr') {
    const del = hasOpt(p, '-d', '--delete');
    const [s1, s2] = p.pos;
    const st = inv.stdin;
    if (st.text === null || !s1) return derived(st, null);
    if (!del && s2 && /^(?:'?A-Za-z'?|a-zA-Z)$/.test(s1.s) && /^(?:N-ZA-Mn-za-m|n-za-mN-ZA-M)$/.test(s2.s)) return derived(st, rot13(st.text), true);
    return derived(st, trTranslate(st.text, s1.s, s2?.s ?? null, del), true);
  }
  const input = readFiles(inv, p.pos, inv.name);
  if (inv.name === 'rev') return derived(input, input.text === null ? null : input.text.split('\n').map((l) => [...l].reverse().join('')).join('\n'), true);
  if (inv.name === 'tac') return derived(input, input.text === null ? null : input.text.replace(/\n$/, '').split('\n').reverse().join('\n') + '\n');
  return input;
}

