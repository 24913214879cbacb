import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { changes, notice, snapshot } from '../../src/session/persistence-watch.js';
import { tempDir } from '../helpers/tmp.js';

test('changes: created, modified and removed paths, in path order; nothing when nothing changed', () => {
  const before = new Map([
    ['.git/config', 'f:1:10:100'],
    ['.envrc', 'f:2:5:100'],
    ['.mcp.json', 'f:3:5:100'],
  ]);
  const after = new Map([
    ['.git/config', 'f:1:12:200'],
    ['.git/hooks/post-checkout', 'f:4:20:300'],
    ['.mcp.json', 'f:3:5:100'],
  ]);
  assert.deepEqual(changes(before, after), [
    { path: '.envrc', change: 'removed' },
    { path: '.git/config', change: 'modified' },
    { path: '.git/hooks/post-checkout', change: 'created' },
  ]);
  assert.deepEqual(changes(after, after), []);
  assert.equal(notice([]), undefined);
});

test('notice: one line naming at most 8 paths and how many more', () => {
  const many = Array.from({ length: 11 }, (_, i) => ({ path: `.git/hooks/h${i}`, change: 'created' as const }));
  const line = notice(many)!;
  assert.ok(!line.includes('\n'));
  assert.match(line, /^warden: .*\.git\/hooks\/h0 \(created\).*\.git\/hooks\/h7 \(created\), 3 more \(fix: /);
  assert.doesNotMatch(line, /h8 /);
});

test('snapshot: the watched paths only, hook samples aside; a rewrite of the same size is still a change', () => {
  const ws = tempDir('warden-watch-');
  mkdirSync(join(ws, '.git', 'hooks'), { recursive: true });
  writeFileSync(join(ws, '.git', 'hooks', 'pre-commit.sample'), 'sample');
  writeFileSync(join(ws, 'Makefile'), 'all:');
  assert.deepEqual([...snapshot(ws).keys()], [], 'samples and unwatched files are not watched');
  const s0 = snapshot(ws);
  writeFileSync(join(ws, '.git', 'hooks', 'post-merge'), 'a');
  chmodSync(join(ws, '.git', 'hooks', 'post-merge'), 0o755);
  mkdirSync(join(ws, '.vscode'));
  writeFileSync(join(ws, '.vscode', 'tasks.json'), '{}');
  const s1 = snapshot(ws);
  assert.deepEqual(changes(s0, s1).map((c) => `${c.path}:${c.change}`), ['.git/hooks/post-merge:created', '.vscode/tasks.json:created']);
  // Same size, same second: the inode stamp or the nanosecond mtime still differs.
  rmSync(join(ws, '.vscode', 'tasks.json'));
  writeFileSync(join(ws, '.vscode', 'tasks.json'), '[]');
  assert.deepEqual(changes(s1, snapshot(ws)).map((c) => `${c.path}:${c.change}`), ['.vscode/tasks.json:modified']);
});
