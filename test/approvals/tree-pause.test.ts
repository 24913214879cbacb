import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sandboxTreePause } from '../../src/approvals/tree-pause.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The tree pause on real processes: a stand-in "init" (this test's child) with a shell-like
 * process under it that waits for its job with WUNTRACED, as a job-control shell does. However
 * often the tree is paused and continued, the waiter must never see its job stopped; the job's
 * process group is the tree's while it exists.
 */
const TREE = String.raw`
import os, sys, time
out = sys.argv[1]
if os.fork() == 0:
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        while True:
            time.sleep(0.0005)
    with open(out + '.job', 'w') as f:
        f.write(str(job))
    while True:
        _, st = os.waitpid(job, os.WUNTRACED | os.WCONTINUED)
        if os.WIFSTOPPED(st):
            with open(out, 'a') as f:
                f.write('stopped\n')
        elif not os.WIFCONTINUED(st):
            sys.exit(0)
os.wait()
`;

test('pausing stops a parent before its children: a waiting shell never sees its job stopped; group() tells the job\'s group live, then gone', { timeout: 60_000 }, async (t) => {
  const out = join(tempDir('warden-pause-'), 'seen');
  const init = spawn('python3', ['-c', TREE, out], { stdio: 'ignore' });
  t.after(() => init.kill('SIGKILL'));
  // Ready when the job's pid is written out and the job leads its own group (the file is created
  // before it is written, and the job calls setpgid on its own schedule).
  const pgrpOf = (pid: number): number => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[2]);
    } catch {
      return -1;
    }
  };
  const end = Date.now() + 10_000;
  let job = 0;
  while (Date.now() < end) {
    job = existsSync(`${out}.job`) ? Number(readFileSync(`${out}.job`, 'utf8')) : 0;
    if (job > 0 && pgrpOf(job) === job) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(job > 0 && pgrpOf(job) === job, 'the stand-in tree came up');
  const pause = sandboxTreePause(async () => init.pid!);
  for (let i = 0; i < 60; i++) {
    const paused = await pause.pause();
    assert.equal(paused.group(job), 'live', 'the job\'s group is the tree\'s');
    assert.equal(paused.group(process.pid), undefined, 'the test runner\'s own pid is no group of the tree');
    paused.resume();
    await new Promise((r) => setTimeout(r, 3));
  }
  const paused = await pause.pause();
  process.kill(-job, 'SIGKILL'); // from outside, while paused
  const gone = Date.now() + 5_000;
  while (paused.group(job) === 'live' && Date.now() < gone) await new Promise((r) => setTimeout(r, 10));
  assert.equal(paused.group(job), 'gone', 'killed meanwhile: a zombie (its waiter is paused) is no live member');
  paused.resume();
  assert.equal(existsSync(out) ? readFileSync(out, 'utf8') : '', '', 'the waiter never saw its job stopped');
});
