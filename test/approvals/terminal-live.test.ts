import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { WARDEN_BIN, warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';
import { onPty } from './pty.js';

/**
 * The approval prompt on Warden's own terminal, on a real pty: `warden run` is the pty's job, the
 * sandboxed bash shares the terminal, and a `mkdir` held by exec mediation (rule `approve`) waits
 * for a keypress. Every outcome is checked by what the host sees (the directory exists or not) and
 * by the audit record of who answered; the terminal mode the program had is restored after.
 */

const root = tempDir('warden-tty-');
chmodSync(root, 0o755);
const home = join(root, 'home');
mkdirSync(home, { recursive: true });
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8', TERM: 'xterm' };
const policy = (timeout: number) => writeFile(root, `p${timeout}.yaml`, `version: 1\nextends: coding-agent\ncommands:\n  - id: ask-mkdir\n    match: [mkdir]\n    decision: approve\napprovals:\n  timeout: ${timeout}\n`);
const ASK = policy(20);
const QUICK = policy(3);
const PROMPT = /approval needed \[([0-9a-f]+-\d+)\]/;
/** Longer than the prompt's quiet guard (300 ms): a person reading the prompt before answering. */
const READ_MS = 600;

let n = 0;
function workspace(): string {
  const ws = join(root, `ws${++n}`);
  mkdirSync(join(ws, 'm'), { recursive: true });
  chmodSync(ws, 0o777);
  chmodSync(join(ws, 'm'), 0o777);
  return ws;
}

// The program's terminal mode before and after the held exec: Warden's raw mode must not leak.
const modeAround = (cmd: string) => `stty -g > m/before; ${cmd}; echo "rc=$?"; stty -g > m/after`;
const sameMode = (ws: string) => assert.equal(readFileSync(join(ws, 'm', 'after'), 'utf8'), readFileSync(join(ws, 'm', 'before'), 'utf8'), 'terminal mode restored');

function runOnPty(t: TestContext, ws: string, script: string, o: { policy?: string; answerback?: string } = {}) {
  const r = onPty([process.execPath, WARDEN_BIN, 'run', '--policy', o.policy ?? ASK, '--workspace', ws, '--', 'bash', '-c', script], { cwd: ws, env, ...(o.answerback ? { answerback: o.answerback } : {}) });
  t.after(() => r.kill()); // a failed wait must not leave the session (and this file) hanging
  return r;
}

function answers(id: string): Array<Record<string, any>> {
  const r = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 28 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((e) => (e['kind'] === 'approval.answer' || e['kind'] === 'approval.timeout') && e['detail']?.['id'] === id);
}

const BY_TERMINAL = /^terminal:\/dev\/pts\/\d+ uid \d+$/;

test('y on Warden\'s terminal: the held exec runs, answered by the terminal; the mode is restored', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = runOnPty(t, ws, modeAround('mkdir yes-dir'));
  const [, id] = await r.waitFor(PROMPT);
  assert.match(r.out(), /exec mkdir yes-dir/);
  assert.match(r.out(), /rule ask-mkdir · denied automatically in 20s/);
  await new Promise((res) => setTimeout(res, READ_MS));
  assert.ok(!existsSync(join(ws, 'yes-dir')), 'nothing runs while the prompt is up');
  await r.type('y');
  const d = await r.done;
  assert.match(d.out, /rc=0/);
  assert.match(d.out, /\] allowed once/);
  assert.ok(existsSync(join(ws, 'yes-dir')));
  sameMode(ws);
  const a = answers(id!);
  assert.equal(a.length, 1);
  assert.equal(a[0]!['decision'], 'allow');
  assert.match(a[0]!['detail']['by'], BY_TERMINAL);
});

test('n on Warden\'s terminal: denied, nothing runs; keys other than y/s/n/Enter are ignored', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = runOnPty(t, ws, modeAround('mkdir no-dir'));
  const [, id] = await r.waitFor(PROMPT);
  await new Promise((res) => setTimeout(res, READ_MS));
  await r.type('Yx', 400); // neither answers (upper-case Y is not y)
  await new Promise((res) => setTimeout(res, READ_MS));
  assert.equal(answers(id!).length, 0, 'ignored keys answer nothing');
  await r.type('n');
  const d = await r.done;
  assert.match(d.out, /rc=126/);
  assert.match(d.out, /mkdir: denied by rule ask-mkdir/);
  assert.ok(!existsSync(join(ws, 'no-dir')));
  sameMode(ws);
  const a = answers(id!);
  assert.equal(a.length, 1);
  assert.equal(a[0]!['decision'], 'deny');
  assert.match(a[0]!['detail']['by'], BY_TERMINAL);
});

test('no key before the timeout: denied, the prompt says so, the mode is restored', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = runOnPty(t, ws, modeAround('mkdir late-dir'), { policy: QUICK });
  const [, id] = await r.waitFor(PROMPT);
  const d = await r.done;
  assert.match(d.out, /\] timed out: denied/);
  assert.match(d.out, /rc=126/);
  assert.ok(!existsSync(join(ws, 'late-dir')));
  sameMode(ws);
  const a = answers(id!);
  assert.equal(a.length, 1);
  assert.equal(a[0]!['kind'], 'approval.timeout');
});

test('answered from another terminal while the prompt is up: the prompt goes away, a later key does nothing', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = runOnPty(t, ws, modeAround('mkdir elsewhere-dir'));
  const [, id] = await r.waitFor(PROMPT);
  await new Promise((res) => setTimeout(res, READ_MS));
  const other = warden(['approvals', 'approve', id!], { env });
  assert.equal(other.code, 0, other.stderr);
  await r.waitFor(/\] allowed once by uid:\d+( pid:\d+)? \(answered elsewhere\)/);
  await new Promise((res) => setTimeout(res, READ_MS));
  await r.type('n');
  const d = await r.done;
  assert.match(d.out, /rc=0/);
  assert.ok(existsSync(join(ws, 'elsewhere-dir')));
  sameMode(ws);
  const a = answers(id!);
  assert.equal(a.length, 1, 'one answer: the first');
  assert.match(a[0]!['detail']['by'], /^uid:\d+( pid:\d+)?$/);
});

test('the keypress reaches Warden, not a program of the tree reading the same terminal', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  // A background reader of the terminal (fd 3 = the inherited stdin), blocked in read() when the
  // prompt appears; it must get the next key typed after the answer, not the answer.
  const r = runOnPty(t, ws, 'exec 3<&0; dd bs=1 count=1 of=m/stolen <&3 2>/dev/null & sleep 0.5; mkdir key-dir; echo "rc=$?"; wait');
  await r.waitFor(PROMPT);
  await new Promise((res) => setTimeout(res, READ_MS));
  await r.type('y');
  await r.waitFor(/rc=0/);
  await r.type('z\r');
  const d = await r.done;
  assert.equal(d.code, 0, d.out);
  assert.ok(existsSync(join(ws, 'key-dir')));
  assert.equal(readFileSync(join(ws, 'm', 'stolen'), 'utf8'), 'z');
});

test('the agent cannot answer: TIOCSTI is refused, its own output is not input, terminal answerbacks it provokes are ignored', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  // While mkdir is held: a background process of the tree tries TIOCSTI, prints y/Enter, and
  // every 0.6 s (longer than the quiet guard) makes the "terminal" answer ENQ with a lone "y".
  const agent = String.raw`
python3 -c 'import fcntl, termios, sys
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"y"); print("TIOCSTI: injected")
except OSError as e:
    print("TIOCSTI:", e.strerror)' > m/sti
(for i in 1 2 3 4 5 6 7 8; do printf 'y\r\005'; sleep 0.6; done) &
sleep 0.2; mkdir agent-dir; echo "rc=$?"; wait`;
  const r = runOnPty(t, ws, agent, { policy: QUICK, answerback: 'y' });
  const [, id] = await r.waitFor(PROMPT);
  const d = await r.done;
  assert.match(readFileSync(join(ws, 'm', 'sti'), 'utf8'), /TIOCSTI: Operation not permitted/);
  assert.match(d.out, /\] timed out: denied/);
  assert.match(d.out, /rc=126/);
  assert.ok(!existsSync(join(ws, 'agent-dir')));
  assert.equal(answers(id!)[0]?.['kind'], 'approval.timeout');
});

test('two held execs: asked one at a time, each answered on its own', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = runOnPty(t, ws, 'mkdir q-a & mkdir q-b & wait; echo done');
  const first = await r.waitFor(/approval needed \[[^\]]+\][^\n]*\n[^\n]*exec mkdir (q-[ab])/);
  await new Promise((res) => setTimeout(res, READ_MS));
  assert.equal(r.out().match(/approval needed/g)?.length, 1, 'the second waits until the first is answered');
  await r.type('y');
  const other = first[1] === 'q-a' ? 'q-b' : 'q-a';
  await r.waitFor(new RegExp(`approval needed \\[[^\\]]+\\][^\\n]*\\n[^\\n]*exec mkdir ${other}`));
  await new Promise((res) => setTimeout(res, READ_MS));
  await r.type('n');
  const d = await r.done;
  assert.match(d.out, /done/);
  assert.ok(existsSync(join(ws, first[1]!)));
  assert.ok(!existsSync(join(ws, other)));
});

/**
 * `warden run -- bash -i`: the shell puts each job in a process group of its own and makes it the
 * terminal's foreground, so Warden, asking, is in the background of its own terminal.
 */
function interactiveShell(t: TestContext, ws: string) {
  const r = onPty([process.execPath, WARDEN_BIN, 'run', '--policy', ASK, '--workspace', ws, '--', 'bash', '--norc', '--noprofile', '-i'], { cwd: ws, env });
  t.after(() => r.kill());
  return r;
}

for (const [key, rc, runs] of [['y', 0, true], ['n', 126, false]] as const) {
  test(`an interactive shell inside holds the terminal (job control): Warden takes it to ask, ${key} answers, the shell gets it back and keeps working`, { timeout: 60_000 }, async (t) => {
    const ws = workspace();
    const r = interactiveShell(t, ws);
    await r.waitFor(/[$#] $/); // the shell's prompt
    // One job: the held mkdir, then a read of the terminal, which only the foreground can do.
    await r.type(`(mkdir fg-${key}; echo "rc=$?"; read -r l; echo "job read: $l")\r`, 5);
    const [, id] = await r.waitFor(PROMPT);
    assert.match(r.out(), new RegExp(`exec mkdir fg-${key}`));
    assert.doesNotMatch(r.out(), /this terminal is in use/, 'asked here, not the notice');
    await new Promise((res) => setTimeout(res, READ_MS));
    assert.ok(!existsSync(join(ws, `fg-${key}`)), 'nothing runs while the prompt is up');
    await r.type(key);
    await r.waitFor(new RegExp(`rc=${rc}\\b`));
    // The job got the terminal back: in the background its read would stop it (SIGTTIN).
    await r.type('hello\r', 5);
    await r.waitFor(/job read: hello/);
    // So did the shell (it reads the next command), and it hands the terminal on as before.
    await r.type('echo "alive $((6*7))"\r', 5);
    await r.waitFor(/alive 42/);
    await r.type(`python3 -c 'import os; print("job owns the terminal:", os.tcgetpgrp(0) == os.getpgrp())'\r`, 5);
    await r.waitFor(/job owns the terminal: True/);
    await r.type('exit\r', 5);
    const d = await r.done;
    assert.equal(d.code, 0, d.out);
    assert.doesNotMatch(d.out, /Stopped/, 'the shell never saw its job stopped');
    assert.equal(existsSync(join(ws, `fg-${key}`)), runs);
    const a = answers(id!);
    assert.equal(a.length, 1);
    assert.equal(a[0]!['decision'], key === 'y' ? 'allow' : 'deny');
    assert.match(a[0]!['detail']['by'], BY_TERMINAL);
  });
}

/** Host view of a process: [pid, ppid, pgrp, session] from /proc/PID/stat. */
function procs(): Array<{ pid: number; ppid: number; pgrp: number; sid: number }> {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const f = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ');
      out.push({ pid: Number(e), ppid: Number(f[1]), pgrp: Number(f[2]), sid: Number(f[3]) });
    } catch {
      /* exited */
    }
  }
  return out;
}

test('the shell\'s job is killed from outside while Warden asks: the terminal stays with Warden\'s group, the shell takes it back and keeps working', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = interactiveShell(t, ws);
  await r.waitFor(/[$#] $/);
  await r.type('(mkdir gone-dir; echo "rc=$?")\r', 5);
  await r.waitFor(PROMPT);
  // The job is the group led by a child of the shell; the shell's group is led by the shell.
  const all = procs();
  const wardenPid = all.find((p) => p.ppid === r.pid)!.pid;
  const leaders = all.filter((p) => p.sid === wardenPid && p.pgrp === p.pid && p.pid !== wardenPid);
  const job = leaders.find((l) => leaders.some((s) => s.pid === l.ppid));
  assert.ok(job, `the job's group among ${JSON.stringify(leaders)}`);
  process.kill(-job.pgrp, 'SIGKILL');
  await new Promise((res) => setTimeout(res, READ_MS));
  await r.type('y'); // answers, or finds the request already gone with its process
  await r.waitFor(/\] (allowed once|denied)/);
  await r.type('echo "alive $((6*7))"\r', 5);
  await r.waitFor(/alive 42/);
  await r.type('exit\r', 5);
  const d = await r.done;
  assert.equal(d.code, 0, d.out);
  assert.doesNotMatch(d.out, /Stopped/);
  assert.doesNotMatch(d.out, /rc=\d/, 'the job never went on');
  assert.ok(!existsSync(join(ws, 'gone-dir')));
});

test('the terminal hangs up while the prompt is up: denied, the paused tree is continued and ends, the session is recorded', { timeout: 60_000 }, async (t) => {
  const ws = workspace();
  const r = runOnPty(t, ws, `sleep 60 & mkdir hup-dir; echo "rc=$?"; wait`);
  const [, id] = await r.waitFor(PROMPT);
  r.kill(); // the terminal window closes: SIGHUP
  await r.done;
  const end = Date.now() + 10_000;
  while (answers(id!).length === 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 100));
  const a = answers(id!);
  assert.equal(a.length, 1);
  assert.equal(a[0]!['decision'], 'deny');
  assert.match(a[0]!['detail']['by'], /^terminal:\/dev\/pts\/\d+ uid \d+ \(SIGHUP\)$/);
  assert.ok(!existsSync(join(ws, 'hup-dir')));
  const ended = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 28 }).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  const session = ended.find((e) => e['detail']?.['id'] === id)!['session'];
  assert.ok(ended.some((e) => e['session'] === session && e['kind'] === 'session.end'), 'the session end is in the log');
});
