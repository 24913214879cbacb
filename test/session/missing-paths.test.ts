import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { wardenDirs } from '../../src/paths.js';
import { loadPolicy } from '../../src/policy/load.js';
import { expandGlobs } from '../../src/session/fs-expand.js';
import { specFromPolicy } from '../../src/session/spec-from-policy.js';
import { fileLinkCount, HostPathView, isRegularFile } from '../../src/sandbox/host-paths.js';
import { buildPlan } from '../../src/sandbox/plan.js';
import { probe, runSandboxed } from '../sandbox/harness.js';
import { ROOT } from '../helpers/cli.js';
import { workspaceDir } from '../helpers/tmp.js';

/**
 * Paths a policy names that do not exist when the session is planned.
 *
 * A literal deny path is still planned, where it would be: a file that appears before the helper
 * builds the mount tree (the user saving a token as a session starts, or something racing the
 * planner) is masked like one that was always there. Before, such a path was dropped at planning
 * and the file stayed readable for the whole session.
 *
 * An ask zone named through a symlink (outside the write grants) is planned by its real location
 * and asked about by both names. Before, its name was handed to the helper as a mask, whose
 * no-symlink walk refused the whole session.
 */

const SECRET = 'TOKEN-THAT-ARRIVED-LATE';

test('a deny path missing at planning and created before the mount is masked (also under a directory reached through a symlink)', async () => {
  const { root, ws } = workspaceDir('warden-deny-missing-');
  // A read-only data directory named through a symlink outside every write grant: its denied file
  // is planned by its real location.
  const data = join(root, 'data');
  mkdirSync(data);
  symlinkSync(data, join(root, 'data-link'));
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, ['version: 1', 'filesystem:', '  read: [/usr, /bin, /lib, /lib64, /etc, ' + data + ']', `  write: [${ws}]`, `  deny: [${ws}/later/token, ${ws}/soon.txt, ${root}/data-link/key]`, ''].join('\n'));
  const env = { HOME: root, WARDEN_HOME: join(root, 'warden'), PATH: '/usr/bin:/bin' };
  const { policy } = await loadPolicy({ file: policyFile, workspace: ws, home: root, cwd: ws });
  const paths = new HostPathView();
  const reads = `cat ${ws}/later/token ${ws}/soon.txt ${data}/key`;
  const spec = specFromPolicy(
    { policy, argv: ['/bin/sh', '-c', `${reads}; true`], cwd: ws, hostEnv: env, allowDegraded: [], interactive: false, dirs: wardenDirs(env) },
    { resolve: paths.resolve, symlinksOn: paths.symlinksOn, fileLinks: fileLinkCount, isFile: isRegularFile, expandGlobs, totalMemoryBytes: totalmem() },
  );
  const plan = buildPlan(spec, await probe());
  const masks = plan.mounts.filter((m) => m.op === 'mask').map((m) => m.dst);
  for (const p of [`${ws}/later/token`, `${ws}/soon.txt`, `${data}/key`]) assert.ok(masks.includes(p), `${p} is planned as a mask: ${JSON.stringify(masks)}`);

  // The files appear after the planning, before the launch.
  mkdirSync(join(ws, 'later'));
  for (const f of [join(ws, 'later', 'token'), join(ws, 'soon.txt'), join(data, 'key')]) writeFileSync(f, `${SECRET}\n`);
  const control = spawnSync('/bin/sh', ['-c', reads], { encoding: 'utf8' });
  assert.equal(control.stdout.split(SECRET).length - 1, 3, 'without Warden all three are readable');

  const r = await runSandboxed(spec, { plan });
  assert.equal(r.result.exitCode, 0, r.stderr);
  assert.doesNotMatch(r.stdout, new RegExp(SECRET), 'a file created after planning is masked');
});

test('an ask zone named through a symlink and missing at the start: the session runs, and a file that appears there is not read without a yes, by either name', () => {
  const { root, ws } = workspaceDir('warden-ask-missing-');
  // A readable directory that holds the data and a symlink to it (both names inside the grant).
  const pub = join(root, 'pub');
  const data = join(pub, 'data');
  mkdirSync(data, { recursive: true });
  symlinkSync(data, join(pub, 'data-link'));
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, ['version: 1', 'filesystem:', `  read: [/usr, /bin, /lib, /lib64, /etc, ${pub}]`, `  write: [${ws}]`, `  ask: [${pub}/data-link/secret]`, 'approvals:', '  timeout: 1', ''].join('\n'));
  const env = { HOME: root, WARDEN_HOME: join(root, 'warden'), PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };
  // The file appears while the session runs (the host writes it once the sandboxed script says
  // it has started); nobody approves (the one-second timeout denies).
  const go = join(ws, 'started');
  const script = `touch ${go}; while [ ! -e ${data}/secret ]; do sleep 0.02; done; cat ${pub}/data-link/secret ${data}/secret; true`;
  const host = `(while [ ! -e ${go} ]; do sleep 0.02; done; echo ${SECRET} > ${data}/secret) & exec "$@"`;
  const run = spawnSync('/bin/sh', ['-c', host, 'sh', process.execPath, join(ROOT, 'bin', 'warden.cjs'), 'run', '--policy', policyFile, '--workspace', ws, '--', '/bin/sh', '-c', script], { cwd: ws, env, encoding: 'utf8', input: '', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stdout, new RegExp(SECRET), `read without a yes: ${run.stderr}`);
  assert.match(run.stderr, /not approved/, run.stderr);
  // Control: the file did arrive and is readable without Warden.
  assert.equal(spawnSync('/bin/cat', [join(pub, 'data-link', 'secret')], { encoding: 'utf8' }).stdout.trim(), SECRET);
});

test('an ask zone where a file stands now: the session runs, and the zone is still asked about once it can exist', () => {
  const { root, ws } = workspaceDir('warden-ask-blocked-');
  writeFileSync(join(ws, 'blob'), 'a file where the zone\'s directory would be\n');
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, ['version: 1', 'filesystem:', '  read: [/usr, /bin, /lib, /lib64, /etc]', `  write: [${ws}]`, `  ask: [${ws}/blob/key]`, 'approvals:', '  timeout: 1', ''].join('\n'));
  const env = { HOME: root, WARDEN_HOME: join(root, 'warden'), PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };
  // Nothing can be masked there at the start; the zone is asked about by its name all the same.
  const script = 'rm blob; mkdir blob; echo written > blob/key; cat blob/key; true';
  const run = spawnSync(process.execPath, [join(ROOT, 'bin', 'warden.cjs'), 'run', '--policy', policyFile, '--workspace', ws, '--', '/bin/sh', '-c', script], { cwd: ws, env, encoding: 'utf8', input: '', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /approval needed .* for write/, run.stderr);
  assert.doesNotMatch(run.stdout, /written/, 'the zone was not asked about');
});
