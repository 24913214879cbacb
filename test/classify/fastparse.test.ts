/**
 * The fast-path parser must read every input it accepts exactly as mvdan/sh does (same AST up to
 * how adjacent literal pieces are split), and must refuse everything outside its subset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Part, ParsedScript } from '../../src/classify/ast.js';
import { fastParse } from '../../src/classify/fastparse.js';
import { createShellParser } from '../../src/classify/parse.js';

const full = createShellParser();

/** AST without positions, with adjacent literal parts merged. */
function canon(s: ParsedScript): string {
  const merge = (parts: Part[]): Part[] => {
    const out: Part[] = [];
    for (const p of parts) {
      const last = out[out.length - 1];
      if (p.t === 'lit' && last && last.t === 'lit') out[out.length - 1] = { t: 'lit', v: last.v + p.v };
      else out.push(p.t === 'dq' ? { ...p, parts: merge(p.parts) } : p);
    }
    return out;
  };
  return JSON.stringify(s, (k, v: unknown) => {
    if (k === 'pos' || k === 'end') return undefined;
    if (k === 'parts' && Array.isArray(v)) return merge(v as Part[]);
    return v;
  });
}

function viaFullParser(src: string): ParsedScript | null {
  // A trailing newline is outside the fast subset, so this forces the full parser.
  const r = full.parse(src + '\n');
  return r.ok ? r.script : null;
}

const CORPUS = [
  'git status',
  'npm test -- --watch',
  "grep -rn 'TODO' src | head -20 > out.txt",
  'a=1 b="x y" cmd --flag=v',
  'ls -la 2>/dev/null || echo none && echo done; pwd',
  'cat a b | sort | uniq -c | sort -rn',
  'echo "hello world" > /tmp/x 2>&1',
  'find . -name "*.ts" -exec grep -l x {} +',
  'tar czf dist.tgz dist',
  'FOO+=bar',
  'echo a;',
  "echo ''",
  'echo ""',
  '[ -f x ] && echo y',
  'cmd <in >out 2>>err',
  'cmd &> all.log',
  'cmd >&2',
  'x=~/a y=b:~/c cmd ~',
];

test('fast path agrees with the full parser on a corpus', () => {
  for (const src of CORPUS) {
    const f = fastParse(src);
    assert.ok(f !== null, `should be accepted: ${src}`);
    const m = viaFullParser(src);
    assert.ok(m !== null, src);
    assert.equal(canon(f), canon(m), src);
  }
});

test('fast path refuses everything with another reading', () => {
  for (const src of ['echo $x', 'echo `id`', 'echo a\\ b', 'f() { x; }', 'echo {a,b}', 'a & b', 'echo #c', '! true', 'if true; then x; fi', 'export A=1', 'a[0]=1', 'echo 12>f', 'x <<EOF', 'a |& b', 'echo "$HOME"', "echo é", 'echo a\nb', 'let x=1', 'declare -x A', 'time ls', 'cat <(ls)']) {
    assert.equal(fastParse(src), null, src);
  }
});

test('property: whatever the fast path accepts, the full parser reads the same way', () => {
  const word = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_./:=@%+,~^*?-]{1,8}$/),
    fc.string({ maxLength: 6 }).filter((s) => !s.includes("'") && !s.includes('\n') && !s.includes('\0')).map((s) => `'${s}'`),
    fc.stringMatching(/^[a-z ]{0,6}$/).map((s) => `"${s}"`),
  );
  const op = fc.constantFrom(' ', ' | ', ' && ', ' || ', '; ', ' > ', ' 2>&1 ', ' < ', ' >> ');
  const line = fc.array(fc.tuple(word, op), { minLength: 1, maxLength: 8 }).map((xs) => xs.map(([w, o]) => w + o).join('') + 'x');
  fc.assert(
    fc.property(line, (src) => {
      const f = fastParse(src);
      if (f === null) return;
      const m = viaFullParser(src);
      assert.ok(m !== null, `fast path accepted what bash rejects: ${src}`);
      assert.equal(canon(f), canon(m), src);
    }),
    { numRuns: 2000 },
  );
});
