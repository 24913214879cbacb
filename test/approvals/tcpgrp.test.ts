import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadNativeAddon } from '../../src/native-addon.js';
import { ROOT } from '../helpers/cli.js';
import { onPty } from './pty.js';

/**
 * tcgetpgrp/tcsetpgrp of the native addon on a real pty: a node process, session leader of the
 * pty, hands the foreground to a second process group of its session and takes it back from the
 * background. Without SIGTTOU blocked around the ioctl the kernel would stop it there (the test
 * then times out); the thread's signal mask must be as before afterwards; errors carry errno text.
 */

const CHILD = String.raw`
const fs = require('node:fs');
const { spawn } = require('node:child_process');
const m = require(process.argv[1]);
const fd = fs.openSync('/dev/tty', fs.constants.O_RDWR | fs.constants.O_NOCTTY);
const own = Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[2]);
const mask = () => fs.readFileSync('/proc/self/task/' + process.pid + '/status', 'utf8').match(/SigBlk:\s*(\w+)/)[1];
const err = (f) => { try { f(); return 'no error'; } catch (e) { return e.message; } };
const r = { ownAtStart: m.tcgetpgrp(fd) === own };
// A second group of this session: python3 makes its own with setpgid.
const c = spawn('python3', ['-c', 'import os, time; os.setpgid(0, 0); print("ready", flush=True); time.sleep(30)'], { stdio: ['ignore', 'pipe', 'inherit'] });
c.stdout.once('data', () => {
  m.tcsetpgrp(fd, c.pid);
  r.childGot = m.tcgetpgrp(fd) === c.pid;
  const before = mask();
  r.ttouBlockedBefore = (BigInt('0x' + before) >> 21n) & 1n ? true : false; // SIGTTOU = 22
  m.tcsetpgrp(fd, own); // from the background
  r.backToOwn = m.tcgetpgrp(fd) === own;
  r.maskRestored = mask() === before;
  r.otherSession = err(() => m.tcsetpgrp(fd, 1)); // pid 1's group is in another session
  r.noGroup = err(() => m.tcsetpgrp(fd, 2147483647));
  const p = fs.openSync('/proc/self/stat', 'r');
  r.notTty = err(() => m.tcgetpgrp(p));
  r.badArgs = [err(() => m.tcsetpgrp(fd, 0)), err(() => m.tcsetpgrp(-1, own)), err(() => m.tcgetpgrp('x'))];
  console.log('RESULT ' + JSON.stringify(r));
  c.kill();
});
`;

test('the addon loads with tcgetpgrp/tcsetpgrp next to the socket functions', () => {
  const m = loadNativeAddon();
  assert.ok(m, 'the addon is built by npm install');
  assert.equal(typeof m.tcgetpgrp, 'function');
  assert.equal(typeof m.tcsetpgrp, 'function');
});

test('tcsetpgrp hands the foreground to another group and takes it back from the background, not stopped, mask restored', { timeout: 30_000 }, async (t) => {
  const addon = join(ROOT, 'native', 'build', 'warden-fdpass.node');
  const r = onPty([process.execPath, '-e', CHILD, addon], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  t.after(() => r.kill());
  const [, json] = await r.waitFor(/RESULT (\{.*\})/, 20_000);
  const got = JSON.parse(json!) as Record<string, unknown>;
  assert.deepEqual(got, {
    ownAtStart: true,
    childGot: true,
    ttouBlockedBefore: false,
    backToOwn: true,
    maskRestored: true,
    otherSession: 'tcsetpgrp: Operation not permitted',
    noGroup: 'tcsetpgrp: No such process',
    notTty: 'tcgetpgrp: Inappropriate ioctl for device',
    badArgs: ['tcsetpgrp(fd, pgrp): fd >= 0, pgrp > 0', 'tcsetpgrp(fd, pgrp): fd >= 0, pgrp > 0', 'tcgetpgrp(fd)'],
  });
  assert.equal((await r.done).code, 0);
});
