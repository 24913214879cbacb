import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * The package's bin, bin/warden.cjs, executed as a program (what npm's bin link does). Its first
 * lines are a shell script that starts Node with NODE_EXTRA_CA_CERTS handed over under another
 * name for `warden run` (Node would otherwise parse that file before any JavaScript runs), and
 * the JavaScript puts it back: the user's environment must arrive unchanged everywhere it goes,
 * and every argument byte must survive the shell.
 *
 * Node reports an unreadable NODE_EXTRA_CA_CERTS on stderr at start-up ("Warning: Ignoring extra
 * certs from ..."): that line is how these tests see whether Node itself loaded the file.
 */

const BIN = join(ROOT, 'bin', 'warden.cjs');
const root = tempDir('warden-bin-');
chmodSync(root, 0o755);
const ws = join(root, 'ws');
mkdirSync(ws, { recursive: true });
const missingCerts = join(root, 'no-such-ca.pem');
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8', NODE_EXTRA_CA_CERTS: missingCerts };
const policy = writeFile(
  root,
  'pass-ca.yaml',
  'version: 1\nextends: coding-agent\nenv:\n  pass: [PATH, NODE_EXTRA_CA_CERTS, WARDEN_HOST_NODE_EXTRA_CA_CERTS]\n',
);
const CERT_WARNING = /Ignoring extra certs/;

function bin(args: string[], e: NodeJS.ProcessEnv = env) {
  const r = spawnSync(BIN, args, { cwd: ws, env: e, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const show = ['--', 'sh', '-c', 'echo "ca=[${NODE_EXTRA_CA_CERTS-unset}] handed=[${WARDEN_HOST_NODE_EXTRA_CA_CERTS-unset}]"'];

test('warden run: Node does not load NODE_EXTRA_CA_CERTS, and the command still gets it unchanged', () => {
  const r = bin(['run', '--policy', policy, ...show]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, CERT_WARNING);
  assert.equal(r.stdout, `ca=[${missingCerts}] handed=[unset]\n`);
});

test('control: started by node itself, or for any other command, Node loads it as before', () => {
  const viaNode = spawnSync(process.execPath, [BIN, 'run', '--policy', policy, ...show], { cwd: ws, env, encoding: 'utf8', timeout: 60_000 });
  assert.match(viaNode.stderr, CERT_WARNING);
  assert.equal(viaNode.stdout, `ca=[${missingCerts}] handed=[unset]\n`);
  const other = bin(['--version']);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stderr, CERT_WARNING);
});

test('set but empty, or not set at all: the command sees exactly that', () => {
  assert.equal(bin(['run', '--policy', policy, ...show], { ...env, NODE_EXTRA_CA_CERTS: '' }).stdout, 'ca=[] handed=[unset]\n');
  const { NODE_EXTRA_CA_CERTS: _drop, ...without } = env;
  assert.equal(bin(['run', '--policy', policy, ...show], without).stdout, 'ca=[unset] handed=[unset]\n');
});

test('every argument reaches the command byte for byte through the shell lines', () => {
  const args = ['a b', '', 'new\nline', '$HOME', '*', "'\"\\", '--', '-e', 'ü'];
  const r = bin(['run', '--', 'sh', '-c', 'for a in "$@"; do printf "<%s>" "$a"; done', 'sh', ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, args.map((a) => `<${a}>`).join(''));
});

test('exit codes pass through the shell lines: the command\'s own, 126 on refusal, 2 on usage', () => {
  assert.equal(bin(['run', '--', 'sh', '-c', 'exit 7']).code, 7);
  assert.equal(bin(['run', '--']).code, 126);
  assert.equal(bin([]).code, 2);
});
