import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pendingApproval, spawnWarden } from '../helpers/approvals.js';
import { WARDEN_BIN, warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * Live exec mediation end to end: real programs inside `warden run`, judged at execve by the
 * helper's seccomp user-notify loop and the supervisor. Every blocked case is checked by what the
 * host sees afterwards (the marker file was not created), and each is also shown to work when the
 * rule is absent (or, for what Warden always refuses, without Warden) so the test can fail.
 */

const root = tempDir('warden-exec-');
chmodSync(root, 0o755);
const home = join(root, 'home');
mkdirSync(home, { recursive: true });
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };

function workspace(name: string): string {
  const ws = join(root, name);
  mkdirSync(join(ws, 'm'), { recursive: true });
  chmodSync(ws, 0o777);
  chmodSync(join(ws, 'm'), 0o777);
  return ws;
}

const policy = (name: string, extra: string) => writeFile(root, `${name}.yaml`, `version: 1\nextends: coding-agent\n${extra}`);
const DENY_TOUCH = policy('deny-touch', `commands:\n  - id: no-touch\n    match: [touch]\n    decision: deny\n    message: touch is denied in this test\n`);
const PLAIN = policy('plain', '');

function run(pol: string, ws: string, script: string, timeout = 60_000) {
  return warden(['run', '--policy', pol, '--workspace', ws, '--', 'bash', '-c', script], { cwd: ws, env, timeout });
}

function markers(ws: string): string[] {
  return readdirSync(join(ws, 'm')).sort();
}

function auditEvents(): Array<Record<string, any>> {
  if (!existsSync(join(env.WARDEN_HOME, 'state', 'audit'))) return []; // no session yet
  const r = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 30 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

/** The records of the sessions that ran in workspace `ws` (log files are not in time order). */
function sessionEvents(ws: string): Array<Record<string, any>> {
  const all = auditEvents();
  const ids = new Set(all.filter((e) => e['kind'] === 'session.start' && e['resource'] === ws).map((e) => e['session']));
  return all.filter((e) => ids.has(e['session']));
}

const LOADER = ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1'].find((p) => existsSync(p))!;

// Every way of starting `touch` the issue lists; each leaves m/<name> behind if touch ran.
const TRICKS = String.raw`
set +e
touch m/plain
/usr/bin/touch m/absolute
ln -sf /usr/bin/touch ./alias; ./alias m/symlink-alias
env touch m/env
nice touch m/nice
timeout 5 touch m/timeout
nohup touch m/nohup >/dev/null 2>&1
stdbuf -o0 touch m/stdbuf
echo m/xargs | xargs touch
sh -c 'touch m/sh-c'
bash -lc 'touch m/bash-lc'
bash -c 'exec -a harmless /usr/bin/touch m/exec-a'
${LOADER} /usr/bin/touch m/loader
printf '#!/usr/bin/touch\n' > sb; chmod +x sb; ./sb m/shebang
bash -c 'exec -a "" /usr/bin/touch m/empty-argv0'
true
`;
const TRICK_MARKERS = ['absolute', 'bash-lc', 'empty-argv0', 'env', 'exec-a', 'loader', 'nice', 'nohup', 'plain', 'sh-c', 'shebang', 'stdbuf', 'symlink-alias', 'timeout', 'xargs'];

// Programs without a name: always refused inside Warden (they work on the host: the control).
const MEMFD = String.raw`
import os, sys
data = open('/usr/bin/touch', 'rb').read()
fd = os.memfd_create('x', 0)
os.write(fd, data)
for how, marker in (('path', 'm/memfd-proc-path'), ('fd', 'm/memfd-fexecve')):
    pid = os.fork()
    if pid == 0:
        try:
            if how == 'path': os.execv('/proc/self/fd/%d' % fd, ['touch', marker])
            else: os.execve(fd, ['touch', marker], dict(os.environ))
        except OSError as e:
            print('refused:', how, e.errno, file=sys.stderr)
            os._exit(1)
    os.waitpid(pid, 0)
`;

test('without a rule, every invocation trick runs touch inside the sandbox (control)', { timeout: 120_000 }, () => {
  const ws = workspace('control');
  const r = run(PLAIN, ws, TRICKS);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(markers(ws), TRICK_MARKERS);
  // memfd execs work on the host — Warden is what refuses them.
  const ws2 = workspace('memfd-host');
  writeFile(ws2, 'memfd.py', MEMFD);
  const h = spawnSync('python3', ['memfd.py'], { cwd: ws2, encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  assert.deepEqual(markers(ws2), ['memfd-fexecve', 'memfd-proc-path']);
});

test('a denied program does not run however it is invoked, and its stderr says why', { timeout: 120_000 }, () => {
  const ws = workspace('tricks');
  const r = run(DENY_TOUCH, ws, TRICKS);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(markers(ws), [], 'no trick ran touch');
  assert.match(r.stderr, /touch: denied by rule no-touch: touch is denied in this test/);
  writeFile(ws, 'memfd.py', MEMFD);
  const m = run(DENY_TOUCH, ws, 'python3 memfd.py');
  assert.deepEqual(markers(ws), [], 'memfd execs are refused');
  assert.match(m.stderr, /refused: path 13/);
  assert.match(m.stderr, /refused: fd 13/);
  const denials = auditEvents().filter((e) => e['kind'] === 'exec' && e['decision'] === 'deny');
  assert.ok(denials.some((e) => e['rule'] === 'no-touch'));
  assert.ok(denials.some((e) => e['rule'] === 'warden.exec-anonymous'));
});

test('steer: git push --force is refused with the safer alternative; --force-with-lease works', { timeout: 120_000 }, () => {
  const ws = workspace('steer');
  const script = String.raw`
set -e
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
git init -q --bare remote.git
git init -q -b main work && cd work
echo 1 > f && git add f && git commit -qm one
git remote add origin ../remote.git && git push -q origin main
echo 2 > f && git commit -qam two --amend
set +e
git push -q --force origin main; echo "force=$?"
git -C ../remote.git log --format=%s main
git push -q --force-with-lease origin main; echo "lease=$?"
git -C ../remote.git log --format=%s main
`;
  const r = run(PLAIN, ws, script);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /force=126\none\n/, 'the forced push did not run: the remote still has the old commit');
  assert.match(r.stdout, /lease=0\ntwo\n/);
  assert.match(r.stderr, /git: steered by rule coding-agent:force-push/);
  assert.match(r.stderr, /instead, run: git push --force-with-lease/);
  const e = auditEvents().find((x) => x['kind'] === 'exec' && x['decision'] === 'steer');
  assert.equal(e?.['detail']?.['suggestion'], 'git push --force-with-lease');
});

test('warn: the program runs and the audit record is flagged; every exec is audited', { timeout: 60_000 }, () => {
  const ws = workspace('warn');
  const pol = policy('warn', `commands:\n  - id: flag-uname\n    match: [uname]\n    decision: warn\n`);
  const r = run(pol, ws, 'uname -s; for i in 1 2 3; do /bin/true $i; done');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Linux/);
  const events = sessionEvents(ws).filter((e) => e['kind'] === 'exec');
  assert.ok(events.some((e) => e['decision'] === 'warn' && e['rule'] === 'flag-uname' && /uname$/.test(e['resource'])));
  // bash itself, uname, and the three /bin/true: each one is in the log.
  assert.equal(events.filter((e) => e['resource'] === '/usr/bin/true').length, 3);
});

// ---- approvals ------------------------------------------------------------------------------

const APPROVE_MKDIR = policy('approve-mkdir', `commands:\n  - id: ask-mkdir\n    match: [mkdir]\n    decision: approve\napprovals:\n  timeout: 4\n`);

function startHeld(ws: string, dir: string) {
  const h = spawnWarden(['run', '--policy', APPROVE_MKDIR, '--workspace', ws, '--', 'bash', '-c', `mkdir ${dir}; echo "rc=$?"`], { cwd: ws, env });
  return { child: h.child, done: h.done.then((r) => ({ code: r.code, out: r.out + r.err })) };
}

const pending = () => pendingApproval(env);

test('approve from a second terminal: the held exec runs; deny: it does not; timeout: it does not', { timeout: 90_000 }, async () => {
  const ws = workspace('approvals');
  const a = startHeld(ws, 'yes-dir');
  const p = await pending();
  assert.match(p.summary, /exec mkdir yes-dir/);
  assert.ok(!existsSync(join(ws, 'yes-dir')), 'nothing runs while the request is pending');
  assert.equal(warden(['approvals', 'approve', p.id], { env }).code, 0);
  const ra = await a.done;
  assert.match(ra.out, /rc=0/);
  assert.ok(existsSync(join(ws, 'yes-dir')));

  const d = startHeld(ws, 'no-dir');
  assert.equal(warden(['approvals', 'deny', (await pending()).id], { env }).code, 0);
  const rd = await d.done;
  assert.match(rd.out, /rc=126/);
  assert.match(rd.out, /mkdir: denied by rule ask-mkdir/);
  assert.ok(!existsSync(join(ws, 'no-dir')));

  const t = startHeld(ws, 'late-dir');
  await pending();
  const rt = await t.done; // approvals.timeout is 4 s
  assert.match(rt.out, /rc=126/);
  assert.ok(!existsSync(join(ws, 'late-dir')));
  const kinds = auditEvents().map((e) => e['kind']);
  assert.ok(kinds.includes('approval.answer') && kinds.includes('approval.timeout'));
});

test('the approvals socket cannot be reached from inside the sandbox', { timeout: 60_000 }, async () => {
  const ws = workspace('inside');
  const a = startHeld(ws, 'inner');
  const p = await pending();
  const probe = run(PLAIN, ws, `ls "${env.WARDEN_HOME}/run/approvals" 2>&1; ${WARDEN_BIN} approvals approve ${p.id} 2>&1; echo done`);
  assert.match(probe.stdout, /No such file or directory|cannot access/);
  assert.doesNotMatch(probe.stdout, /approved/);
  assert.equal(warden(['approvals', 'deny', p.id], { env }).code, 0, 'the request was still pending: nothing inside answered it');
  await a.done;
  assert.ok(!existsSync(join(ws, 'inner')));
});

test('kill -9 of the supervisor while an exec is held: it never runs and the tree is gone', { timeout: 60_000 }, async () => {
  const ws = workspace('killed');
  const a = startHeld(ws, `held-dir; sleep 30 & echo $! > ${join(ws, 'm', 'sleeper')}; wait`);
  await pending();
  a.child.kill('SIGKILL');
  await a.done;
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(!existsSync(join(ws, 'held-dir')), 'the held mkdir never ran');
  // The shell that waited on the held mkdir died with the supervisor: it never reached `sleep`.
  assert.ok(!existsSync(join(ws, 'm', 'sleeper')));
  const left = spawnSync('pgrep', ['-f', 'held-dir'], { encoding: 'utf8' });
  assert.equal(left.stdout.trim(), '', 'no process of the tree is left');
});

// ---- the racing attacker --------------------------------------------------------------------

const RACER = String.raw`
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
/* Thread B swaps the path execve reads between an allowed program and one outside the sandbox's
 * execute floor, while the main thread execs it: the check and the kernel may read different
 * paths. argv[1] allowed, argv[2] target, argv[3] marker argument for the target, argv[4] rounds. */
static char path[4096];
static const char *a, *b;
static volatile int flips;
/* The barriers keep the compiler from dropping the first copy as a dead store (then the path would
 * simply be the target, and there would be no race). */
static void *flip(void *x) {
  (void)x;
  for (;;) {
    strcpy(path, a);
    __asm__ volatile("" ::: "memory");
    strcpy(path, b);
    __asm__ volatile("" ::: "memory");
    flips++;
  }
  return NULL;
}
int main(int argc, char **argv) {
  if (argc != 5) return 2;
  a = argv[1]; b = argv[2];
  int rounds = atoi(argv[4]);
  for (int i = 0; i < rounds; i++) {
    pid_t p = fork();
    if (p == 0) {
      pthread_t t;
      strcpy(path, a);
      pthread_create(&t, NULL, flip, NULL);
      while (flips < 1 + i % 7) {}
      for (int k = 0; k < 50; k++) { char *av[] = {path, argv[3], NULL}; execv(path, av); }
      _exit(1);
    }
    waitpid(p, NULL, 0);
  }
  return 0;
}
`;

test('a multi-threaded attacker racing the path cannot exec a program outside the execute floor', { timeout: 120_000 }, () => {
  const ws = workspace('race');
  writeFile(ws, 'racer.c', RACER);
  const cc = spawnSync('cc', ['-O2', '-pthread', '-o', join(ws, 'racer'), join(ws, 'racer.c')], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  // A copy of touch outside every granted path: it exists on the host, not in the sandbox.
  const outside = join(root, 'outside');
  mkdirSync(outside, { recursive: true });
  chmodSync(outside, 0o755);
  copyFileSync('/usr/bin/touch', join(outside, 'evil'));
  chmodSync(join(outside, 'evil'), 0o755);
  const marker = join(ws, 'm', 'raced');
  // Control: on the host the race reaches the target.
  const host = spawnSync(join(ws, 'racer'), ['/usr/bin/true', join(outside, 'evil'), marker, '200'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(host.status, 0, host.stderr);
  assert.ok(existsSync(marker), 'the racer works: on the host it runs the target');
  rmSync(marker);
  const r = run(PLAIN, ws, `./racer /usr/bin/true ${join(outside, 'evil')} m/raced 300; echo finished`);
  assert.match(r.stdout, /finished/, r.stderr);
  assert.ok(!existsSync(marker), 'inside Warden the racer never ran the program outside the floor');
});

// ---- bad input --------------------------------------------------------------------------------

test('bad input: invalid UTF-8 argv, 2 MB argument lists, a vanishing path — decided correctly, monitor stays up', { timeout: 120_000 }, () => {
  const ws = workspace('bad');
  const script = String.raw`
set +e
python3 - <<'PY'
import os, sys
def child(path, argv):
    pid = os.fork()
    if pid == 0:
        try: os.execv(path, argv)
        except OSError as e: os._exit(100 + e.errno)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
# invalid UTF-8: an allowed program runs with its bytes intact, a denied one does not
print('printf', child(b'/usr/bin/printf', [b'printf', b'%s\n', b'ok-\xff\xfe']))
print('touch-bad', child(b'/usr/bin/touch', [b'touch', b'm/bad-\xff']))
# 2 MB of arguments: allowed, and denied
big = ['x' * 1000] * 1900
print('big-true', child('/usr/bin/true', ['true'] + big))
print('big-touch', child('/usr/bin/touch', ['touch', 'm/big'] + big))
PY
# a path that comes and goes while it is being executed: never touch, whatever was seen
python3 - <<'PY'
import os, threading
stop = False
def flap():
    while not stop:
        try: os.symlink('/usr/bin/touch', 'vanish')
        except FileExistsError: pass
        try: os.unlink('vanish')
        except FileNotFoundError: pass
t = threading.Thread(target=flap); t.start()
for i in range(300):
    pid = os.fork()
    if pid == 0:
        try: os.execv('./vanish', ['vanish', 'm/vanished'])
        except OSError: os._exit(1)
    os.waitpid(pid, 0)
stop = True; t.join()
print('vanish-done')
PY
echo after
`;
  const r = run(DENY_TOUCH, ws, script);
  assert.equal(r.code, 0, `code ${r.code} stderr ${r.stderr.slice(-2000)} stdout ${r.stdout.slice(-1000)}`);
  assert.match(r.stdout, /ok-\xff\xfe|ok-/);
  assert.match(r.stdout, /printf 0/);
  assert.match(r.stdout, /touch-bad 113/, 'EACCES for the denied program');
  assert.match(r.stdout, /big-true 0/);
  assert.match(r.stdout, /big-touch 113/);
  assert.match(r.stdout, /vanish-done\nafter/);
  assert.deepEqual(markers(ws), []);
  const ev = auditEvents().filter((e) => e['kind'] === 'exec');
  assert.ok(ev.some((e) => e['detail']?.['invalidUtf8'] === true && e['resource'] === '/usr/bin/printf'));
});

test('a flood of execs: each one decided and audited, the supervisor bounded in memory', { timeout: 180_000 }, () => {
  const ws = workspace('flood');
  const before = auditEvents().filter((e) => e['kind'] === 'exec').length;
  // Distinct argv each time, so no verdict is replayed from the helper's cache.
  const t = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, WARDEN_BIN, 'run', '--policy', DENY_TOUCH, '--workspace', ws, '--', 'bash', '-c', 'for i in $(seq 3000); do /bin/true $i; done; for i in $(seq 3000); do /bin/true; done; touch m/after-flood; echo ok'], { cwd: ws, env, encoding: 'utf8', timeout: 170_000 });
  assert.equal(t.status, 0, `${t.status} ${t.signal} ${t.error} ${t.stderr.slice(-2000)}\n${t.stdout.slice(-500)}`);
  assert.match(t.stdout, /ok/);
  assert.deepEqual(markers(ws), [], 'the rule still holds after the flood');
  const after = auditEvents().filter((e) => e['kind'] === 'exec');
  assert.ok(after.length - before >= 6000 + 2, `every exec audited (${after.length - before})`);
  const rss = Number(/maxrss_kb=(\d+)/.exec(t.stderr)?.[1]);
  assert.ok(rss > 0 && rss < 400_000, `supervisor max RSS ${rss} kB`);
});

