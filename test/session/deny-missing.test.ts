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
import { workspaceDir } from '../helpers/tmp.js';

/**
 * A literal deny path that does not exist when the session is planned is still planned, where it
 * would be: a file that appears before the helper builds the mount tree (the user saving a token
 * as a session starts, or something racing the planner) is masked like one that was always there.
 * Before, such a path was dropped at planning and the file stayed readable for the whole session.
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
