/**
 * The fast-path parser must read every input it accepts exactly as mvdan/sh does (same AST and
 * statement positions, up to how adjacent literal pieces are split), and must refuse everything
 * outside its subset.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ParsedScript } from '../../src/classify/ast.js';
import { fastParse } from '../../src/classify/fastparse.js';
import { createShellParser } from '../../src/classify/parse.js';
import { canonAst } from '../../bench/classify/ast-canon.js';

const full = createShellParser();

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
  'echo $x',
  'echo "$HOME" "a $b c" "$x$y" "x$((i+1))"',
  'cd $HOME/src && make CC=$CC -j2 > $LOG 2>&1',
  '[ "$a" = "$b" ] && echo same || echo differ',
  'x=$y z=$((a + 10 - b)) cmd $x.txt $y:$z a$b=c',
  'i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done',
  'i=0; while [ $i -lt 3 ]; do echo $i; i=$(( i + 1 )); done; echo end;',
  'until [ -f ready ]; do sleep 1; done',
  'while true; do a && b || c | d > e; done',
  'while a; do while b; do c; done; done; x',
  'while x=1 y; do z 2>/dev/null; done',
  'echo while do done; cmd done',
  'a; b && c; d | e;',
  "'while' a; 'do' x",
];

test('fast path agrees with the full parser on a corpus', () => {
  for (const src of CORPUS) {
    const f = fastParse(src);
    assert.ok(f !== null, `should be accepted: ${src}`);
    const m = viaFullParser(src);
    assert.ok(m !== null, src);
    assert.equal(canonAst(f), canonAst(m), src);
  }
});

test('fast path refuses everything with another reading', () => {
  for (const src of ['echo `id`', 'echo a\\ b', 'f() { x; }', 'echo {a,b}', 'a & b', 'echo #c', '! true', 'if true; then x; fi', 'export A=1', 'a[0]=1', 'echo 12>f', 'x <<EOF', 'a |& b', "echo é", 'echo a\nb', 'let x=1', 'declare -x A', 'time ls', 'cat <(ls)']) {
    assert.equal(fastParse(src), null, src);
  }
  // Expansions and loops beyond the subset.
  for (const src of ['echo ${x}', 'echo $1', 'echo $@ $*', 'echo $?', 'echo $$', 'echo $#', 'echo $-', 'echo $!', 'echo $', 'echo "$"', 'echo $(id)', 'echo "$(id)"', 'echo $a[0]', 'echo "$a[1]"', 'echo $a{b,c}', 'echo x{}$a', "echo $'x'", 'echo $"x"',
    'echo $((1*2))', 'echo $((-1))', 'echo $((i++))', 'echo $((a+))', 'echo $(( ))', 'echo $((a)+(b))', 'echo $((a+b)', 'echo $((a+b)))', 'echo $((0x10))', 'echo $((a+$b))', 'echo $[1+2]',
    'while a; do b; done | c', 'while a; do b; done > f', 'while a; do b; done && c', 'a && while b; do c; done', 'a | while b; do c; done', 'while a do b; done', 'while a; do; done', 'while; do a; done',
    'while a; done', 'while a; do b; done x', 'while a; do b done', 'while a; do b', 'do x', 'done', 'x; done', 'for x in a; do b; done', 'while a; do b; done &', 'x=1 while a; do b; done', 'select x in a; do b; done']) {
    assert.equal(fastParse(src), null, src);
  }
});

test('property: whatever the fast path accepts, the full parser reads the same way', () => {
  const word = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9_./:=@%+,~^*?-]{1,8}$/),
    fc.string({ maxLength: 6 }).filter((s) => !s.includes("'") && !s.includes('\n') && !s.includes('\0')).map((s) => `'${s}'`),
    fc.stringMatching(/^[a-z ]{0,6}$/).map((s) => `"${s}"`),
    // Expansions, inside and outside double quotes, glued to other text.
    fc.stringMatching(/^[a-z_]?\$[A-Za-z_][A-Za-z0-9_]{0,3}[.:=@%+,~^*?a-z/-]{0,2}$/),
    fc.stringMatching(/^[a-z ]{0,2}\$[a-z_]{1,3}[ a-z:-]{0,3}$/).map((s) => `"${s}"`),
    fc.stringMatching(/^\$\(\( ?[a-z0-9_]{1,3}( ?[+-] ?[a-z0-9_]{1,3}){0,3} ?\)\)$/),
    fc.stringMatching(/^[a-z]=\$\(\([a-z0-9]{1,2}[+-][0-9]\)\)$/),
  );
  const op = fc.constantFrom(' ', ' | ', ' && ', ' || ', '; ', ' > ', ' 2>&1 ', ' < ', ' >> ');
  const simpleLine = fc.array(fc.tuple(word, op), { minLength: 1, maxLength: 8 }).map((xs) => xs.map(([w, o]) => w + o).join('') + 'x');
  // Loops around such lines, nested, with the separators and reserved words in and out of place.
  const sep = fc.constantFrom('; ', ';', ' ; ', ' ');
  const kw = fc.constantFrom('while', 'until', 'do', 'done', 'while', 'until');
  const loop = fc.tuple(fc.constantFrom('while', 'until'), simpleLine, sep, simpleLine, sep).map(([k, c, s1, b, s2]) => `${k} ${c}${s1}do ${b}${s2}done`);
  const line = fc.oneof(
    simpleLine,
    fc.array(fc.oneof(simpleLine, loop, loop.chain((l) => fc.tuple(simpleLine, sep).map(([b, s]) => `while ${b}${s}do ${l}; done`))), { minLength: 1, maxLength: 3 }).map((xs) => xs.join('; ')),
    fc.array(fc.oneof(word, kw, fc.constantFrom(';', ' ; ', ' | ', ' && ')), { minLength: 1, maxLength: 12 }).map((xs) => xs.join(' ')),
  );
  fc.assert(
    fc.property(line, (src) => {
      const f = fastParse(src);
      if (f === null) return;
      const m = viaFullParser(src);
      assert.ok(m !== null, `fast path accepted what bash rejects: ${src}`);
      assert.equal(canonAst(f), canonAst(m), src);
    }),
    { numRuns: 4000, seed: 11 },
  );
});
