/**
 * Process-level attacks: inherited fds, environment leakage, fork bomb, memory hog, and killing
 * the supervisor (or the helper) with SIGKILL mid-run. Judged by host-visible effects, each with
 * a control run that shows the effect happens without the sandbox (or without its limit).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { launchSandbox } from '../../src/sandbox/launch.js';
import {
  cleanup,
  compileAttacks,
  ctxEnv,
  defaultSpec,
  descendants,
  hostLatencyMs,
  makeCtx,
  nodeArgs,
  planFor,
  read,
  removeSessionCgroups,
  resetFiles,
  runPlain,
  runSandboxed,
  SECRET,
  sh,
  stillAlive,
  type Ctx,
} from './harness.js';

const here = fileURLToPath(import.meta.url);
const runner = join(dirname(here), 'fixtures', `runner${extname(here)}`);

function lines(child: ReturnType<typeof spawn>): AsyncGenerator<string> {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) queue.push(buf.slice(0, nl)), (buf = buf.slice(nl + 1));
    wake?.();
  });
  child.on('close', () => ((done = true), wake?.()));
  return (async function* () {
    for (;;) {
      if (queue.length) yield queue.shift()!;
      else if (done) return;
      else await new Promise<void>((r) => (wake = r));
    }
  })();
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

describe('process-level attacks', () => {
  let c: Ctx;
  let bins: Record<string, string>;
  before(() => {
    c = makeCtx();
    bins = compileAttacks(c);
  });
  after(() => cleanup(c));

  it('inherited fds: an fd the supervisor holds without O_CLOEXEC is not reachable', async () => {
    resetFiles(c);
    const leak = join(c.ws, 'leak-fd');
    const attack = `cat <&7 > ${leak}; cat /proc/self/fd/7 >> ${leak}; for f in /proc/self/fd/*; do cat "$f"; done >> ${leak} 2>/dev/null; true`;
    // Control: a plain child of a process holding fd 7 reads it.
    runPlain(['bash', '-c', `exec 7<"$0"; exec sh -c "$1"`, c.awsCred, attack], { env: ctxEnv(c) });
    assert.ok((read(leak) ?? '').includes(SECRET), 'control: fd 7 was readable without Warden');
    resetFiles(c);
    // The supervisor (a separate node process) inherits fd 7 and launches the sandbox.
    const specFile = join(c.root, 'spec-fd.json');
    writeFileSync(specFile, JSON.stringify(defaultSpec(c, sh(attack))));
    const r = runPlain(['bash', '-c', `exec 7<"$0"; exec "$@"`, c.awsCred, process.execPath, ...nodeArgs(), runner, specFile], { env: { ...process.env } });
    assert.match(r.stdout, /"exitCode":0/, `runner: ${r.stdout} ${r.stderr}`);
    assert.ok(!(read(leak) ?? '').includes(SECRET), 'fd 7 leaked into the sandbox');
  });

  it('env leakage: a secret in the supervisor environment is absent inside', async () => {
    resetFiles(c);
    const out = join(c.ws, 'env');
    const attack = `env > ${out}; for p in /proc/self /proc/1 /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ; done >> ${out} 2>/dev/null; true`;
    const env = { ...ctxEnv(c), WARDEN_TEST_ENV_SECRET: SECRET };
    runPlain(sh(attack), { env });
    assert.ok((read(out) ?? '').includes(SECRET), 'control: env visible without Warden');
    resetFiles(c);
    process.env['WARDEN_TEST_ENV_SECRET'] = SECRET;
    try {
      const res = await runSandboxed(defaultSpec(c, sh(attack)));
      assert.equal(res.result.exitCode, 0, res.stderr);
      const got = read(out) ?? '';
      assert.ok(got.includes('PATH='), 'the attack ran');
      assert.ok(!got.includes(SECRET), 'secret env var leaked into the sandbox');
    } finally {
      delete process.env['WARDEN_TEST_ENV_SECRET'];
    }
  });

  /** Runs the bomb for `seconds` (or until `enough` tasks were seen, when given). */
  async function bomb(pids: number, seconds: number, enough = Infinity): Promise<{ maxTasks: number; maxLatency: number; leftover: number[] }> {
    const plan = await planFor(defaultSpec(c, [bins['forkbomb']!], { limits: { pids, memoryBytes: 2 * 1024 ** 3 } }));
    const h = launchSandbox(plan, { stdio: 'ignore' });
    await h.ready;
    let maxTasks = 0;
    let maxLatency = 0;
    const end = Date.now() + seconds * 1000;
    let snap: Array<{ pid: number; start: string }> = [];
    while (Date.now() < end && maxTasks < enough) {
      snap = descendants(h.helperPid);
      maxTasks = Math.max(maxTasks, snap.length);
      maxLatency = Math.max(maxLatency, hostLatencyMs());
      await sleep(50);
    }
    snap = descendants(h.helperPid);
    h.kill('SIGKILL');
    await h.result;
    await waitFor(() => stillAlive(snap).length === 0, 1000);
    await removeSessionCgroups(h.helperPid);
    return { maxTasks, maxLatency, leftover: stillAlive(snap) };
  }

  it('fork bomb: bounded by the pids limit, host stays responsive, nothing left after kill', async (t) => {
    // On a loaded machine (the suite runs files in parallel) the bomb can take a while to get going.
    const ctl = await bomb(300, 5, 201);
    assert.ok(ctl.maxTasks > 200, `control: with a 300-task limit the bomb reached only ${ctl.maxTasks} processes`);
    assert.deepEqual(ctl.leftover, []);
    const r = await bomb(64, 3);
    assert.ok(r.maxTasks <= 64 + 2, `fork bomb reached ${r.maxTasks} processes (limit 64)`);
    assert.ok(r.maxTasks >= 32, `the bomb never got going (${r.maxTasks} processes)`);
    assert.ok(r.maxLatency < 2000, `host spawn latency ${r.maxLatency} ms during the bomb`);
    assert.deepEqual(r.leftover, [], 'processes survived the kill');
    t.diagnostic(`tasks: control (limit 300) ${ctl.maxTasks}, sandboxed (limit 64) ${r.maxTasks}; host spawn latency max ${r.maxLatency.toFixed(0)} ms`);
  });

  it('memory hog: bounded by the memory limit while the host stays responsive', async (t) => {
    resetFiles(c);
    const progress = join(c.ws, 'hog');
    runPlain([bins['hog']!, progress, '768'], { timeoutMs: 30_000 });
    assert.equal(Number(read(progress)), 768, 'control: the hog reached 768 MiB without Warden');
    resetFiles(c);
    const plan = await planFor(defaultSpec(c, [bins['hog']!, progress, '768'], { limits: { memoryBytes: 256 << 20, pids: 64 } }));
    const h = launchSandbox(plan, { stdio: 'ignore' });
    let maxLatency = 0;
    let finished = false;
    void h.result.then(() => (finished = true));
    while (!finished) {
      maxLatency = Math.max(maxLatency, hostLatencyMs());
      await sleep(50);
    }
    const res = await h.result;
    const reached = Number(read(progress) ?? 0);
    assert.ok(reached <= 256, `hog reached ${reached} MiB with a 256 MiB limit`);
    assert.ok(res.resources, 'resource usage reported');
    assert.ok(res.resources!.maxRssKb < 300 * 1024, `max RSS ${res.resources!.maxRssKb} kB`);
    if (res.resources!.memoryPeakBytes !== undefined) assert.ok(res.resources!.memoryPeakBytes <= (256 << 20) + (8 << 20));
    assert.ok(maxLatency < 2000, `host latency ${maxLatency} ms`);
    t.diagnostic(`hog reached ${reached} MiB (control 768), exit ${res.exitCode}${res.signal ? ` signal ${res.signal}` : ''}, max RSS ${res.resources!.maxRssKb} kB, cgroup peak ${res.resources!.memoryPeakBytes ?? 'n/a'}`);
  });

  it('kill -9 of the supervisor: the tree is dead within 1 s and does nothing further', async () => {
    resetFiles(c);
    const marker = join(c.ws, 'marker');
    const pidfile = join(c.ws, 'loop.pid');
    const loop = `echo $$ > ${pidfile}; while :; do date +%s%N > ${marker}; sleep 0.05; done`;

    // Control: a node process that spawns the loop without Warden; killing it leaves the loop running.
    const plain = spawn(process.execPath, ['-e', `require('child_process').spawn('sh', ['-c', ${JSON.stringify(loop)}], { stdio: 'ignore' }); setInterval(() => {}, 1000)`], { stdio: 'ignore' });
    assert.ok(await waitFor(() => read(marker) !== null, 5000), 'control loop started');
    plain.kill('SIGKILL');
    await sleep(1000);
    const m1 = read(marker);
    await sleep(300);
    const orphan = Number(read(pidfile));
    try {
      assert.notEqual(read(marker), m1, 'control: the orphaned loop kept writing after its parent was SIGKILLed');
    } finally {
      if (orphan > 1) process.kill(orphan, 'SIGKILL');
    }

    resetFiles(c);
    const specFile = join(c.root, 'spec-loop.json');
    writeFileSync(specFile, JSON.stringify(defaultSpec(c, sh(loop))));
    const sup = spawn(process.execPath, [...nodeArgs(), runner, specFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const it1 = lines(sup);
    const first = (await it1.next()).value as string;
    const { helperPid } = JSON.parse(first) as { helperPid: number };
    assert.ok(await waitFor(() => read(marker) !== null, 5000), 'sandboxed loop started');
    const tree = descendants(sup.pid!);
    assert.ok(tree.some((p) => p.pid === helperPid) && tree.length >= 3, `tree: ${JSON.stringify(tree)}`);
    sup.kill('SIGKILL');
    const t0 = Date.now();
    assert.ok(await waitFor(() => stillAlive(tree).length === 0, 1000), `still alive after 1 s: ${stillAlive(tree).join(',')}`);
    const elapsed = Date.now() - t0;
    const frozen = read(marker);
    await sleep(400);
    assert.equal(read(marker), frozen, 'the marker changed after the supervisor died');
    assert.ok(elapsed <= 1000, `tree died after ${elapsed} ms`);
    await removeSessionCgroups(helperPid);
  });

  it('kill -9 of the helper: the tree is dead within 1 s', async () => {
    resetFiles(c);
    const marker = join(c.ws, 'marker2');
    const plan = await planFor(defaultSpec(c, sh(`while :; do date +%s%N > ${marker}; sleep 0.05; done`)));
    const h = launchSandbox(plan, { stdio: 'ignore' });
    await h.ready;
    assert.ok(await waitFor(() => read(marker) !== null, 5000));
    const tree = descendants(h.helperPid);
    process.kill(h.helperPid, 'SIGKILL');
    assert.ok(await waitFor(() => stillAlive(tree).length === 0, 1000), `still alive: ${stillAlive(tree).join(',')}`);
    const frozen = read(marker);
    await sleep(300);
    assert.equal(read(marker), frozen);
    const res = await h.result;
    assert.equal(res.exitCode, 128 + 9);
    await removeSessionCgroups(h.helperPid);
  });
});
