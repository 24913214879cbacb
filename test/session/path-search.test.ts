/**
 * The command of `warden run` is looked up in PATH by the helper. Every execve in the sandbox is
 * held for the exec mediator, so trying each PATH entry with execve cost one round trip and one
 * audit record ("... does not exist") per entry before the command's own. Entries that do not
 * hold the command are skipped without an exec; the lookup's result must not change.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { workspaceDir, writeFile } from '../helpers/tmp.js';

/** A directory `dir` holding an executable `name` that writes "ran" into its first argument. */
function toolIn(dir: string, name: string): void {
  mkdirSync(dir);
  chmodSync(writeFile(dir, name, '#!/bin/sh\necho ran > "$1"\n'), 0o755);
  chmodSync(dir, 0o755);
}

test('PATH entries without the command cost no exec; the command found later runs', () => {
  const { root, ws } = workspaceDir('warden-path-');
  const bin = join(ws, 'bin');
  toolIn(bin, 'warden-path-tool');
  const notDir = writeFile(ws, 'plain-file', '');
  const path = [join(root, 'missing'), join(notDir, 'sub'), `${bin}`, process.env['PATH'] ?? '/usr/bin:/bin'].join(':');
  const env = { PATH: path, HOME: root, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };

  const r = warden(['run', '--workspace', ws, '--', 'warden-path-tool', join(ws, 'marker')], { cwd: ws, env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(ws, 'marker'), 'utf8'), 'ran\n', 'the tool found in a later entry ran');
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
  const { root, ws } = workspaceDir('warden-path-deny-');
  const one = join(ws, 'one');
  toolIn(one, 'warden-denied-tool');
  symlinkSync(one, join(ws, 'alias')); // like /bin -> usr/bin
  const other = join(ws, 'other');
  toolIn(other, 'warden-denied-tool');
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
