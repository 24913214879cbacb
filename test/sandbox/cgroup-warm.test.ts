/**
 * keepCgroupMigrationWarm writes our own pid into our own cgroup's cgroup.procs until stopped.
 * What must hold: it never changes which cgroup we are in, it stops (fd closed, no more writes)
 * when told or on the first error, and a missing cgroup costs nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupWarmup, keepCgroupMigrationWarm } from '../../src/sandbox/cgroup-warm.js';
import { cachedProbe } from '../../src/session/probe-cache.js';
import { tempDir } from '../helpers/tmp.js';

const openFds = () => readdirSync('/proc/self/fd').length;

test('rewrites our pid while running; after stop, no write and no fd left', async () => {
  const dir = tempDir('warden-cgwarm-');
  const procs = join(dir, 'cgroup.procs');
  writeFileSync(procs, '');
  const before = openFds();
  const stop = keepCgroupMigrationWarm({ layout: 'v1', mode: 'v1', parents: { memory: dir }, memsw: false, reason: '' });
  await sleep(30);
  assert.match(readFileSync(procs, 'utf8'), new RegExp(`^(${process.pid})+$`), 'our pid, written more than once');
  assert.ok(readFileSync(procs, 'utf8').length > String(process.pid).length, 'rearmed');
  stop();
  await sleep(10); // a write in flight at stop completes and closes the fd
  writeFileSync(procs, '');
  await sleep(30);
  assert.equal(readFileSync(procs, 'utf8'), '', 'nothing written after stop');
  assert.equal(openFds(), before, 'fd closed');
  stop(); // idempotent
});

test('no cgroup, or one that cannot be opened: nothing happens', () => {
  const before = openFds();
  keepCgroupMigrationWarm({ layout: 'none', mode: null, parents: {}, memsw: false, reason: 'none' })();
  const dir = tempDir('warden-cgwarm-');
  rmSync(dir, { recursive: true });
  keepCgroupMigrationWarm({ layout: 'v1', mode: 'v1', parents: { memory: dir }, memsw: false, reason: '' })();
  assert.equal(openFds(), before);
});

test('on the real cgroup: our membership is the same after the loop', async (t) => {
  const report = await cachedProbe(process.env, tempDir('warden-cgwarm-state-'));
  if (!report.cgroup.mode) return t.skip(`no usable cgroup here: ${report.cgroup.reason}`);
  const mine = readFileSync('/proc/self/cgroup', 'utf8');
  const stop = keepCgroupMigrationWarm(report.cgroup);
  await sleep(60);
  stop();
  await sleep(30);
  assert.equal(readFileSync('/proc/self/cgroup', 'utf8'), mine);
});

test('a start-up warm-up that ends before the probe arrives starts no loop (it would keep the process alive)', async () => {
  const dir = tempDir('warden-cgwarm-');
  const procs = join(dir, 'cgroup.procs');
  writeFileSync(procs, '');
  const before = openFds();
  const w = new CgroupWarmup();
  w.stop(); // e.g. the policy failed to load first
  w.start({ layout: 'v1', mode: 'v1', parents: { memory: dir }, memsw: false, reason: '' });
  await sleep(30);
  assert.equal(readFileSync(procs, 'utf8'), '');
  assert.equal(openFds(), before);

  const live = new CgroupWarmup();
  live.start({ layout: 'v1', mode: 'v1', parents: { memory: dir }, memsw: false, reason: '' });
  live.start({ layout: 'v1', mode: 'v1', parents: { memory: dir }, memsw: false, reason: '' }); // one loop only
  await sleep(20);
  live.stop();
  await sleep(10);
  assert.ok(readFileSync(procs, 'utf8').length > 0);
  assert.equal(openFds(), before, 'one loop, closed');
});
