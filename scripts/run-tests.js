#!/usr/bin/env node
// Runs the compiled test suite (dist/test/**/*.test.js) with node's built-in test runner.
//
// Warden must hold both for root and for an ordinary user, so when started as root this runs the
// whole suite twice: once as root, then again as an unprivileged user (created with useradd when
// absent). Set WARDEN_TEST_AS=root or WARDEN_TEST_AS=user to run only one pass.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, mkdtempSync, readdirSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_USER = 'warden-test';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

function testFiles(root) {
  const filter = process.argv.slice(2);
  let files = collect(join(root, 'dist', 'test'), []);
  if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
  if (files.length === 0) {
    console.error('run-tests: no test files found under dist/test');
    process.exit(1);
  }
  return files;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
}

function nodeTestArgs(root) {
  return ['--test', '--test-concurrency=2', '--test-timeout=300000', ...testFiles(root)];
}

function ensureUser() {
  if (spawnSync('id', ['-u', TEST_USER], { stdio: 'ignore' }).status === 0) return;
  const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', TEST_USER], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`run-tests: cannot create the unprivileged test user ${TEST_USER} (useradd failed)`);
    process.exit(1);
  }
}

/** A copy of the built package the test user can read, when the checkout itself is not reachable. */
function userReadableRoot() {
  const probe = spawnSync('runuser', ['-u', TEST_USER, '--', 'test', '-r', join(ROOT, 'package.json')], { stdio: 'ignore' });
  if (probe.status === 0) return { root: ROOT, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'warden-unpriv-'));
  chmodSync(dir, 0o755);
  // Everything but the git metadata: tests read the README, fixtures and sources as well as dist.
  for (const entry of readdirSync(ROOT)) {
    if (entry === '.git') continue;
    try {
      accessSync(join(ROOT, entry), constants.R_OK);
    } catch {
      continue;
    }
    cpSync(join(ROOT, entry), join(dir, entry), { recursive: true, verbatimSymlinks: true });
  }
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  return { root: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const as = process.env.WARDEN_TEST_AS;
const isRoot = process.getuid?.() === 0;
let status = 0;

if (!isRoot || as !== 'user') {
  console.log(`# run-tests: pass as ${isRoot ? 'root' : `uid ${process.getuid?.()}`}`);
  status = run(process.execPath, nodeTestArgs(ROOT), { cwd: ROOT });
}
if (isRoot && as !== 'root' && (status === 0 || as === 'user')) {
  ensureUser();
  const { root, cleanup } = userReadableRoot();
  const home = mkdtempSync(join(tmpdir(), 'warden-test-home-'));
  spawnSync('chown', [TEST_USER, home]);
  console.log(`# run-tests: pass as unprivileged user ${TEST_USER}`);
  const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: process.env.LANG ?? 'C.UTF-8', CI: process.env.CI ?? '' };
  status = run('runuser', ['-u', TEST_USER, '--', process.execPath, ...nodeTestArgs(root)], { cwd: root, env });
  cleanup();
  rmSync(home, { recursive: true, force: true });
}
process.exit(status);
