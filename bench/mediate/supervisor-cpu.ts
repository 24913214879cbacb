/**
 * The supervisor's share of exec mediation, in process (no sandbox, no helper):
 *
 *   node dist/bench/mediate/supervisor-cpu.js [--n 20000] [--runs 3]
 *
 * - `first`: the first decision of a session on the exec loop's own argv (`sh -c 'i=0; while ...'`,
 *   bench/peers/exec-loop.sh), in a fresh process each time: shell parser load plus the classifier's
 *   first run. Split into `parser_load_ms` (loading the shell parser alone, in another fresh
 *   process) and the rest. Without warden run's V8 code cache, so both are upper bounds.
 * - `replay`: main-thread CPU per audit-only (kind 2) frame — an exec the helper already continued
 *   from its verdict cache — with the audit hand-off a no-op (`mediator_us`) and into a real audit
 *   writer on the caller's thread, as `warden run` opens it (`with_audit_us`: record encoding,
 *   chain, group commit and fdatasync included).
 * - `paced`: the same, the frames coming one at a time from another process, `gap` µs apart, as
 *   during the exec loop: over the channel, one wake-up per frame (`mediator_us`, `with_audit_us`),
 *   and through the frames pipe as native/notify.c writes them once the supervisor has taken it —
 *   hello and switch on the channel, frames into a FIFO, a doorbell at most every RING_MS
 *   (`pipe_mediator_us`, `pipe_with_audit_us`).
 * Prints JSON.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fstatSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { AuditEventInput } from '../../src/audit/record.js';
import { openAuditWriter } from '../../src/audit/writer.js';
import { createCommandContext, decideCommand } from '../../src/mediate/command-decision.js';
import { ExecMediator } from '../../src/mediate/exec-mediator.js';
import { RING_MS } from '../../src/mediate/frames-pipe.js';
import { traceeFs } from '../../src/mediate/tracee-fs.js';
import { loadPolicy } from '../../src/policy/load.js';
import { numArg, percentiles } from '../stats.js';

const argv = process.argv.slice(2);

const N = numArg('n', 20000);
const RUNS = numArg('runs', 3);
/** The exec loop's own pace: one exec every ~600 µs unsandboxed on this machine. */
const GAP = numArg('gap', 600);
const PACED_N = numArg('paced-n', 2000);
const LOOP = 'i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done';
const SELF = fileURLToPath(import.meta.url);

async function policyIn(dir: string) {
  const ws = join(dir, 'w');
  mkdirSync(ws, { recursive: true });
  return (await loadPolicy({ workspace: ws, home: dir, cwd: dir })).policy;
}

/** One request frame, as native/notify.c writes it. */
function frame(kind: 1 | 2, id: bigint, pid: number, path: string, args: string[]): Buffer {
  const strs = [path, ...args].map((s) => Buffer.from(s));
  const b = Buffer.alloc(40 + strs.reduce((n, s) => n + 4 + s.length, 0));
  b.writeUInt32LE(b.length - 4, 0);
  b.writeUInt32LE(kind, 4);
  b.writeBigUInt64LE(id, 8);
  b.writeUInt32LE(pid, 16);
  b.writeInt32LE(-100, 24);
  b.writeUInt32LE(args.length, 36);
  let off = 40;
  for (const s of strs) {
    b.writeUInt32LE(s.length, off);
    s.copy(b, off + 4);
    off += 4 + s.length;
  }
  return b;
}

/**
 * The helper's side of `replay`: N kind-2 frames, one write each, `gap` µs apart — on the socket,
 * or (`fifo` given) into that FIFO after hello and switch on the socket, with a doorbell on the
 * socket whenever none rang in the last RING_MS.
 */
async function send(sock: string, gapUs: number, n: number, fifo?: string): Promise<void> {
  const c = connect(sock);
  await new Promise((r) => c.on('connect', r));
  const f = frame(2, 2n, 1000, '/bin/true', ['/bin/true']);
  const fd = (c as unknown as { _handle: { fd: number } })._handle.fd;
  let out = fd;
  let rang = -Infinity;
  if (fifo !== undefined) {
    out = openSync(fifo, 'r+');
    const hello = Buffer.alloc(24);
    hello.writeUInt32LE(20, 0);
    hello.writeUInt32LE(4, 4);
    hello.writeUInt32LE(process.pid, 8);
    hello.writeInt32LE(out, 12);
    hello.writeBigUInt64LE(fstatSync(out, { bigint: true }).ino, 16);
    writeSync(fd, Buffer.concat([hello, Buffer.from([4, 0, 0, 0, 5, 0, 0, 0])]));
  }
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < n; i++) {
    writeSync(out, f);
    if (out !== fd && performance.now() - rang >= RING_MS) {
      writeSync(fd, 'd');
      rang = performance.now();
    }
    const until = performance.now() + gapUs / 1000;
    while (performance.now() < until) Atomics.wait(tick, 0, 0, Math.max(0, until - performance.now()));
  }
  c.end();
}

async function child(mode: string): Promise<void> {
  if (mode === 'send') return send(argv[2]!, Number(argv[3]), Number(argv[4]), argv[5]);
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'warden-supcpu-')));
  try {
    if (mode === 'parser') {
      const t0 = performance.now();
      createRequire(import.meta.url)('mvdan-sh');
      process.stdout.write(`${performance.now() - t0}\n`);
      return;
    }
    const ctx = createCommandContext(await policyIn(dir));
    const t0 = performance.now();
    const d = decideCommand(ctx, { kind: 'argv', argv: ['sh', '-c', LOOP], path: '/usr/bin/dash', cwd: dir, kernel: true });
    const t1 = performance.now();
    decideCommand(ctx, { kind: 'argv', argv: ['sh', '-c', LOOP.replace('1000', '999')], path: '/usr/bin/dash', cwd: dir, kernel: true });
    process.stdout.write(`${t1 - t0} ${performance.now() - t1} ${d.decision}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Main-thread CPU (µs) per kind-2 frame over N frames, after one kind-1 frame made /bin/true
 * cacheable. `gapUs` > 0: the frames come one at a time over a real unix socket from another
 * process, `gapUs` apart, as the helper sends them during the exec loop (one wake-up per exec), or
 * (`viaPipe`) through a FIFO taken as the helper's frames pipe; 0: all handed over at once.
 */
async function replay(withAudit: boolean, gapUs: number, n: number, viaPipe = false): Promise<number> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'warden-supcpu-')));
  try {
    const policy = await policyIn(dir);
    const writer = withAudit
      ? await openAuditWriter({ env: { WARDEN_HOME: join(dir, 'home') }, thread: 'inline', genesis: { policyHash: policy.hash, wardenVersion: 'bench', layers: { active: [], degraded: [] } } })
      : undefined;
    let records = 0;
    const audit = (ev: AuditEventInput) => {
      records++;
      writer?.enqueue(ev);
    };
    // As warden run hands a replay's record over (src/session/run.ts).
    const auditReplay = (template: AuditEventInput, pid: number) => {
      records++;
      writer?.enqueueWithPid(template, pid);
    };
    const verdicts: Buffer[] = [];
    const channel = new Duplex({ read() {}, write(c: Buffer, _e, cb) { verdicts.push(c); cb(); } });
    const mediator = new ExecMediator({ channel, session: 'bench', context: createCommandContext(policy), immutable: () => true, audit, auditReplay, fsFor: () => traceeFs(process.pid), onFatal: (e) => { throw e; } });
    channel.emit('data', frame(1, 1n, process.pid, '/bin/true', ['/bin/true']));
    if (verdicts.length !== 1 || verdicts[0]!.readUInt32LE(28) !== 1) throw new Error('the first /bin/true was not a cacheable allow');
    const frames = Array.from({ length: n }, (_, i) => frame(2, BigInt(i + 2), 1000 + (i % 30000), '/bin/true', ['/bin/true']));
    let cpu0 = process.cpuUsage();
    if (gapUs === 0) {
      for (const f of frames) channel.emit('data', f);
    } else {
      const sock = join(dir, 'frames.sock');
      const total = frames.reduce((a, f) => a + f.length, 0);
      const server = createServer();
      const fifo = join(dir, 'frames.fifo');
      if (viaPipe && spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
      const got = new Promise<void>((resolve) => {
        server.on('connection', (c) => {
          let n = 0;
          cpu0 = process.cpuUsage();
          c.on('data', (chunk: Buffer) => {
            channel.emit('data', chunk);
            n += chunk.length;
            if (!viaPipe && n >= total) resolve();
          });
          // Through the pipe, the last frames are read at close (the sender's end).
          if (viaPipe) c.on('end', resolve);
        });
      });
      await new Promise<void>((r) => server.listen(sock, r));
      const sender = spawn(process.execPath, [SELF, '--child', 'send', sock, String(gapUs), String(n), ...(viaPipe ? [fifo] : [])], { stdio: 'inherit' });
      await got;
      await new Promise((r) => sender.on('exit', r));
      server.close();
    }
    mediator.close();
    await writer?.close();
    const cpu = process.cpuUsage(cpu0);
    if (records !== n + 1) throw new Error(`${records} records for ${n + 1} execs`);
    return (cpu.user + cpu.system) / n;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (argv[0] === '--child') {
  await child(argv[1]!);
} else {
  const fresh = (mode: string): string => {
    const r = spawnSync(process.execPath, [SELF, '--child', mode], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  const first: number[] = [];
  const second: number[] = [];
  const parser: number[] = [];
  let decision = '';
  for (let i = 0; i < Math.max(5, RUNS); i++) {
    const [a, b, d] = fresh('first').split(' ');
    first.push(Number(a));
    second.push(Number(b));
    decision = d!;
    parser.push(Number(fresh('parser')));
  }
  const mediator: number[] = [];
  const withAudit: number[] = [];
  const pacedMediator: number[] = [];
  const pacedAudit: number[] = [];
  const pipeMediator: number[] = [];
  const pipeAudit: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    mediator.push(await replay(false, 0, N));
    withAudit.push(await replay(true, 0, N));
    pacedMediator.push(await replay(false, GAP, PACED_N));
    pacedAudit.push(await replay(true, GAP, PACED_N));
    pipeMediator.push(await replay(false, GAP, PACED_N, true));
    pipeAudit.push(await replay(true, GAP, PACED_N, true));
  }
  const r = (xs: number[]) => xs.map((x) => +x.toFixed(1));
  console.log(JSON.stringify({
    first: { decision, first_ms: percentiles(first, [50])[50], second_ms: percentiles(second, [50])[50], parser_load_ms: percentiles(parser, [50])[50], runs: first.length },
    replay: { n: N, mediator_us: r(mediator), with_audit_us: r(withAudit) },
    paced: { n: PACED_N, gap_us: GAP, mediator_us: r(pacedMediator), with_audit_us: r(pacedAudit), pipe_mediator_us: r(pipeMediator), pipe_with_audit_us: r(pipeAudit) },
  }, null, 2));
}
