#!/usr/bin/env node
// srt's egress proxy, stood up from the installed package's own modules so that
// bench/egress/throughput.ts can measure it with `--proxy URL`.
//
//   node bench/peers/srt-proxy.mjs [PEERS_DIR]        # prints {"mux":PORT,"bridge":PORT} and stays up
//
// Why not just run `srt`: srt's proxy listens on an ephemeral localhost port and demands a
// per-session Basic credential (the token srt puts in the sandbox's HTTP_PROXY), which the
// throughput client does not send. So this builds the same objects srt's SandboxManager does
// (createHttpProxyServer + createSocksProxyServer behind createMuxProxyServer, with the HTTP
// backend on a unix socket) with an allowlist of 127.0.0.2 matched by srt's own
// matchesDomainPatternWithPort, and no auth token (the only difference on the data path:
// a Basic-header check per connection, nothing per byte).
//
// Two routes are offered:
//  - mux:    the host-side proxy alone (client -> mux -> unix -> http CONNECT -> upstream);
//  - bridge: srt's whole Linux path, the two socat relays included, as srt starts them:
//            `socat TCP-LISTEN:3128,fork,reuseaddr UNIX-CONNECT:S` inside the sandbox and
//            `socat UNIX-LISTEN:S,fork,reuseaddr TCP:localhost:MUX,keepalive,...` on the host.
//            Here both run in the host's network namespace (on a free port instead of 3128);
//            the unix socket between them is the one kernel object srt bind-mounts across.
// Exits when stdin closes or on SIGTERM/SIGINT, killing its socats.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const peersDir = process.argv[2] ?? process.env.PEERS_DIR ?? '/tmp/warden-peers';
const base = pathToFileURL(join(peersDir, 'node_modules/@anthropic-ai/sandbox-runtime/dist/sandbox/'));
const { createHttpProxyServer } = await import(new URL('http-proxy.js', base).href);
const { createSocksProxyServer } = await import(new URL('socks-proxy.js', base).href);
const { createMuxProxyServer } = await import(new URL('mux-proxy.js', base).href);
const { matchesDomainPatternWithPort } = await import(new URL('domain-pattern.js', base).href);

const allowedDomains = (process.env.SRT_ALLOWED ?? '127.0.0.2').split(',');
const filter = (port, host) => allowedDomains.some((p) => matchesDomainPatternWithPort(host, port, p));

const httpServer = createHttpProxyServer({ filter });
const socks = createSocksProxyServer({ filter: (port, host) => filter(port, host) });
const mux = createMuxProxyServer({ httpServer, handleSocksConnection: (s) => socks.handleConnection(s) });
await mux.listenHttpBackend();
await new Promise((resolve, reject) => {
  mux.server.once('error', reject);
  mux.server.listen(0, '127.0.0.1', resolve);
});
const muxPort = mux.getPort();

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const dir = mkdtempSync(join(tmpdir(), 'srt-proxy-bench-'));
const sock = join(dir, 'http.sock');
const bridgePort = await freePort();
const socats = [
  spawn('socat', [`UNIX-LISTEN:${sock},fork,reuseaddr`, `TCP:localhost:${muxPort},keepalive,keepidle=10,keepintvl=5,keepcnt=3`], { stdio: 'ignore' }),
  spawn('socat', [`TCP-LISTEN:${bridgePort},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`], { stdio: 'ignore' }),
];
for (const p of socats) p.once('error', (e) => { console.error(`srt-proxy: socat: ${e.message}`); process.exit(1); });

// Wait until the bridge answers (socat forks per connection, so a probe is harmless).
for (let i = 0; ; i++) {
  const ok = existsSync(sock) && await new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: bridgePort }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (ok) break;
  if (i > 100) { console.error('srt-proxy: socat bridge did not come up'); process.exit(1); }
  await new Promise((r) => setTimeout(r, 20));
}

const stop = () => {
  for (const p of socats) p.kill();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
console.log(JSON.stringify({ mux: muxPort, bridge: bridgePort }));
