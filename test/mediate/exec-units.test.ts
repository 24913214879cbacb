import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AuditEventInput } from '../../src/audit/record.js';
import { createCommandContext } from '../../src/mediate/command-decision.js';
import { ExecMediator, REPLAY_BATCH_MAX, REPLAY_BATCH_MS } from '../../src/mediate/exec-mediator.js';
import { isLoader, loaderProgram, programNames, resolveExecTarget, type TraceeFs } from '../../src/mediate/exec-target.js';
import { decodeRequest, encodeFlush, encodeVerdict, MAX_FRAME, MAX_MESSAGE, RequestDecoder, WireError, type ExecRequest, type MediationRequest, type Verdict } from '../../src/mediate/exec-wire.js';
import { RING_MS } from '../../src/mediate/frames-pipe.js';
import { immutablePaths } from '../../src/mediate/immutable.js';
import { packageRoot } from '../../src/package-root.js';
import { loadPolicy } from '../../src/policy/load.js';
import type { MountOp } from '../../src/sandbox/plan.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * Unit tests of the pure halves of exec mediation: what an exec will run, seen through a fake
 * tracee filesystem (exec-target.ts), the names a program is judged by, which paths the sandbox
 * cannot change (immutable.ts), and the helper <-> supervisor wire (exec-wire.ts). A few cases run
 * the whole ExecMediator over the same fake, where a flaw only shows in the decision.
 *
 * Cases marked `todo` document a bug found here (the kernel does something else than the model);
 * each was also confirmed against the real kernel under `warden run` — see the reason text.
 */

// ---- a fake tracee filesystem ------------------------------------------------------------------

type Entry = { file: string } | { link: string } | 'dir' | 'other';
const F = (content = '\x7fELF'): Entry => ({ file: content });
const L = (target: string): Entry => ({ link: target });

interface FakeOpts {
  cwd?: string | null;
  fds?: Record<number, string>;
  exe?: string | null;
}

/**
 * A tracee root given as absolute path -> entry; every proper prefix of a listed path is a
 * directory. The contract of TraceeFs (tracee-fs.ts) is that every lookup is of a path whose
 * parent is already free of symlinks — the host kernel must never follow a tracee-controlled
 * link — so the fake fails any lookup that goes through one.
 */
function fakeFs(tree: Record<string, Entry>, o: FakeOpts = {}): TraceeFs & { lookups: string[] } {
  const lookups: string[] = [];
  const dirs = new Set<string>(['/']);
  for (const p of Object.keys(tree)) {
    assert.ok(p.startsWith('/') && !p.endsWith('/'), `fake path ${p}`);
    for (let d = p.slice(0, p.lastIndexOf('/')); d; d = d.slice(0, d.lastIndexOf('/'))) dirs.add(d);
  }
  const at = (path: string): Entry | null => tree[path] ?? (dirs.has(path) ? 'dir' : null);
  const check = (path: string): void => {
    lookups.push(path);
    assert.ok(path.startsWith('/') && !/\/\.\.?(\/|$)/.test(path) && !path.includes('//'), `lookup of a non-canonical path ${path}`);
    for (let d = path.slice(0, path.lastIndexOf('/')); d; d = d.slice(0, d.lastIndexOf('/'))) {
      const e = at(d);
      assert.ok(!(e !== null && typeof e === 'object' && 'link' in e), `lookup of ${path} goes through the symlink ${d}`);
    }
  };
  return {
    lookups,
    kind(path) {
      check(path);
      const e = at(path);
      if (e === null) return null;
      if (e === 'dir' || e === 'other') return e;
      return 'link' in e ? 'link' : 'file';
    },
    readlink(path) {
      check(path);
      const e = at(path);
      return e !== null && typeof e === 'object' && 'link' in e ? e.link : null;
    },
    cwd: () => (o.cwd === undefined ? '/w' : o.cwd),
    fd: (n) => o.fds?.[n] ?? null,
    exe: () => (o.exe === undefined ? '/usr/bin/bash' : o.exe),
    head(path, n) {
      check(path);
      const e = at(path);
      return e !== null && typeof e === 'object' && 'file' in e ? Buffer.from(e.file, 'latin1').subarray(0, n) : null;
    },
  };
}

/** A small Debian-like root: /bin is a link to usr/bin, alternatives, versioned programs. */
const BASE: Record<string, Entry> = {
  '/bin': L('usr/bin'),
  '/usr/bin/touch': F(),
  '/usr/bin/true': F(),
  '/usr/bin/bash': F(),
  '/usr/bin/dash': F(),
  '/usr/bin/sh': L('dash'),
  '/usr/bin/env': F(),
  '/usr/bin/python3': L('python3.11'),
  '/usr/bin/python3.11': F(),
  '/usr/bin/awk': L('/etc/alternatives/awk'),
  '/etc/alternatives/awk': L('/usr/bin/mawk'),
  '/usr/bin/mawk': F(),
  '/usr/lib/x86_64-linux-gnu/libc.so.6': F(),
  '/dev/fd': L('/proc/self/fd'),
  '/dev/stdin': L('/proc/self/fd/0'),
  '/w/notes.txt': F('hello\n'),
};

const fsOf = (extra: Record<string, Entry> = {}, o: FakeOpts = {}) => fakeFs({ ...BASE, ...extra }, o);
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const execve = (path: string, argv: string[] = [path]) => ({ path, syscall: 'execve' as const, dirfd: AT_FDCWD, flags: 0, argv });
const execveat = (dirfd: number, path: string, flags = 0, argv: string[] = ['prog']) => ({ path, syscall: 'execveat' as const, dirfd, flags, argv });

// ---- resolveExecTarget: paths ------------------------------------------------------------------

/** The parts of `runs` the kernel's behaviour fixes (program and argv). */
const pa = (runs: ReadonlyArray<{ path: string; argv: string[] }>) => runs.map(({ path, argv }) => ({ path, argv }));

test('an absolute path resolves to itself, with every directory it looked in', () => {
  const t = resolveExecTarget(fsOf(), execve('/usr/bin/touch'));
  assert.equal(t.real, '/usr/bin/touch');
  assert.equal(t.given, '/usr/bin/touch');
  assert.equal(t.exists, true);
  assert.equal(t.anonymous, undefined);
  assert.deepEqual(t.runs, []);
  assert.deepEqual(t.consulted.sort(), ['/', '/usr', '/usr/bin']);
});

test('a relative path is taken from the tracee cwd (not the supervisor one)', () => {
  const fs = fsOf({ '/w/sub/tool': F() }, { cwd: '/w/sub' });
  assert.equal(resolveExecTarget(fs, execve('tool')).real, '/w/sub/tool');
  assert.equal(resolveExecTarget(fs, execve('./tool')).real, '/w/sub/tool');
  assert.equal(resolveExecTarget(fs, execve('../sub/./tool')).real, '/w/sub/tool');
  const t = resolveExecTarget(fs, execve('../../usr/bin/touch'));
  assert.equal(t.real, '/usr/bin/touch');
  assert.equal(t.given, '/usr/bin/touch');
});

test('a relative path with no readable cwd has no name to judge', () => {
  for (const cwd of [null, 'anon_inode:[x]', '/w (deleted)']) {
    const t = resolveExecTarget(fsOf({}, { cwd }), execve('tool'));
    assert.equal(t.real, null, String(cwd));
    assert.match(t.anonymous ?? '', /unknown directory/);
  }
});

test('execveat: a relative path is taken from dirfd; AT_FDCWD means the cwd; an absolute path ignores dirfd', () => {
  const fs = fsOf({ '/opt/kit/bin/tool': F(), '/w/tool': F() }, { fds: { 5: '/opt/kit/bin', 6: 'pipe:[77]' } });
  assert.equal(resolveExecTarget(fs, execveat(5, 'tool')).real, '/opt/kit/bin/tool');
  assert.equal(resolveExecTarget(fs, execveat(AT_FDCWD, 'tool')).real, '/w/tool');
  assert.equal(resolveExecTarget(fs, execveat(5, '/usr/bin/touch')).real, '/usr/bin/touch');
  assert.match(resolveExecTarget(fs, execveat(6, 'tool')).anonymous ?? '', /unknown directory/);
  assert.match(resolveExecTarget(fs, execveat(9, 'tool')).anonymous ?? '', /unknown directory/, 'a closed dirfd');
});

test('execveat(fd, "", AT_EMPTY_PATH) runs what the fd is: a file by its name, anything nameless is anonymous', () => {
  const fds = { 3: '/usr/bin/touch', 4: '/memfd:payload (deleted)', 5: '/w/gone (deleted)', 6: 'pipe:[1234]', 7: 'socket:[9]', 8: 'anon_inode:[eventfd]' };
  const fs = fsOf({}, { fds });
  const file = resolveExecTarget(fs, execveat(3, '', AT_EMPTY_PATH));
  assert.equal(file.real, '/usr/bin/touch');
  assert.equal(file.exists, true);
  const why = (fd: number) => resolveExecTarget(fs, execveat(fd, '', AT_EMPTY_PATH));
  assert.match(why(4).anonymous ?? '', /memfd/);
  assert.match(why(5).anonymous ?? '', /deleted file/);
  assert.match(why(6).anonymous ?? '', /non-file descriptor \(pipe:\[1234\]\)/);
  assert.match(why(7).anonymous ?? '', /non-file descriptor/);
  assert.match(why(8).anonymous ?? '', /non-file descriptor/);
  assert.match(why(9).anonymous ?? '', /closed or unreadable descriptor/);
  for (const fd of [4, 5, 6, 7, 8, 9]) assert.equal(why(fd).real, null);
  // Without AT_EMPTY_PATH the empty path is not the fd (the kernel fails it with ENOENT).
  assert.notEqual(resolveExecTarget(fs, execveat(4, '', 0)).anonymous, 'an anonymous memory file (memfd)');
});

// ---- resolveExecTarget: symlinks ----------------------------------------------------------------

test('a chain of relative and absolute symlinks is followed to the program', () => {
  const fs = fsOf({ '/w/a': L('b'), '/w/b': L('/w/dir/c'), '/w/dir/c': L('../../usr/bin/python3') });
  const t = resolveExecTarget(fs, execve('/w/a'));
  assert.equal(t.real, '/usr/bin/python3.11');
  assert.equal(t.given, '/w/a');
  assert.ok(t.consulted.includes('/w/dir') && t.consulted.includes('/usr/bin'));
  // The directory part can be a link too: /bin -> usr/bin.
  assert.equal(resolveExecTarget(fs, execve('/bin/sh')).real, '/usr/bin/dash');
});

test('an absolute symlink is resolved inside the tracee root, never on the host', () => {
  // Exists only in the tracee's view: resolved and found.
  const fs = fakeFs({ '/sandbox-only/bin/tool': F(), '/w/alias': L('/sandbox-only/bin/tool'), '/w/host': L('/usr/bin/env') });
  const t = resolveExecTarget(fs, execve('/w/alias'));
  assert.equal(t.real, '/sandbox-only/bin/tool');
  assert.equal(t.exists, true);
  // Exists on the host but not in the tracee's view: not there.
  const h = resolveExecTarget(fs, execve('/w/host'));
  assert.equal(h.real, '/usr/bin/env');
  assert.equal(h.exists, false);
});

test('`..` after the root stays at the root; `..` in a link target is taken from the link directory', () => {
  const fs = fsOf({ '/w/bin/run': L('../tools/run'), '/w/tools/run': F() });
  assert.equal(resolveExecTarget(fs, execve('/../../usr/./bin//touch')).real, '/usr/bin/touch');
  assert.equal(resolveExecTarget(fs, execve('/w/bin/run')).real, '/w/tools/run');
  assert.equal(resolveExecTarget(fs, execve('/w/bin/../bin/run')).real, '/w/tools/run');
});

test(
  '`..` after a symlinked directory goes up from where the link points, as the kernel does',
  {},
  () => {
    // /w/l -> /w/a/b, so /w/l/.. is /w/a and /w/l/../tt is /w/a/tt -> touch; lexically it is /w/tt -> true.
    const fs = fsOf({ '/w/a/b/keep': F(), '/w/l': L('/w/a/b'), '/w/a/tt': L('/usr/bin/touch'), '/w/tt': L('/usr/bin/true') });
    assert.equal(resolveExecTarget(fs, execve('/w/l/../tt')).real, '/usr/bin/touch');
    assert.equal(resolveExecTarget(fsOf({ '/w/a/b/keep': F(), '/w/a/tt': L('/usr/bin/touch'), '/w/tt': L('/usr/bin/true'), '/w/l': L('a/b') }, { cwd: '/w' }), execve('l/../tt')).real, '/usr/bin/touch');
    // Through a descriptor of /usr/lib: /proc/self/fd/4/../bin/touch is /usr/bin/touch.
    assert.equal(resolveExecTarget(fsOf({}, { fds: { 4: '/usr/lib' } }), execve('/proc/self/fd/4/../bin/touch')).real, '/usr/bin/touch');
  },
);

test('a symlink loop, and more than 40 links, is refused as having no name; 40 links are followed', () => {
  const loop = fsOf({ '/w/a': L('b'), '/w/b': L('/w/a'), '/w/self': L('self'), '/w/d': L('d/x') });
  for (const p of ['/w/a', '/w/self', '/w/d', '/w/a/x']) {
    const t = resolveExecTarget(loop, execve(p));
    assert.equal(t.real, null, p);
    assert.match(t.anonymous ?? '', /symlink loop/, p);
  }
  // The kernel's MAXSYMLINKS is 40: a chain of 40 links runs, 41 is ELOOP.
  const chain: Record<string, Entry> = { '/w/l0': L('/usr/bin/true') };
  for (let i = 1; i <= 40; i++) chain[`/w/l${i}`] = L(`l${i - 1}`);
  assert.equal(resolveExecTarget(fsOf(chain), execve('/w/l39')).real, '/usr/bin/true');
  assert.match(resolveExecTarget(fsOf(chain), execve('/w/l40')).anonymous ?? '', /symlink loop/);
});

test('a dangling link, or a component under a regular file, is a path that does not exist', () => {
  const fs = fsOf({ '/w/dangling': L('/nowhere/tool') });
  const t = resolveExecTarget(fs, execve('/w/dangling'));
  assert.equal(t.real, '/nowhere/tool');
  assert.equal(t.exists, false);
  assert.equal(resolveExecTarget(fs, execve('/w/notes.txt/x')).exists, false);
});

test('a missing path is reported as not existing, judged by its name, with no interpreter', () => {
  const t = resolveExecTarget(fsOf(), execve('/usr/local/bin/nope'));
  assert.equal(t.real, '/usr/local/bin/nope');
  assert.equal(t.given, '/usr/local/bin/nope');
  assert.equal(t.exists, false);
  assert.equal(t.anonymous, undefined);
  assert.deepEqual(t.runs, []);
});

// ---- resolveExecTarget: /proc and /dev/fd -------------------------------------------------------

test('/proc/self/fd/N and /dev/fd/N lead to the file the descriptor is', () => {
  const fs = fsOf({ '/w/link-to-fd': L('/proc/self/fd/3') }, { fds: { 3: '/usr/bin/touch', 4: '/usr/bin' } });
  for (const p of ['/proc/self/fd/3', '/proc/thread-self/fd/3', '/dev/fd/3', '/w/link-to-fd', '/proc/self/fd/4/touch', '/dev/fd/4/./touch']) {
    const t = resolveExecTarget(fs, execve(p));
    assert.equal(t.real, '/usr/bin/touch', p);
    assert.equal(t.exists, true, p);
    assert.ok(t.consulted.includes('/proc'), `${p}: /proc was consulted (never immutable)`);
  }
});

test('/proc/self/{exe,cwd,root} are the tracee own objects', () => {
  const fs = fsOf({ '/w/tool': F() }, { exe: '/usr/bin/bash', cwd: '/w' });
  assert.equal(resolveExecTarget(fs, execve('/proc/self/exe')).real, '/usr/bin/bash');
  assert.equal(resolveExecTarget(fs, execve('/proc/self/cwd/tool')).real, '/w/tool');
  assert.equal(resolveExecTarget(fs, execve('/proc/self/root/usr/bin/touch')).real, '/usr/bin/touch');
  assert.match(resolveExecTarget(fsOf({}, { exe: null }), execve('/proc/self/exe')).anonymous ?? '', /closed or unreadable/);
});

test('/proc/self/fd/N and /dev/fd/N to a memfd, a deleted file or a pipe have no name to judge', () => {
  const fs = fsOf({}, { fds: { 3: '/memfd:x (deleted)', 4: '/w/tool (deleted)', 5: 'pipe:[42]' } });
  const cases: Array<[string, RegExp]> = [
    ['/proc/self/fd/3', /memfd/],
    ['/dev/fd/3', /memfd/],
    ['/proc/self/fd/4', /deleted file/],
    ['/dev/fd/4', /deleted file/],
    ['/proc/self/fd/5', /non-file descriptor/],
    ['/dev/fd/5', /non-file descriptor/],
    ['/proc/self/fd/6', /closed or unreadable/],
  ];
  for (const [p, why] of cases) {
    const t = resolveExecTarget(fs, execve(p));
    assert.equal(t.real, null, p);
    assert.match(t.anonymous ?? '', why, p);
  }
});

test('/proc/<pid>/... and other /proc entries are refused: their meaning depends on who looks', () => {
  const fs = fsOf({}, { fds: { 3: '/usr/bin/touch' } });
  for (const p of ['/proc/1/exe', '/proc/4242/fd/3', '/proc/self', '/proc/self/fd', '/proc/self/fd/x', '/proc/self/environ', '/proc/sys/kernel/x']) {
    const t = resolveExecTarget(fs, execve(p));
    assert.equal(t.real, null, p);
    assert.match(t.anonymous ?? '', /\/proc path|closed/, p);
  }
});

// ---- resolveExecTarget: shebangs ---------------------------------------------------------------

test('a shebang without an argument: the kernel runs the interpreter with the script and the arguments', () => {
  const fs = fsOf({ '/w/build.sh': F('#!/bin/sh\necho hi\n') });
  const t = resolveExecTarget(fs, execve('/w/build.sh', ['./build.sh', 'a', 'b']));
  assert.equal(t.real, '/w/build.sh');
  assert.deepEqual(pa(t.runs), [{ path: '/usr/bin/dash', argv: ['/usr/bin/dash', '/w/build.sh', 'a', 'b'] }]);
});

test('a shebang with an argument: everything after the interpreter is one argument, trimmed', () => {
  const cases: Array<[string, string[]]> = [
    ['#!/usr/bin/env python3\n', ['/usr/bin/env', 'python3']],
    ['#!  /usr/bin/env \t python3  \t\n', ['/usr/bin/env', 'python3']],
    ['#!/usr/bin/env -S python3 -u\n', ['/usr/bin/env', '-S python3 -u']],
    ['#!/usr/bin/awk -f\n', ['/usr/bin/mawk', '-f']],
    ['#!/usr/bin/env', ['/usr/bin/env']], // no newline at all
  ];
  for (const [line, head] of cases) {
    const t = resolveExecTarget(fsOf({ '/w/s': F(line) }), execve('/w/s', ['s', 'x']));
    assert.deepEqual(pa(t.runs), [{ path: head[0], argv: [...head, '/w/s', 'x'] }], JSON.stringify(line));
  }
});

test('not a script: an ELF, an empty `#!`, a file too short', () => {
  for (const content of ['\x7fELF\x02\x01', '#!', '#!  \n', '#', '', 'echo #!/bin/sh']) {
    assert.deepEqual(resolveExecTarget(fsOf({ '/w/s': F(content) }), execve('/w/s')).runs, [], JSON.stringify(content));
  }
});

test('nested interpreters are listed outermost first, each with the argv the kernel builds', () => {
  const fs = fsOf({ '/w/outer': F('#!/w/inner -x\n'), '/w/inner': F('#!/usr/bin/python3\n') });
  const t = resolveExecTarget(fs, execve('/w/outer', ['outer', 'arg']));
  assert.deepEqual(pa(t.runs), [
    { path: '/w/inner', argv: ['/w/inner', '-x', '/w/outer', 'arg'] },
    { path: '/usr/bin/python3.11', argv: ['/usr/bin/python3.11', '/w/inner', '-x', '/w/outer', 'arg'] },
  ]);
});

test(
  'five levels of scripts are judged to the end (the kernel allows five interpreter rewrites)',
  {},
  () => {
    const chain: Record<string, Entry> = { '/w/c5': F('#!/usr/bin/touch\n') };
    for (let i = 1; i <= 4; i++) chain[`/w/c${i}`] = F(`#!/w/c${i + 1}\n`);
    const t = resolveExecTarget(fsOf(chain), execve('/w/c1'));
    assert.deepEqual(
      t.runs.map((r) => r.path),
      ['/w/c2', '/w/c3', '/w/c4', '/w/c5', '/usr/bin/touch'],
    );
  },
);

test(
  'a relative interpreter is looked up from the cwd, as the kernel opens it',
  {},
  () => {
    const fs = fsOf({ '/w/sub/sb': F('#!x\n'), '/w/x': L('/usr/bin/touch'), '/w/sub/x': L('/usr/bin/true') }, { cwd: '/w' });
    assert.deepEqual(resolveExecTarget(fs, execve('sub/sb')).runs.map((r) => r.path), ['/usr/bin/touch']);
  },
);

test('an interpreter with no name, or a missing one, is reported', () => {
  const fs = fsOf({ '/w/s': F('#!/proc/self/fd/3\n'), '/w/m': F('#!/opt/nothing/here\n') }, { fds: { 3: '/memfd:x (deleted)' } });
  const t = resolveExecTarget(fs, execve('/w/s'));
  assert.equal(t.real, null);
  assert.match(t.anonymous ?? '', /interpreter is an anonymous memory file/);
  const m = resolveExecTarget(fs, execve('/w/m'));
  assert.equal(m.real, '/w/m');
  assert.deepEqual(m.runs.map((r) => r.path), ['/opt/nothing/here']);
});

test('the fake itself is honest: it sees every lookup, and lookups stay canonical and link-free', () => {
  const fs = fsOf({ '/w/a': L('../usr/bin/python3') });
  resolveExecTarget(fs, execve('/w/a'));
  // kind and readlink of each link, kind of each directory, then the program's first bytes.
  assert.deepEqual(fs.lookups, ['/w', '/w/a', '/w/a', '/usr', '/usr/bin', '/usr/bin/python3', '/usr/bin/python3', '/usr/bin/python3.11', '/usr/bin/python3.11']);
  assert.throws(() => fs.kind('/bin/touch'), /goes through the symlink \/bin/);
});

// ---- the dynamic loader ------------------------------------------------------------------------

test('isLoader knows the loaders by file name only', () => {
  for (const p of ['/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1', '/lib/ld-linux.so.2', '/lib/ld-linux-armhf.so.3', '/usr/lib/ld.so', '/lib/ld-musl-x86_64.so.1', '/lib64/ld64.so.2', 'ld.so.1']) {
    assert.equal(isLoader(p), true, p);
  }
  for (const p of ['/usr/bin/ld', '/usr/bin/ld.gold', '/lib/x86_64-linux-gnu/libc.so.6', '/w/ld-linux.txt', '/w/ld.so.d/tool']) assert.equal(isLoader(p), false, p);
});

test('loaderProgram: the first non-option argument is the program, with what follows as its argv', () => {
  assert.deepEqual(loaderProgram(['ld.so', '/usr/bin/touch', 'm/x']), { program: '/usr/bin/touch', argv: ['/usr/bin/touch', 'm/x'] });
  // Options without a value.
  for (const o of ['--list', '--verify', '--inhibit-cache', '--list-tunables', '--list-diagnostics']) {
    assert.deepEqual(loaderProgram(['ld.so', o, 'prog', '-v']), { program: 'prog', argv: ['prog', '-v'] }, o);
  }
  // Options with a value: the value is never the program, whatever it looks like.
  for (const o of ['--library-path', '--inhibit-rpath', '--preload', '--audit', '--argv0', '--glibc-hwcaps-prepend', '--glibc-hwcaps-mask']) {
    assert.deepEqual(loaderProgram(['ld.so', o, '/usr/bin/true', '/usr/bin/touch', 'x']), { program: '/usr/bin/touch', argv: ['/usr/bin/touch', 'x'] }, o);
    assert.deepEqual(loaderProgram(['ld.so', `${o}=/usr/bin/true`, '/usr/bin/touch']), { program: '/usr/bin/touch', argv: ['/usr/bin/touch'] }, `${o}=`);
    assert.equal(loaderProgram(['ld.so', o]), null, `${o} with its value missing runs nothing`);
  }
  assert.deepEqual(loaderProgram(['ld.so', '--preload', 'a.so', '--argv0', 'x', '--list', 'prog']), { program: 'prog', argv: ['prog'] });
});

test('loaderProgram: `--` ends the options; unknown options fail closed; nothing to run is null', () => {
  assert.deepEqual(loaderProgram(['ld.so', '--', '--list']), { program: '--list', argv: ['--list'] });
  assert.deepEqual(loaderProgram(['ld.so', '--inhibit-cache', '--', 'prog', 'a']), { program: 'prog', argv: ['prog', 'a'] });
  assert.equal(loaderProgram(['ld.so', '--']), null);
  for (const o of ['--frobnicate', '--library-pathx', '--help=x', '--unknown=1', '---', '--list-everything']) assert.equal(loaderProgram(['ld.so', o, 'prog']), 'unknown', o);
  assert.equal(loaderProgram(['ld.so', '--help']), null);
  assert.equal(loaderProgram(['ld.so', '--version']), null);
  assert.equal(loaderProgram(['ld.so']), null);
  assert.equal(loaderProgram([]), null);
});

// ---- program names -----------------------------------------------------------------------------

const names = (...p: Array<string | null | undefined>) => programNames(...p).sort();

test('programNames: each name also without its version suffix', () => {
  assert.deepEqual(names('/usr/bin/python3.11'), ['python', 'python3', 'python3.11']);
  assert.deepEqual(names('/usr/bin/python3.11.4'), ['python', 'python3', 'python3.11', 'python3.11.4']);
  assert.deepEqual(names('/usr/bin/gcc-12'), ['gcc', 'gcc-12']);
  assert.deepEqual(names('node20'), ['node', 'node20']);
  assert.ok(names('/usr/bin/x86_64-linux-gnu-gcc-12').includes('x86_64-linux-gnu-gcc'));
});

test('programNames: names without a version stay as they are', () => {
  for (const n of ['git', 'ls', 'sha256sum', 'e2fsck', 'x', '7z', 'v8', '123', 'ld.so', 'c++']) assert.deepEqual(names(`/usr/bin/${n}`), [n], n);
});

test('programNames: the union of every path given, once each, absent ones ignored', () => {
  assert.deepEqual(names('/usr/bin/python3.11', '/w/py', null, undefined, '', '/usr/bin/python3'), ['py', 'python', 'python3', 'python3.11']);
  assert.deepEqual(programNames(), []);
});

test(
  'programNames: a GNU target-triplet name is also known by its plain name',
  {},
  () => {
    assert.ok(names('/usr/bin/x86_64-linux-gnu-gcc-12').includes('gcc'));
    assert.ok(names('/usr/bin/aarch64-linux-gnu-g++-12').includes('g++'));
  },
);

// ---- immutable paths ---------------------------------------------------------------------------

const bind = (dst: string, readOnly: boolean): MountOp => ({ op: 'bind', src: dst, dst, readOnly });
const tmpfs = (dst: string, readOnly?: boolean): MountOp => ({ op: 'tmpfs', dst, mode: 0o755, sizeBytes: 1 << 20, ...(readOnly !== undefined ? { readOnly } : {}) });

test('immutablePaths: the root is read-only; a prefix is only a prefix at a path boundary', () => {
  const im = immutablePaths([bind('/w', false)]);
  assert.equal(im('/'), true);
  assert.equal(im('/anything/under/root'), true);
  assert.equal(im('/w'), false);
  assert.equal(im('/w/x/y'), false);
  assert.equal(im('/wx'), true);
  assert.equal(im('/w-other/x'), true);
  assert.equal(immutablePaths([])('/usr/bin/touch'), true);
});

test('immutablePaths: ro bind, rw bind inside it, ro bind inside that — the innermost mount decides', () => {
  const im = immutablePaths([bind('/home/u', true), bind('/home/u/proj', false), bind('/home/u/proj/vendor', true), bind('/usr', true)]);
  assert.equal(im('/usr/bin/touch'), true);
  assert.equal(im('/home/u/.bashrc'), true);
  assert.equal(im('/home/u/proj'), false);
  assert.equal(im('/home/u/proj/build/tool'), false);
  assert.equal(im('/home/u/proj/vendor/bin/tool'), true);
  assert.equal(im('/home/u/projx'), true);
});

test('immutablePaths: a private (copy-on-write) directory is writable, also inside a read-only grant; a read-only bind inside it is not', () => {
  const im = immutablePaths([bind('/home/u', true), { op: 'cow', src: '/home/u/.cache', dst: '/home/u/.cache', mode: 0o700, sizeBytes: 1 << 20 }, bind('/home/u/.cache/ro', true)]);
  assert.equal(im('/home/u/.bashrc'), true);
  assert.equal(im('/home/u/.cache/tool/bin/x'), false, 'the agent can replace what a cached name there resolves to');
  assert.equal(im('/home/u/.cache/ro/x'), true);
});

test('immutablePaths: tmpfs /tmp is writable, a read-only tmpfs is not; a mask is read-only even inside rw', () => {
  const im = immutablePaths([tmpfs('/tmp'), tmpfs('/ro-tmp', true), bind('/w', false), { op: 'mask', dst: '/w/.env' }, { op: 'proc', dst: '/proc' }, { op: 'devpts', dst: '/dev/pts' }, bind('/proc/sys', true)]);
  assert.equal(im('/tmp'), false);
  assert.equal(im('/tmp/a.out'), false);
  assert.equal(im('/ro-tmp/x'), true);
  assert.equal(im('/w/.env'), true);
  assert.equal(im('/w/.envrc'), false);
  assert.equal(im('/proc/self/fd'), false);
  assert.equal(im('/proc/sys/kernel'), true);
  assert.equal(im('/dev/pts/0'), false);
});

test('immutablePaths: a later `ro` makes a mount read-only; `ro` of a non-mount-point changes nothing; a later mount wins', () => {
  const im = immutablePaths([tmpfs('/dev'), tmpfs('/dev/shm'), { op: 'ro', dst: '/dev' }, { op: 'ro', dst: '/w/sub' }, bind('/w', false), bind('/opt', true), tmpfs('/opt')]);
  assert.equal(im('/dev/null'), true);
  assert.equal(im('/dev/shm/x'), false, '`ro` is not recursive');
  assert.equal(im('/w/sub/x'), false, '`ro` before /w was mounted, of a path that is no mount point');
  assert.equal(im('/opt/x'), false, 'the tmpfs mounted over /opt later is writable');
  // symlink and dir ops live in the read-only root.
  assert.equal(immutablePaths([{ op: 'symlink', target: 'usr/bin', dst: '/bin' }, { op: 'dir', dst: '/x', mode: 0o755 }])('/x/y'), true);
});

test(
  'immutablePaths: a mount over a parent hides the mounts made below it earlier',
  {},
  () => {
    const im = immutablePaths([bind('/a/b', true), bind('/a', false)]);
    assert.equal(im('/a/b/x'), false);
  },
);

// ---- the wire ----------------------------------------------------------------------------------

interface Req {
  kind: number;
  id: bigint;
  pid: number;
  syscall: number;
  dirfd: number;
  flags: number;
  problems: number;
  path: Buffer;
  argv: Buffer[];
}

/** A request frame laid out as native/notify.c writes it (u32 len first). */
function frame(r: Req, o: { argc?: number; tail?: Buffer } = {}): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    parts.push(b);
  };
  u32(r.kind);
  const id = Buffer.alloc(8);
  id.writeBigUInt64LE(r.id);
  parts.push(id);
  u32(r.pid);
  u32(r.syscall);
  u32(r.dirfd);
  u32(r.flags);
  u32(r.problems);
  u32(o.argc ?? r.argv.length);
  for (const s of [r.path, ...r.argv]) {
    u32(s.length);
    parts.push(s);
  }
  if (o.tail) parts.push(o.tail);
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

const REQ: Req = { kind: 1, id: 7n, pid: 4242, syscall: 0, dirfd: -100, flags: 0, problems: 0, path: Buffer.from('/usr/bin/git'), argv: ['git', 'status', '--short'].map((s) => Buffer.from(s)) };

function asReq(e: MediationRequest): Req {
  assert.ok(e.kind !== 3, 'an exec frame decodes as an exec request');
  return { kind: e.kind, id: e.id, pid: e.pid, syscall: e.syscall === 'execve' ? 0 : 1, dirfd: e.dirfd, flags: e.flags, problems: e.problems, path: Buffer.from(e.path), argv: e.argv.map((a) => Buffer.from(a)) };
}

test('wire: requests round-trip field by field, bytes kept as bytes', () => {
  const cases: Req[] = [
    REQ,
    { ...REQ, kind: 2, id: 0xffff_ffff_ffff_ffffn, pid: 0xffff_ffff, syscall: 1, dirfd: 7, flags: 0x1000, path: Buffer.alloc(0), argv: [] },
    { ...REQ, problems: 7, path: Buffer.from([0xff, 0xfe, 0x2f]), argv: [Buffer.alloc(0), Buffer.from([0xc3, 0x28]), Buffer.alloc(5000, 0x61)] },
  ];
  for (const c of cases) {
    const out = new RequestDecoder().push(frame(c));
    assert.equal(out.length, 1);
    assert.deepEqual(asReq(out[0]!), c);
  }
  const d = decodeRequest(frame(REQ).subarray(4));
  assert.equal(d.syscall, 'execve');
  assert.equal(d.dirfd, -100);
});

test('wire: frames split across chunks at every byte, and several frames in one chunk', () => {
  const a = frame(REQ);
  const b = frame({ ...REQ, id: 8n, syscall: 1, argv: [Buffer.from('x')] });
  const all = Buffer.concat([a, b, a]);
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new RequestDecoder();
    const got = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))];
    assert.deepEqual(got.map((g) => g.id), [7n, 8n, 7n], `cut at ${cut}`);
    assert.equal(d.pending, 0);
  }
  const d = new RequestDecoder();
  const got: MediationRequest[] = [];
  for (const byte of all) got.push(...d.push(Buffer.from([byte])));
  assert.deepEqual(got.map(asReq), [REQ, asReq(decodeRequest(b.subarray(4))), REQ]);
  assert.equal(d.push(a.subarray(0, 10)).length, 0);
  assert.equal(d.pending, 10, 'a partial frame waits');
});

function rejects(bytes: Buffer, why: RegExp, chunks = 1): void {
  const d = new RequestDecoder();
  const size = Math.ceil(bytes.length / chunks);
  assert.throws(
    () => {
      for (let i = 0; i < bytes.length; i += size) assert.deepEqual(d.push(bytes.subarray(i, i + size)), [], 'nothing is emitted before the error');
    },
    (e: unknown) => e instanceof WireError && why.test(e.message),
    why.source,
  );
}

const withLen = (len: number, body = Buffer.alloc(Math.max(0, Math.min(len, 64)))): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(len >>> 0);
  return Buffer.concat([b, body]);
};

test('wire: every malformed frame is a WireError, never a request', () => {
  rejects(withLen(0), /bad frame length 0/);
  rejects(withLen(3), /bad frame length 3/);
  rejects(withLen(20), /truncated exec frame/);
  rejects(withLen(MAX_FRAME + 1, Buffer.alloc(0)), /bad frame length/, 1); // refused before the body comes
  rejects(withLen(0xffff_ffff, Buffer.alloc(0)), /bad frame length/);
  // (kind 3 is an open frame: test/mediate/file-units.test.ts)
  for (const kind of [0, 4, 0xffff_ffff]) rejects(frame({ ...REQ, kind }), /unknown frame kind/);
  for (const syscall of [2, 59, 0xffff_ffff]) rejects(frame({ ...REQ, syscall }), /unknown syscall/);
  // A path whose length runs past the frame.
  const longPath = frame(REQ);
  longPath.writeUInt32LE(10_000, 4 + 36);
  rejects(longPath, /truncated string/);
  // An argument whose length runs past the frame.
  const longArg = frame({ ...REQ, argv: [Buffer.from('abc')] });
  longArg.writeUInt32LE(4, longArg.length - 3 - 4);
  rejects(longArg, /truncated string/);
  // argc larger than the frame could hold, by one and by far.
  rejects(frame({ ...REQ, argv: [] }, { argc: 1 }), /argc 1 exceeds the frame/);
  rejects(frame({ ...REQ, argv: [Buffer.from('a')] }, { argc: 3 }), /argc 3 exceeds the frame/);
  rejects(frame(REQ, { argc: 0xffff_ffff }), /exceeds the frame/);
  // argc smaller than the strings present, and plain trailing bytes.
  rejects(frame(REQ, { argc: 2 }), /trailing bytes/);
  rejects(frame(REQ, { tail: Buffer.from([0]) }), /trailing bytes/);
  // The same, arriving in pieces, after a good frame in the same stream.
  const d = new RequestDecoder();
  assert.equal(d.push(frame(REQ)).length, 1);
  const bad = frame(REQ, { tail: Buffer.from('xyz') });
  assert.throws(() => {
    for (let i = 0; i < bad.length; i += 7) assert.deepEqual(d.push(bad.subarray(i, i + 7)), []);
  }, WireError);
});

test('wire: any mutation of a valid frame either decodes to exactly its bytes or is a WireError', () => {
  const base = frame({ ...REQ, syscall: 1, dirfd: 3, argv: [Buffer.from('a'), Buffer.from('bc')] });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length + 8), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: -8, max: 8 }), (edits, grow) => {
      let b = Buffer.from(base);
      if (grow > 0) b = Buffer.concat([b, Buffer.alloc(grow, 0x41)]);
      else if (grow < 0) b = b.subarray(0, b.length + grow);
      for (const [at, v] of edits) if (at < b.length) b[at] = v;
      let out: MediationRequest[];
      try {
        out = new RequestDecoder().push(b);
      } catch (e) {
        assert.ok(e instanceof WireError, `a ${(e as Error)?.constructor?.name}: ${String(e)}`);
        return;
      }
      // Whatever decoded re-encodes to the very bytes it came from: no field is ignored.
      let off = 0;
      for (const r of out) {
        const f = frame(asReq(r));
        assert.deepEqual(f, b.subarray(off, off + f.length));
        off += f.length;
      }
    }),
    { numRuns: 3000, seed: 5 },
  );
});

/** What native/notify.c `apply()` accepts as a verdict frame (it kills the tree on anything else). */
function helperAccepts(v: Buffer): { id: bigint; pid: number; action: number; errno: number; cache: number; msg: string } {
  const len = v.readUInt32LE(0);
  assert.equal(len, v.length - 4, 'len is the rest of the frame');
  assert.ok(len >= 4 && len <= 32 + 1024);
  const f = v.subarray(4);
  assert.equal(f.readUInt32LE(0), 1, 'kind');
  const [action, errno, cache, msglen] = [f.readUInt32LE(16), f.readInt32LE(20), f.readUInt32LE(24), f.readUInt32LE(28)];
  assert.ok(msglen <= 1024 && len === 32 + msglen && action <= 1 && cache <= 1);
  if (action === 1) assert.ok(errno > 0 && errno <= 4095);
  else assert.ok(errno === 0 && msglen === 0);
  return { id: f.readBigUInt64LE(4), pid: f.readUInt32LE(12), action, errno, cache, msg: f.subarray(32).toString('utf8') };
}

test('wire: verdicts are laid out as the helper reads them', () => {
  assert.deepEqual(helperAccepts(encodeVerdict(9n, 100, { action: 'continue', cacheable: true })), { id: 9n, pid: 100, action: 0, errno: 0, cache: 1, msg: '' });
  assert.deepEqual(helperAccepts(encodeVerdict(0xffff_ffff_ffff_ffffn, 0xffff_ffff, { action: 'continue', cacheable: false })), { id: 0xffff_ffff_ffff_ffffn, pid: 0xffff_ffff, action: 0, errno: 0, cache: 0, msg: '' });
  assert.deepEqual(helperAccepts(encodeVerdict(1n, 2, { action: 'fail', errno: 13, message: 'warden: no\n' })), { id: 1n, pid: 2, action: 1, errno: 13, cache: 0, msg: 'warden: no\n' });
  assert.deepEqual(helperAccepts(encodeVerdict(1n, 2, { action: 'fail', errno: 2 })), { id: 1n, pid: 2, action: 1, errno: 2, cache: 0, msg: '' });
  assert.deepEqual([...encodeFlush()], [4, 0, 0, 0, 2, 0, 0, 0]);
});

test('wire: a long message is cut to the helper bound and says so', () => {
  for (const message of ['x'.repeat(5000), 'é'.repeat(3000), 'y'.repeat(MAX_MESSAGE), 'z'.repeat(MAX_MESSAGE + 1)]) {
    const v = helperAccepts(encodeVerdict(1n, 1, { action: 'fail', errno: 13, message }));
    const bytes = Buffer.byteLength(message);
    if (bytes <= MAX_MESSAGE) assert.equal(v.msg, message);
    else {
      assert.ok(Buffer.from(v.msg).length <= MAX_MESSAGE);
      assert.ok(v.msg.endsWith('…\n'), 'the cut is marked');
    }
  }
});

test('wire: errno must be 1..4095 for a refusal (the helper kills the tree on anything else)', () => {
  for (const errno of [1, 13, 4095]) assert.equal(helperAccepts(encodeVerdict(1n, 1, { action: 'fail', errno })).errno, errno);
  for (const errno of [0, -1, -13, 4096, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => encodeVerdict(1n, 1, { action: 'fail', errno } as Verdict), WireError, String(errno));
  }
});

// ---- the mediator over the fake: where a flaw shows only in the decision -----------------------

const proot = realpathSync(tempDir('warden-units-'));
mkdirSync(join(proot, 'w'));
mkdirSync(join(proot, 'h'));

async function mediatorFor(rules: string, fs: TraceeFs) {
  const file = writeFile(proot, `p-${Math.random().toString(36).slice(2)}.yaml`, `version: 1\nextends: coding-agent\ncommands:\n${rules}`);
  const { policy } = await loadPolicy({ file, workspace: join(proot, 'w'), home: join(proot, 'h'), cwd: proot });
  const written: Buffer[] = [];
  const channel = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  const audit: AuditEventInput[] = [];
  const fatal: Error[] = [];
  new ExecMediator({ channel, session: 's', context: createCommandContext(policy), immutable: () => true, audit: (e) => audit.push(e), fsFor: () => fs, onFatal: (e) => fatal.push(e) });
  let id = 0n;
  return {
    audit,
    fatal,
    written,
    /** One exec through the mediator: the verdict the helper would get. */
    exec(path: string, argv: string[], extra: Partial<Req> = {}) {
      const before = written.length;
      channel.emit('data', frame({ ...REQ, id: ++id, path: Buffer.from(path), argv: argv.map((a) => Buffer.from(a)), ...extra }));
      assert.equal(written.length, before + 1, 'exactly one verdict per request');
      return helperAccepts(written[written.length - 1]!);
    },
    raw(b: Buffer) {
      channel.emit('data', b);
      return written.length;
    },
    /** The helper closed its end (the tree is gone). */
    end() {
      channel.emit('end');
    },
  };
}

const DENY = '  - {id: no-touch, match: [touch], decision: deny, message: no touching}\n  - {id: no-awk, match: [awk], decision: deny}\n';

test('mediator: a denied program is refused however the fake resolves to it; others run', async () => {
  const fs = fsOf({ '/w/alias': L('/usr/bin/touch'), '/w/s': F('#!/usr/bin/touch\n')}, { fds: { 3: '/usr/bin/touch' } });
  const m = await mediatorFor(DENY, fs);
  assert.equal(m.exec('/usr/bin/true', ['true']).action, 0);
  for (const [path, argv0] of [['/usr/bin/touch', 'touch'], ['/w/alias', 'harmless'], ['/w/s', 's'], ['/dev/fd/3', 'x'], ['/usr/lib/../bin/touch', 'touch']] as const) {
    const v = m.exec(path, [argv0, 'm/x']);
    assert.equal(v.action, 1, path);
    assert.equal(v.errno, 13, path);
    assert.match(v.msg, /denied by rule no-touch: no touching/, path);
  }
  assert.equal(m.audit.filter((e) => e.kind === 'exec').length, 6, 'each exec audited');
});

test('mediator: what it cannot see or read is refused, and a malformed frame is fatal with no verdict', async () => {
  const fs = fsOf({ '/lib64/ld-linux-x86-64.so.2': F() }, { fds: { 3: '/memfd:x (deleted)' } });
  const m = await mediatorFor(DENY, fs);
  const memfd = m.exec('/dev/fd/3', ['x']);
  assert.deepEqual([memfd.action, memfd.errno], [1, 13]);
  assert.match(memfd.msg, /warden\.exec-anonymous/);
  assert.equal(m.exec('/usr/bin/true', ['true'], { problems: 1 }).errno, 14);
  assert.equal(m.exec('/usr/bin/true', ['true'], { problems: 2 }).errno, 14);
  assert.equal(m.exec('/usr/bin/true', ['true'], { problems: 4 }).errno, 7);
  assert.match(m.exec('', ['x'], { path: Buffer.from([0x2f, 0xff]) }).msg, /warden\.exec-encoding/, 'a path that is not UTF-8');
  const missing = m.exec('/usr/bin/nope', ['nope']);
  assert.deepEqual([missing.errno, missing.msg], [2, ''], 'a missing program fails as the kernel would, quietly');
  assert.match(m.exec('/lib64/ld-linux-x86-64.so.2', ['ld.so', '--frobnicate', '/usr/bin/true']).msg, /warden\.exec-loader/, 'an unknown loader option');
  assert.match(m.exec('/lib64/ld-linux-x86-64.so.2', ['ld.so', '--argv0', 'true', '/usr/bin/touch']).msg, /no-touch/, 'the program the loader maps');
  assert.equal(m.exec('/lib64/ld-linux-x86-64.so.2', ['ld.so', '/usr/bin/true']).action, 0);
  const n = m.raw(frame(REQ, { tail: Buffer.from('x') }));
  assert.equal(m.fatal.length, 1);
  assert.ok(m.fatal[0] instanceof WireError);
  assert.equal(m.raw(frame(REQ)), n, 'nothing is answered after a fatal frame');
});

test(
  'mediator: a shebang interpreter is judged by the name it was invoked by, like a direct exec',
  {},
  async () => {
    const m = await mediatorFor(DENY, fsOf({ '/w/a.awk': F('#!/usr/bin/awk -f\nBEGIN{}\n') }));
    assert.equal(m.exec('/usr/bin/awk', ['awk']).action, 1, 'control: awk itself is denied by its alias name');
    assert.equal(m.exec('/w/a.awk', ['./a.awk']).action, 1);
  },
);

test(
  'mediator: every name along a symlink chain counts, not only the first and the last',
  {},
  async () => {
    const fs = fsOf({ '/usr/bin/cc': L('/etc/alternatives/cc'), '/etc/alternatives/cc': L('/usr/bin/gcc'), '/usr/bin/gcc': L('gcc-12'), '/usr/bin/gcc-12': L('x86_64-linux-gnu-gcc-12'), '/usr/bin/x86_64-linux-gnu-gcc-12': F() });
    const m = await mediatorFor('  - {id: no-gcc, match: [gcc], decision: deny}\n', fs);
    assert.equal(m.exec('/usr/bin/gcc', ['gcc']).action, 1, 'control: gcc by its own name is denied');
    assert.equal(m.exec('/usr/bin/cc', ['cc']).action, 1);
  },
);

test(
  'mediator: an allow rule on the name a program is invoked by decides it, as in the hook layer',
  {},
  async () => {
    const m = await mediatorFor('  - {id: python-tools, match: [python3, "tools/*.py", "**"], decision: allow}\n', fsOf({ '/w/tools/stats.py': F('print(1)\n') }));
    assert.equal(m.exec('/usr/bin/python3', ['python3', 'tools/stats.py']).action, 0);
    assert.equal(m.audit.at(-1)?.rule, 'python-tools');
  },
);

test('mediator: only an exec by absolute path is cacheable (the helper\'s key has no cwd or dirfd)', async () => {
  // From cwd /usr, `bin/true` is /usr/bin/true; replayed from a workspace cwd it would name another file.
  const m = await mediatorFor('  []\n', fsOf({}, { cwd: '/usr', fds: { 5: '/usr' } }));
  assert.equal(m.exec('/usr/bin/true', ['true']).cache, 1);
  assert.equal(m.exec('bin/true', ['true']).cache, 0);
  assert.equal(m.exec('bin/true', ['true'], { syscall: 1, dirfd: 5 }).cache, 0);
  // Both still run: not caching is not denying.
  assert.equal(m.exec('bin/true', ['true']).action, 0);
});

test('mediator: execs the helper replayed from its cache are each audited, in frame order, before any later record, within the batch window, and at the end', async () => {
  const m = await mediatorFor(DENY, fsOf());
  const first = m.exec('/usr/bin/true', ['true']);
  assert.deepEqual([first.action, first.cache], [0, 1], 'control: an absolute path in immutable mounts is a cacheable allow');
  let pid = 100;
  const replay = (n: number) => {
    const verdicts = m.raw(Buffer.alloc(0));
    for (let i = 0; i < n; i++) assert.equal(m.raw(frame({ ...REQ, kind: 2, pid: pid++, path: Buffer.from('/usr/bin/true'), argv: [Buffer.from('true')] })), verdicts, 'a replayed exec gets no verdict');
  };
  const execs = () => m.audit.filter((e) => e.kind === 'exec');
  const pids = () => execs().map((e) => e.proc?.pid);
  // Before a record that answers an exec: every replay the helper reported earlier.
  replay(3);
  assert.equal(m.exec('/usr/bin/touch', ['touch', 'x']).action, 1);
  assert.deepEqual(pids(), [4242, 100, 101, 102, 4242]);
  for (const e of execs().slice(1, 4)) {
    assert.equal(e.decision, 'allow');
    assert.equal(e.rule, execs()[0]!.rule, 'the rule of the verdict replayed');
    assert.deepEqual(e.proc?.argv, ['true']);
    assert.equal(e.proc?.exe, '/usr/bin/true', 'the program of the cached verdict');
    assert.equal((e.detail as { cached?: boolean }).cached, true);
  }
  // With nothing else happening: within the batch window.
  replay(2);
  await new Promise((r) => setTimeout(r, REPLAY_BATCH_MS + 40));
  assert.deepEqual(pids().slice(5), [103, 104]);
  // A burst is bounded in memory: handed over in batches while it lasts.
  const burst = 2 * REPLAY_BATCH_MAX + 10;
  replay(burst);
  assert.ok(execs().length >= 5 + 2 + burst - REPLAY_BATCH_MAX, `records wait in bounded batches (${execs().length})`);
  assert.ok(execs().length < 5 + 2 + burst, 'control: the last part of the burst waits for its batch');
  // The helper's end (the tree is gone): whatever is left is recorded at once, nothing after.
  m.end();
  assert.deepEqual(pids().slice(7), Array.from({ length: burst }, (_, i) => 105 + i));
  replay(1);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(execs().length, 7 + burst, 'nothing is recorded after the end');
  assert.equal(m.fatal.length, 0);
});

test('mediator: a malformed frame ends mediation, but the replayed execs before it are still recorded', async () => {
  const m = await mediatorFor(DENY, fsOf());
  assert.equal(m.exec('/usr/bin/true', ['true']).cache, 1);
  for (const pid of [51, 52]) m.raw(frame({ ...REQ, kind: 2, pid, path: Buffer.from('/usr/bin/true'), argv: [Buffer.from('true')] }));
  m.raw(frame(REQ, { tail: Buffer.from('x') }));
  assert.equal(m.fatal.length, 1);
  assert.deepEqual(m.audit.filter((e) => e.kind === 'exec').map((e) => e.proc?.pid), [4242, 51, 52]);
});

test('mediator: an explicit allow on a shell decides alone only when the analyser saw all of its payload', async () => {
  const m = await mediatorFor('  - {id: sh-ok, match: [sh, "-c"], decision: allow}\n', fsOf({ '/usr/bin/sh': F() }));
  assert.equal(m.exec('/usr/bin/sh', ['sh', '-c', 'echo hi; ls -la']).action, 0);
  assert.equal(m.audit.at(-1)?.rule, 'sh-ok', 'control: a payload seen in full is the rule\'s');
  // A payload that runs a program the analyser cannot name goes to the classifier too (and a
  // `review` of a kernel exec is a flagged warn by default: not cacheable).
  for (const payload of ['x=$(cat f); $x', 'eval "$Y"']) {
    const blind = m.exec('/usr/bin/sh', ['sh', '-c', payload]);
    assert.match(String(m.audit.at(-1)?.rule), /^classify\./, payload);
    assert.equal(m.audit.at(-1)?.decision, 'warn', payload);
    assert.deepEqual([blind.action, blind.cache], [0, 0], payload);
  }
});

test('mediator: the verdicts it remembers for replayed execs are bounded (no 2 MB argv kept per cache slot)', async () => {
  const m = await mediatorFor(DENY, fsOf());
  const long = ['true', 'x'.repeat(5000)];
  assert.equal(m.exec('/usr/bin/true', long).cache, 1, 'control: cacheable as far as the decision goes');
  m.raw(frame({ ...REQ, kind: 2, pid: 7, path: Buffer.from('/usr/bin/true'), argv: long.map((a) => Buffer.from(a)) }));
  m.end();
  const rec = m.audit.filter((e) => e.kind === 'exec').at(-1)!;
  assert.equal(rec.proc?.pid, 7);
  assert.equal(rec.rule, 'cache', 'a request longer than the helper ever replays is not remembered');
  assert.deepEqual(rec.proc?.argv, long, 'and is still recorded from its own frame');
});

// ---- the frames pipe (native/notify.c "Frames pipe", src/mediate/frames-pipe.ts) ----------------

test('frames pipe: the supervisor re-reads the pipe exactly as often as the helper rings at least (RING_MS = RING_NS)', () => {
  // A supervisor re-reading less often than the helper rings would leave replays unread for longer
  // than documented; one re-reading more often would wake for nothing.
  const src = readFileSync(join(packageRoot(), 'native', 'notify.c'), 'utf8');
  const m = /^#define RING_NS (\d+)L\b/m.exec(src);
  assert.ok(m, 'RING_NS is defined in native/notify.c');
  assert.equal(Number(m[1]), RING_MS * 1e6);
});

/** A FIFO standing in for the helper's pipe: this process plays the helper that holds it. */
/** Runs `body` with a fresh fake frames pipe, closed afterwards whatever happens. */
async function withPipe(body: (p: ReturnType<typeof fakePipe>) => Promise<void>): Promise<void> {
  const p = fakePipe();
  try {
    await body(p);
  } finally {
    p.close();
  }
}

function fakePipe(): { fd: number; hello(ino?: bigint): Buffer; write(b: Buffer): void; close(): void } {
  const dir = tempDir('warden-pipe-');
  const path = join(dir, 'frames');
  assert.equal(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');
  const fd = openSync(path, 'r+'); // read-write: opening does not wait for a peer
  const ino = fstatSync(fd, { bigint: true }).ino;
  return {
    fd,
    hello(other = ino) {
      const b = Buffer.alloc(24);
      b.writeUInt32LE(20, 0);
      b.writeUInt32LE(4, 4);
      b.writeUInt32LE(process.pid, 8);
      b.writeInt32LE(fd, 12);
      b.writeBigUInt64LE(other, 16);
      return b;
    },
    write: (b) => void writeSync(fd, b),
    close: () => closeSync(fd),
  };
}

const SWITCH = Buffer.from([4, 0, 0, 0, 5, 0, 0, 0]);
const BELL = Buffer.from('d');
const TAKEN = Buffer.from([4, 0, 0, 0, 4, 0, 0, 0]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('mediator: the frames pipe is taken only when the hello names it exactly; until the switch, frames stay on the channel', () =>
  withPipe(async (p) => {
    const m = await mediatorFor(DENY, fsOf());
    const n = m.raw(p.hello(12345n));
    assert.equal(m.written.length, n, 'another inode: not the helper pipe, not taken');
    assert.equal(m.exec('/usr/bin/true', ['true']).action, 0, 'and the channel still works');
    m.raw(p.hello());
    assert.deepEqual(m.written.at(-1), TAKEN, 'the pipe is taken');
    assert.equal(m.exec('/usr/bin/touch', ['touch', 'x']).action, 1, 'frames before the switch are still read from the channel');
    assert.equal(m.fatal.length, 0);
  }));

test('mediator: after the switch, frames come from the pipe in order: at a doorbell, RING_MS after one, and at the end', () =>
  withPipe(async (p) => {
    const m = await mediatorFor(DENY, fsOf());
    m.raw(p.hello());
    const n = m.raw(SWITCH);
    let pid = 300;
    const replay = () => p.write(frame({ ...REQ, kind: 2, pid: pid++, path: Buffer.from('/usr/bin/true'), argv: [Buffer.from('true')] }));
    const execs = () => m.audit.filter((e) => e.kind === 'exec').map((e) => [e.proc?.pid, e.decision]);
    // A frame that needs an answer: answered at its doorbell (a bell in the switch's own chunk too).
    p.write(frame({ ...REQ, id: 1n, path: Buffer.from('/usr/bin/true'), argv: [Buffer.from('true')] }));
    assert.equal(m.written.length, n, 'nothing is read from the pipe before a doorbell');
    m.raw(BELL);
    assert.equal(m.written.length, n + 1);
    assert.equal(helperAccepts(m.written.at(-1)!).cache, 1, 'control: a cacheable allow');
    // Replays ring no bell: read RING_MS after the last doorbell, and on while frames keep coming.
    replay();
    replay();
    assert.deepEqual(execs(), [[4242, 'allow']]);
    await sleep(RING_MS + REPLAY_BATCH_MS + 40);
    assert.deepEqual(execs(), [[4242, 'allow'], [300, 'allow'], [301, 'allow']]);
    // Replays written before a frame that needs an answer are recorded before it.
    replay();
    p.write(frame({ ...REQ, id: 2n, path: Buffer.from('/usr/bin/touch'), argv: [Buffer.from('touch')] }));
    m.raw(Buffer.concat([BELL, BELL]));
    assert.equal(helperAccepts(m.written.at(-1)!).action, 1);
    assert.deepEqual(execs().slice(3), [[302, 'allow'], [4242, 'deny']]);
    // The helper's end: whatever it wrote is read and recorded.
    replay();
    m.end();
    assert.deepEqual(execs().slice(5), [[303, 'allow']]);
    assert.equal(m.fatal.length, 0);
  }));

test('mediator: a second hello, a switch without a pipe taken, or a malformed frame in the pipe ends mediation', () =>
  withPipe(async (p) => {
    const twice = await mediatorFor(DENY, fsOf());
    twice.raw(p.hello());
    twice.raw(p.hello());
    assert.ok(twice.fatal[0] instanceof WireError);
    const early = await mediatorFor(DENY, fsOf());
    early.raw(SWITCH);
    assert.ok(early.fatal[0] instanceof WireError);
    const bad = await mediatorFor(DENY, fsOf());
    bad.raw(Buffer.concat([p.hello(), SWITCH]));
    const n = bad.written.length;
    p.write(frame(REQ, { tail: Buffer.from('x') }));
    bad.raw(BELL);
    assert.ok(bad.fatal[0] instanceof WireError);
    assert.equal(bad.written.length, n, 'no verdict for it');
  }));
