/**
 * The command of `warden run` is looked up in PATH by the helper. Every execve in the sandbox is
 * held for the exec mediator, so trying each PATH entry with execve cost one round trip and one
 * audit record ("... does not exist") per entry before the command's own. Entries that do not
 * hold the command are skipped without an exec; the lookup's result must not change.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

test('PATH entries without the command cost no exec; the command found later runs', () => {
  const root = tempDir('warden-path-');
  chmodSync(root, 0o755);
  const ws = join(root, 'ws');
  mkdirSync(ws);
  chmodSync(ws, 0o777);
  const bin = join(ws, 'bin'); // the workspace is visible inside; the host's /tmp is not
  mkdirSync(bin);
  const tool = writeFile(bin, 'warden-path-tool', '#!/bin/sh\necho found-in-bin > "$1"\n');
  chmodSync(tool, 0o755);
  chmodSync(bin, 0o755);
  const notDir = writeFile(ws, 'plain-file', '');
  const path = [join(root, 'missing'), join(notDir, 'sub'), `${bin}`, process.env['PATH'] ?? '/usr/bin:/bin'].join(':');
  const env = { PATH: path, HOME: root, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };

  const r = warden(['run', '--workspace', ws, '--', 'warden-path-tool', join(ws, 'marker')], { cwd: ws, env });
  assert.equal(r.code, 0, r.stderr);
  const shown = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 26 });
  assert.equal(shown.code, 0, shown.stderr);
  const execs = shown.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e['kind'] === 'exec');
  // The tool's own exec and its interpreter's; no record for the two PATH entries before it.
  assert.deepEqual(execs.filter((e) => e['decision'] === 'deny').map((e) => e['detail']?.['reason']), [], 'no exec was tried in an entry without the command');
  assert.ok(execs.some((e) => String(e['resource'] ?? '').endsWith('/warden-path-tool') || JSON.stringify(e).includes('warden-path-tool')), 'the tool itself was mediated');

  const missing = warden(['run', '--workspace', ws, '--', 'warden-no-such-tool'], { cwd: ws, env });
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /command not found: warden-no-such-tool/);
});

test('a refused command is not tried again through another PATH entry to the same file; a different file still is', () => {
  const root = tempDir('warden-path-deny-');
  chmodSync(root, 0o755);
  const ws = join(root, 'ws');
  mkdirSync(ws);
  chmodSync(ws, 0o777);
  const one = join(ws, 'one');
  mkdirSync(one);
  const tool = writeFile(one, 'warden-denied-tool', '#!/bin/sh\necho ran > "$1"\n');
  chmodSync(tool, 0o755);
  chmodSync(one, 0o755);
  symlinkSync(one, join(ws, 'alias')); // like /bin -> usr/bin
  const other = join(ws, 'other');
  mkdirSync(other);
  chmodSync(writeFile(other, 'warden-denied-tool', '#!/bin/sh\necho ran > "$1"\n'), 0o755);
  chmodSync(other, 0o755);
  const policy = writeFile(root, 'deny.yaml', 'version: 1\nextends: coding-agent\ncommands:\n  - id: no-tool\n    match: [warden-denied-tool]\n    decision: deny\n    message: not this tool\n');
  const marker = join(ws, 'marker');
  const denials = (path: string[]) => {
    const env = { PATH: [...path, process.env['PATH'] ?? '/usr/bin:/bin'].join(':'), HOME: root, WARDEN_HOME: join(root, `warden-${path.length}`), LANG: 'C.UTF-8' };
    const r = warden(['run', '--policy', policy, '--workspace', ws, '--', 'warden-denied-tool', marker], { cwd: ws, env });
    assert.equal(r.code, 126, r.stderr);
    assert.ok(!existsSync(marker), 'the denied tool never ran');
    const shown = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 26 });
    const denied = shown.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e['kind'] === 'exec' && e['decision'] === 'deny');
    return { records: denied.length, messages: r.stderr.split('\n').filter((l) => l.includes('not this tool')).length };
  };
  assert.deepEqual(denials([one, join(ws, 'alias')]), { records: 1, messages: 1 }, 'the same file through two entries: asked and refused once');
  assert.deepEqual(denials([one, join(ws, 'alias'), other]), { records: 2, messages: 2 }, 'a different file of that name is still tried (execvp semantics)');
});
