import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileGlob, GlobError } from '../../src/policy/glob.js';

test('path globs: * stays within a segment, ** crosses segments', () => {
  const g = compileGlob('/home/*/.ssh', '/');
  assert.ok(g.test('/home/u/.ssh'));
  assert.ok(!g.test('/home/a/b/.ssh'));
  const gg = compileGlob('/**/.env', '/');
  assert.ok(gg.test('/.env'));
  assert.ok(gg.test('/a/b/c/.env'));
  assert.ok(!gg.test('/a/b/c/.env.example'));
  assert.ok(compileGlob('/a/**/b', '/').test('/a/b'));
  assert.ok(compileGlob('/a/**/b', '/').test('/a/x/y/b'));
  assert.ok(!compileGlob('/a/?', '/').test('/a/'));
  assert.ok(!compileGlob('/a/?', '/').test('/a//'));
});

test('classes, negation, braces and escapes', () => {
  assert.ok(compileGlob('/k/id_[rd]sa', '/').test('/k/id_rsa'));
  assert.ok(!compileGlob('/k/id_[rd]sa', '/').test('/k/id_xsa'));
  assert.ok(compileGlob('/k/[!a]', '/').test('/k/b'));
  assert.ok(!compileGlob('/k/[!a]', '/').test('/k/a'));
  assert.ok(!compileGlob('/k[!a]x', '/').test('/k/x'), 'a negated class never matches the separator');
  assert.ok(compileGlob('*.{yml,yaml}', null).test('a.yaml'));
  assert.ok(!compileGlob('*.{yml,yaml}', null).test('a.json'));
  const lit = compileGlob('a\\*b', null);
  assert.ok(lit.literal);
  assert.ok(lit.test('a*b'));
  assert.ok(!lit.test('axb'));
});

test('flat globs (argv, tool names) let * match anything', () => {
  assert.ok(compileGlob('--force*', null).test('--force-with-lease'));
  assert.ok(compileGlob('fs_*', null).test('fs_write/x'));
});

test('malformed globs are errors with a column, never silently literal', () => {
  for (const [pat, col] of [
    ['/a/[bc', 4],
    ['/a/{b,c', 4],
    ['/a/b}', 5],
    ['/a/\\', 4],
    ['[z-a]', 1],
  ] as const) {
    assert.throws(() => compileGlob(pat, '/'), (e: unknown) => e instanceof GlobError && e.column === col, pat);
  }
  assert.throws(() => compileGlob('{'.repeat(20) + '}'.repeat(20), null), GlobError);
  assert.throws(() => compileGlob('a'.repeat(5000), null), GlobError);
});

test('specificity counts literal characters', () => {
  assert.ok(compileGlob('/home/u/.ssh', '/').literalChars > compileGlob('/home/*/.ssh', '/').literalChars);
});
