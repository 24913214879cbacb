import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * The coding-agent CLIs people actually wrap, installed from npm, start inside `warden run` under
 * the default profile (plus read access to where they are installed) and print their versions.
 * The install is shared between the root and the unprivileged pass (a 0755 directory under the
 * system temp dir); whoever cannot write it installs a private copy.
 */

const PACKAGES = ['@anthropic-ai/claude-code', '@openai/codex'];

function installDir(): string {
  const shared = join(tmpdir(), 'warden-agent-clis');
  const ready = (d: string) => existsSync(join(d, 'node_modules', '.bin', 'claude')) && existsSync(join(d, 'node_modules', '.bin', 'codex'));
  if (ready(shared)) return shared;
  let dir = shared;
  try {
    mkdirSync(shared, { recursive: true, mode: 0o755 });
    accessSync(shared, constants.W_OK);
  } catch {
    dir = join(tmpdir(), `warden-agent-clis-${process.getuid?.() ?? 'u'}`);
    mkdirSync(dir, { recursive: true });
  }
  if (!ready(dir)) {
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', dir, ...PACKAGES], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, npm_config_cache: join(dir, '.npm-cache') } });
    assert.equal(r.status, 0, `npm install of ${PACKAGES.join(' ')} failed: ${r.stderr}`);
  }
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  return dir;
}

test('claude and codex print their versions inside warden run', { timeout: 900_000 }, () => {
  const dir = installDir();
  const root = tempDir('warden-agents-');
  const ws = join(root, 'ws');
  const home = join(root, 'home');
  mkdirSync(ws, { recursive: true });
  mkdirSync(home, { recursive: true });
  spawnSync('chmod', ['-R', 'a+rwX', root]);
  const policy = writeFile(root, 'agents.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  read: ["${dir}"]\n`);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };
  const claude = warden(['run', '--policy', policy, '--', join(dir, 'node_modules', '.bin', 'claude'), '--version'], { cwd: ws, env });
  assert.equal(claude.code, 0, claude.stderr);
  assert.match(claude.stdout, /\d+\.\d+\.\d+ \(Claude Code\)/);
  const codex = warden(['run', '--policy', policy, '--', join(dir, 'node_modules', '.bin', 'codex'), '--version'], { cwd: ws, env });
  assert.equal(codex.code, 0, codex.stderr);
  assert.match(codex.stdout, /^codex-cli \d+\.\d+\.\d+/m);
});
