import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { workspaceDir } from '../helpers/tmp.js';

/**
 * A host process that can write the workspace (say, the agent of another session on it) swaps a
 * directory above a deny path with a symlink to a decoy, again and again, while sessions start.
 * Whatever moment each step of a start sees, the deny path must stay masked: a session is refused
 * (the swap was seen) or it starts with the real file masked. Before planning took each path from
 * one walk, a realpath and a separate symlink check could see the two states, and about one start
 * in seven masked the decoy and left the secret readable.
 */

// Exchanges ws/d (the real directory) and ws/x (a symlink to e), atomically, until killed.
const SWAPPER = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
  int w = argc > 1 ? open(argv[1], O_PATH | O_DIRECTORY) : -1;
  if (w < 0) return 1;
  for (;;) if (renameat2(w, "d", w, "x", RENAME_EXCHANGE) < 0) return 2;
}
`;

const { root, ws } = workspaceDir('warden-path-race-');
mkdirSync(join(ws, 'd'));
mkdirSync(join(ws, 'e'));
writeFileSync(join(ws, 'd', 'secret'), 'SECRET\n');
writeFileSync(join(ws, 'e', 'secret'), 'DECOY\n');
symlinkSync('e', join(ws, 'x'));
const policy = join(root, 'policy.yaml');
writeFileSync(policy, ['version: 1', 'filesystem:', '  read: [/usr, /bin, /lib, /lib64, /etc]', `  write: [${ws}]`, `  deny: [${ws}/d/secret]`, ''].join('\n'));
const swapper = join(root, 'swapper');
const cc = spawnSync('cc', ['-O2', '-o', swapper, '-x', 'c', '-'], { input: SWAPPER, encoding: 'utf8' });
assert.equal(cc.status, 0, cc.stderr);

const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };
// Ten reads through the swapping path: some land on d, some on the decoy.
const READS = `for i in 1 2 3 4 5 6 7 8 9 10; do cat ${ws}/d/secret 2>/dev/null; done; true`;

function swapping<T>(fn: () => T): T {
  const s = spawn(swapper, [ws], { stdio: 'ignore' });
  after(() => s.kill('SIGKILL'));
  try {
    return fn();
  } finally {
    s.kill('SIGKILL');
  }
}

test('control: without Warden the reads through the swapping path do reach the secret', () => {
  const out = swapping(() => spawnSync('sh', ['-c', `for k in 1 2 3 4 5; do ${READS}; done`], { encoding: 'utf8' }).stdout);
  assert.match(out, /SECRET/);
  assert.match(out, /DECOY/); // the swap is really happening
});

test('a directory swapped with a symlink while sessions start never unmasks the deny path below it', () => {
  const SESSIONS = 40;
  const seen = { refused: 0, masked: 0 };
  swapping(() => {
    for (let i = 0; i < SESSIONS; i++) {
      const r = warden(['run', '--policy', policy, '--workspace', ws, '--', 'sh', '-c', READS], { cwd: ws, env });
      assert.doesNotMatch(r.stdout, /SECRET/, `session ${i} read the denied file (exit ${r.code}): ${r.stderr}`);
      if (r.code === 126) {
        // The swap was seen: by the planner (a symlink in the writable workspace, or a path that
        // changed while it was resolved) or by the helper's walk (a symlink where a directory was).
        assert.match(r.stderr, /reached through the symlink|changed while it was being resolved|Too many levels of symbolic links/, r.stderr);
        seen.refused++;
      } else {
        assert.equal(r.code, 0, r.stderr);
        seen.masked++;
      }
    }
  });
  // Both outcomes occur, or the test did not exercise what it is about.
  assert.ok(seen.masked > 0 && seen.refused > 0, JSON.stringify(seen));
});
