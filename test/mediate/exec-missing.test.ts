/**
 * Execs of paths that name nothing (native/notify.c "Execs of paths that name nothing"): execvp,
 * Python's subprocess and libuv try execve on every PATH entry, and each miss used to be a held
 * exec, a supervisor round trip and an audit record reading like a denial. The helper now answers
 * those ENOENT itself — only ever ENOENT, never a continue — when it is sure: an absolute path
 * whose parent directory exists in the tracee's view (not procfs) and holds no such entry. The
 * misses are counted in the session's end record; every other case still goes to the supervisor.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { workspaceDir, writeFile } from '../helpers/tmp.js';

type Event = Record<string, any>;

/** A workspace and an env of its own (WARDEN_HOME inside the temp root). */
function scratch(prefix: string): { root: string; ws: string; env: NodeJS.ProcessEnv } {
  const { root, ws } = workspaceDir(prefix);
  return { root, ws, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' } };
}

function events(env: NodeJS.ProcessEnv): Event[] {
  const shown = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 26 });
  assert.equal(shown.code, 0, shown.stderr);
  return shown.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
}

test('PATH misses of execvp are answered ENOENT in the helper: no records, counted at the end; the command found later runs', () => {
  const { ws, env } = scratch('warden-exec-missing-');
  const empty = [join(ws, 'empty1'), join(ws, 'empty2')];
  for (const d of empty) mkdirSync(d);
  const bin = join(ws, 'bin');
  mkdirSync(bin);
  chmodSync(writeFile(bin, 'warden-miss-tool', '#!/bin/sh\necho ran > "$1"\n'), 0o755);
  // Real directories only: as root the helper leaves paths through a symlink (merged /usr's /bin)
  // to the supervisor, since its own credentials would search where the tracee's cannot.
  const path = [...empty, bin, '/usr/bin'].join(':');
  // env(1) looks its command up with execvp: one execve per PATH entry until one works.
  const script = `PATH=${path}; export PATH; env warden-miss-tool ${join(ws, 'marker')}; env warden-no-such-tool; echo "rc=$?"`;
  const r = warden(['run', '--workspace', ws, '--', '/bin/sh', '-c', script], { cwd: ws, env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(ws, 'marker'), 'utf8'), 'ran\n', 'the tool in the third entry ran');
  assert.match(r.stdout, /rc=127/, 'a command in no entry: env reports it missing');
  assert.match(r.stderr, /warden-no-such-tool.*No such file or directory/, 'the kernel-shaped error reached the tracee');

  const all = events(env);
  const execs = all.filter((e) => e['kind'] === 'exec');
  assert.deepEqual(execs.filter((e) => e['decision'] === 'deny').map((e) => e['resource']), [], 'no miss became a denial record');
  assert.ok(execs.some((e) => JSON.stringify(e).includes(join(bin, 'warden-miss-tool'))), 'the tool itself was mediated and audited');
  const end = all.find((e) => e['kind'] === 'session.end');
  // The tool: empty1, empty2. The missing one: empty1, empty2, bin, /usr/bin.
  assert.equal(end?.['detail']?.['execMissing'], 6, 'every miss is counted in the end record');
});

test('what the helper cannot be sure of still goes to the supervisor: a missing or private parent directory, /proc/self paths', () => {
  const { ws, env } = scratch('warden-exec-unsure-');
  const gone = join(ws, 'no-such-dir');
  // Not searchable by others: the helper's credentials may see more than the tracee's there.
  const priv = join(ws, 'private');
  mkdirSync(priv, { mode: 0o700 });
  chmodSync(priv, 0o700);
  // fd 3 on an executable, run through /proc/self/fd/3: procfs resolves "self" for the reader, so
  // only the tracee's view is right — the helper must not call it missing.
  const script = `exec 3</usr/bin/true; /proc/self/fd/3 && echo fd-exec-ran; PATH=${gone}:${priv}:/usr/bin:/bin env true && echo found-later`;
  const r = warden(['run', '--workspace', ws, '--', '/bin/sh', '-c', script], { cwd: ws, env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fd-exec-ran/, 'an exec through /proc/self/fd ran');
  assert.match(r.stdout, /found-later/);
  const all = events(env);
  const denied = all.filter((e) => e['kind'] === 'exec' && e['decision'] === 'deny').map((e) => e['resource']);
  assert.deepEqual(denied, [join(gone, 'true'), join(priv, 'true')], 'the entries under a missing and a private directory were decided (and audited) by the supervisor');
  assert.equal(all.find((e) => e['kind'] === 'session.end')?.['detail']?.['execMissing'], 0);
});

test('as root, the helper leaves a miss under a directory others cannot search to the supervisor (its credentials see more than the tracee\'s)', { skip: process.getuid?.() !== 0 && 'needs root: the helper only sees more than the tracee when it runs as root' }, () => {
  const { ws, env } = scratch('warden-exec-oracle-');
  // Owned by a uid the sandbox does not map: the tracee (uid 0 in its namespace) cannot search it.
  const hidden = join(ws, 'hidden');
  mkdirSync(join(hidden, 'pub'), { recursive: true });
  chmodSync(join(hidden, 'pub'), 0o755);
  chownSync(hidden, 12345, 12345);
  chmodSync(hidden, 0o700);
  const r = warden(['run', '--workspace', ws, '--', '/bin/sh', '-c', `PATH=${join(hidden, 'pub')}:/usr/bin env true && echo found-later`], { cwd: ws, env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /found-later/);
  const all = events(env);
  assert.equal(all.find((e) => e['kind'] === 'session.end')?.['detail']?.['execMissing'], 0, 'the helper did not answer for the hidden directory');
  assert.ok(all.some((e) => e['kind'] === 'exec' && e['resource'] === join(hidden, 'pub', 'true')), 'the supervisor decided it');
});
