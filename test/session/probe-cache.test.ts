/**
 * The kernel probe is cached in Warden's state. It reports this process's own cgroup directories,
 * so an entry written from one cgroup must not be used from another: a new terminal, service or
 * CI job is often in a different cgroup, and a stale entry made every later `warden run` refuse
 * ("cannot create .../old-cgroup/warden-N"). Root-only: it needs a cgroup it can create and enter.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WARDEN_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** A directory of this process's cgroup in which a child cgroup can be made (v1 memory or v2). */
function ownCgroupDir(): string | null {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    for (const dir of controllers === 'memory' ? [`/sys/fs/cgroup/memory${path}`] : controllers === '' ? [`/sys/fs/cgroup/unified${path}`, `/sys/fs/cgroup${path}`] : []) {
      try {
        readdirSync(dir);
        return dir;
      } catch {
        /* not mounted there */
      }
    }
  }
  return null;
}

test('a probe cached in one cgroup is not reused from another', (t) => {
  const parent = process.getuid?.() === 0 ? ownCgroupDir() : null;
  if (!parent) return t.skip('needs root and a cgroup hierarchy of its own');
  const home = tempDir('warden-probe-cache-');
  const env = { ...process.env, WARDEN_HOME: home };
  const run = (cgroup: string | null) =>
    spawnSync('sh', ['-c', `${cgroup ? `echo $$ > "${cgroup}/cgroup.procs" && ` : ''}exec "$0" "$1" run -- true`, process.execPath, WARDEN_BIN], { env, encoding: 'utf8', timeout: 60_000 });

  const first = run(null);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(readdirSync(join(home, 'state', 'cache')).filter((f) => f.startsWith('probe-')).length, 1, 'the first run cached its probe');

  const moved = join(parent, `warden-probe-cache-${process.pid}`);
  mkdirSync(moved);
  try {
    const second = run(moved);
    assert.equal(second.status, 0, `a run from another cgroup must plan with its own cgroup: ${second.stderr}`);
    assert.equal(readdirSync(join(home, 'state', 'cache')).filter((f) => f.startsWith('probe-')).length, 2, 'the second run probed afresh');
  } finally {
    rmdirSync(moved);
  }
});
