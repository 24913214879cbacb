/**
 * Raw socket tools (nc/ncat, socat, telnet, zsh ztcp, finger): a shell wired to a socket is a
 * reverse shell, a socket served by a shell a bind shell; files sent over a socket are uploads.
 */
import { openForRead } from '../files.js';
import { display, type Field, type Invocation, NO_STREAM, type Stream, UNKNOWN_STREAM } from '../model.js';
import { classifyHost } from '../net.js';
import { hasOpt, optValue, parseArgs } from './args.js';
import { writeFile } from './common.js';
import { hostEndpoint, remoteStream, socketStream, uploadEffects } from './egress.js';

const NC_VAL = ['-e', '-c', '-p', '-s', '-w', '-q', '-i', '-x', '-X', '-O', '-I', '-T', '-V', '-M', '-m', '--exec', '--sh-exec', '--lua-exec', '-o', '--output', '--source-port', '--wait'];

/** nc / ncat / netcat: connect, listen, `-e`/`-c` attach a program to the socket. */
export function nc(inv: Invocation): Stream {
  const { a, ctx, name } = inv;
  const p = parseArgs(inv.args, NC_VAL);
  const listen = hasOpt(p, '-l', '--listen');
  const prog = optValue(p, '-e', '--exec') ?? optValue(p, '-c', '--sh-exec', '--lua-exec');
  const hostF = p.pos.find((f) => !/^\d+(?:-\d+)?$/.test(f.s));
  const port = p.pos.find((f) => /^\d+(?:-\d+)?$/.test(f.s))?.s ?? optValue(p, '-p')?.s ?? '?';
  const where = hostF ? `${display(hostF.s)}:${port}` : `port ${port}`;
  if (prog) {
    if (listen) a.add('bind-shell', 'critical', `${name} -l serves ${display(prog.s)} to anyone who connects on ${where} (bind shell)`, undefined, ctx);
    else a.add('reverse-shell', 'critical', `${name} connects ${display(prog.s)} to ${where} (reverse shell)`, undefined, ctx);
    return NO_STREAM;
  }
  if (hasOpt(p, '-z')) {
    const local = hostF ? classifyHost(hostF.s, a.cfg.allowedHosts) === 'loopback' : true;
    const range = /-/.test(port) || p.pos.filter((f) => /^\d+$/.test(f.s)).length > 1;
    if (!local || range) {
      a.facts.recon.push(a.link(ctx, 'port scan'));
      a.add('recon', 'medium', `${name} -z scans ports on ${where}`, undefined, ctx);
    }
    return NO_STREAM;
  }
  const st = inv.stdin;
  if (st.src === 'shell') {
    a.add(listen ? 'bind-shell' : 'reverse-shell', 'critical', `${name} carries a shell's input/output ${listen ? `for clients of ${where} (bind shell)` : `to ${where} (reverse shell)`}`, undefined, ctx);
    return socketStream(inv, where);
  }
  const ep = hostF ? hostEndpoint(hostF.s.replace(/^.*@/, ''), inv) : null;
  if (listen) {
    a.add('listener', 'medium', `${name} listens for connections on ${where}`, undefined, ctx);
    if (st.taint?.secret) a.add('exfiltration', 'critical', `${name} serves ${st.taint.secret} to whoever connects on ${where}`, { chain: st.taint.links }, ctx);
  } else if (st.src !== 'none') {
    uploadEffects(inv, st, ep, `${name} sends`);
    if (!st.taint?.secret) a.add('network-egress', 'medium', `${name} opens a raw connection to ${where}`, undefined, ctx);
  } else if (ep?.cls !== 'loopback' && ep?.cls !== 'allowed') {
    a.add('network-egress', 'medium', `${name} opens a raw connection to ${where}`, undefined, ctx);
  }
  const out = optValue(p, '-o', '--output');
  if (out) writeFile(inv, out, socketStream(inv, where), false, 'nc');
  return socketStream(inv, where);
}

interface SocatAddr {
  kind: 'exec' | 'connect' | 'listen' | 'file' | 'stdio' | 'other';
  value: string;
  field: Field;
}

function socatAddr(f: Field): SocatAddr {
  const s = f.s;
  const m = /^([A-Za-z0-9-]+)(?::(.*))?$/s.exec(s);
  if (s === '-' || /^(?:stdio|stdin|stdout|stderr)$/i.test(s)) return { kind: 'stdio', value: '', field: f };
  if (!m) return { kind: 'other', value: s, field: f };
  const type = m[1]!.toLowerCase();
  const rest = m[2] ?? '';
  const value = rest.replace(/,(?:pty|stderr|setsid|sigint|sane|ctty|raw|echo=\d|fork|reuseaddr|crnl|nofork|pipes|su=\w+|verify=\d|creat|create|append|trunc).*$/i, '');
  if (type === 'exec' || type === 'system') return { kind: 'exec', value, field: { ...f, s: value } };
  if (/^(?:tcp|tcp4|tcp6|tcp-connect|udp|udp4|udp6|udp-connect|openssl|openssl-connect|ssl|sctp-connect|socks4a?|socks5|proxy)$/.test(type)) return { kind: 'connect', value: rest.split(',')[0] ?? '', field: f };
  if (/-(?:listen|l|recvfrom|recv)$/.test(type) || /^(?:tcp-l|udp-l|openssl-listen|unix-listen)$/.test(type)) return { kind: 'listen', value: rest.split(',')[0] ?? '', field: f };
  if (/^(?:file|open|create|gopen|pipe)$/.test(type)) return { kind: 'file', value: rest.split(',')[0] ?? '', field: { ...f, s: rest.split(',')[0] ?? '' } };
  if (/^\//.test(s)) return { kind: 'file', value: s.split(',')[0]!, field: { ...f, s: s.split(',')[0]! } };
  return { kind: 'other', value: rest, field: f };
}

/** socat ADDR1 ADDR2: data flows both ways (left to right only with -u). */
export function socat(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, ['-d', '-D', '-lf', '-L', '-b', '-t', '-T'], { longSingleDash: false });
  const addrs = p.pos.slice(0, 2).map(socatAddr);
  if (addrs.length < 2) return NO_STREAM;
  const [x, y] = addrs as [SocatAddr, SocatAddr];
  const has = (k: SocatAddr['kind']): SocatAddr | undefined => addrs.find((ad) => ad.kind === k);
  const ex = has('exec');
  const conn = has('connect');
  const lis = has('listen');
  const file = has('file');
  if (ex && file && !has('connect') && !has('listen')) {
    // `socat exec:CMD file:PATH`: the command's output lands in the file.
    const out = a.runSource(ex.value, { ...ctx, depth: ctx.depth + 1, via: 'socat exec' });
    writeFile(inv, file.field, out, false, 'socat');
    return NO_STREAM;
  }
  if (ex) {
    if (lis) a.add('bind-shell', 'critical', `socat serves ${display(ex.value)} on ${display(lis.value)} (bind shell)`, undefined, ctx);
    else if (conn) a.add('reverse-shell', 'critical', `socat connects ${display(ex.value)} to ${display(conn.value)} (reverse shell)`, undefined, ctx);
    else if (has('stdio') || file) a.runSource(ex.value, { ...ctx, depth: ctx.depth + 1, via: ctx.via || 'socat exec' }, NO_STREAM);
    else a.runSource(ex.value, { ...ctx, depth: ctx.depth + 1, via: 'socat exec' });
    return NO_STREAM;
  }
  const uni = hasOpt(p, '-u');
  const rev = hasOpt(p, '-U');
  const readFrom = rev ? y : x;
  const writeTo = rev ? x : y;
  if (file && (conn || lis)) {
    const net = (conn ?? lis)!;
    const ep = conn ? hostEndpoint(net.value.replace(/:\d+$/, ''), inv) : null;
    if (readFrom.kind === 'file' || !uni) {
      if (readFrom === file || !uni) {
        const st = openForRead(a, file.field, ctx, 'socat');
        if (readFrom === file) {
          if (lis) a.add(st.taint?.secret ? 'exfiltration' : 'listener', st.taint?.secret ? 'critical' : 'medium', `socat serves ${file.value}${st.taint?.secret ? ` (${st.taint.secret})` : ''} on ${net.value}`, undefined, ctx);
          else uploadEffects(inv, st, ep, 'socat sends', file.value);
        }
      }
    }
    if (writeTo === file || !uni) {
      writeFile(inv, file.field, remoteStream(inv, net.value), false, 'socat');
      a.add('download', 'medium', `socat writes data from ${net.value} into ${file.value}`, undefined, ctx);
    }
    return NO_STREAM;
  }
  if (file && has('stdio')) {
    const toFile = uni ? writeTo === file : false;
    if (toFile) writeFile(inv, file.field, inv.stdin, false, 'socat');
    return toFile ? NO_STREAM : openForRead(a, file.field, ctx, 'socat');
  }
  if (conn) {
    const ep = hostEndpoint(conn.value.replace(/:\d+$/, ''), inv);
    if (inv.stdin.src !== 'none' && (has('stdio'))) uploadEffects(inv, inv.stdin, ep, 'socat sends');
    a.add('network-egress', 'medium', `socat opens a raw connection to ${display(conn.value)}`, undefined, ctx);
    return socketStream(inv, conn.value);
  }
  if (lis) {
    a.add('listener', 'medium', `socat listens on ${display(lis.value)}`, undefined, ctx);
    return socketStream(inv, lis.value);
  }
  return NO_STREAM;
}

export function telnet(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const p = parseArgs(inv.args, ['-l', '-n', '-b', '-e', '-X', '-k']);
  const host = p.pos[0]?.s ?? '?';
  const where = `${display(host)}:${p.pos[1]?.s ?? '23'}`;
  if (inv.stdin.src === 'shell') {
    a.add('reverse-shell', 'critical', `telnet carries a shell's input/output to ${where} (reverse shell)`, undefined, ctx);
  } else if (inv.stdin.src !== 'none') {
    uploadEffects(inv, inv.stdin, hostEndpoint(host, inv), 'telnet sends');
  } else a.add('network-egress', 'medium', `telnet opens a raw connection to ${where}`, undefined, ctx);
  return socketStream(inv, where);
}

/** zsh `ztcp HOST PORT`: opens a TCP connection; its descriptor number is left in $REPLY. */
export function ztcp(inv: Invocation): Stream {
  const { a, ctx } = inv;
  const pos = inv.args.filter((f) => !f.s.startsWith('-'));
  if (inv.args.some((f) => f.s === '-l')) {
    a.add('listener', 'medium', `ztcp listens on port ${display(pos[0]?.s ?? '?')}`, undefined, ctx);
    return NO_STREAM;
  }
  if (inv.args.some((f) => f.s === '-c' || f.s === '-L')) return NO_STREAM;
  const host = pos[0]?.s ?? '?';
  const port = pos[1]?.s ?? '?';
  const dev = `/dev/tcp/${host}/${port}`;
  const fd = `ztcp:${host}:${port}`;
  ctx.env.vars.set('REPLY', { vals: [fd], exact: true, taint: null });
  ctx.env.fds.set(fd, { text: null, taint: { socket: dev, links: [a.link(ctx, 'network socket')] }, src: 'socket' });
  a.add('network-egress', 'high', `ztcp opens a raw TCP connection to ${display(host)}:${display(port)}`, undefined, ctx);
  return NO_STREAM;
}

/** finger: local lookups are harmless; `user@host` talks to a remote finger daemon. */
export function finger(inv: Invocation): Stream {
  const remote = inv.args.find((f) => /@[\w.-]+/.test(f.s));
  if (remote) {
    if (remote.taint?.secret) inv.a.add('exfiltration', 'critical', `finger carries ${remote.taint.secret} to a remote host`, undefined, inv.ctx);
    else inv.a.add('network-egress', 'medium', `finger talks to the remote finger daemon at ${display(remote.s.replace(/^.*@/, ''))} (a known exfiltration channel)`, undefined, inv.ctx);
  }
  return UNKNOWN_STREAM;
}
