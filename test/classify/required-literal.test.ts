/**
 * requiredLiteral(glob) is the prefilter of the path knowledge base: a rule's regex is tested only
 * on paths that contain it. If it ever named characters a match need not contain, a secret path
 * would silently stop being classified. Checked here on hand-picked globs and, for every glob of
 * the knowledge base, on many random strings built to match it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globToRegexSource, requiredLiteral, UNKNOWN } from '../../src/classify/glob.js';
import { NOT_SECRET_BASENAMES, PATH_RULES, SECRET_BASENAMES } from '../../src/classify/kb/paths.js';
import { PathKb } from '../../src/classify/pathkb.js';

test('literal runs end at every construct that is not a literal character', () => {
  const cases: Array<[string, string]> = [
    ['/etc/shadow', '/etc/shadow'],
    ['**/x', 'x'], // `**/` may match nothing: its `/` is not required
    ['a/**/bcd', 'bcd'],
    ['/proc/*/environ', '/environ'],
    ['[ab]cd', 'cd'],
    ['x[', 'x['], // an unclosed class is literal
    ['\\*secret', '*secret'], // an escaped wildcard is literal
    [`ab${UNKNOWN}cde`, 'cde'],
    ['?', ''],
    ['*.pem', '.pem'],
  ];
  for (const [glob, want] of cases) assert.equal(requiredLiteral(glob), want, glob);
  assert.equal(requiredLiteral('~/.ssh/id_*'), '~/.ssh/id_', 'the tilde is literal to the glob function; PathKb passes the body after it');
});

/** A random string matching `glob` in path mode (the reading PathKb uses). */
function instantiate(glob: string, rnd: () => number): string {
  const seg = (): string => ['', 'a', 'xyz', 'id_rsa', '.hidden', 'k.pem', 'v1.2'][Math.floor(rnd() * 7)]!;
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        if (glob[i + 2] === '/') {
          out += rnd() < 0.4 ? '' : `${seg() || 'd'}/${rnd() < 0.5 ? 'e/' : ''}`;
          i += 2;
        } else {
          out += rnd() < 0.5 ? seg() : `${seg()}/${seg()}`;
          i++;
        }
      } else out += seg();
    } else if (c === '?') out += 'q';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) out += c;
      else {
        const body = glob.slice(i + 1, close);
        out += body.startsWith('!') || body.startsWith('^') ? '~' : body[0] === '\\' ? body[1] ?? 'z' : body[0]!;
        i = close;
      }
    } else if (c === '\\' && i + 1 < glob.length) out += glob[++i]!;
    else out += c;
  }
  return out;
}

test('every string that matches a knowledge-base glob contains its required literal', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const globs = [...PATH_RULES.map((r) => (r.glob.startsWith('~') ? r.glob.slice(1) : r.glob)), ...SECRET_BASENAMES.map((b) => b.glob), ...NOT_SECRET_BASENAMES];
  let matched = 0;
  for (const glob of globs) {
    const re = new RegExp(`^${globToRegexSource(glob, true)}$`);
    const lit = requiredLiteral(glob);
    for (let k = 0; k < 200; k++) {
      const s = instantiate(glob, rnd);
      if (!re.test(s)) continue; // e.g. a `*` given a `/`; only real matches count
      matched++;
      assert.ok(s.includes(lit), `${JSON.stringify(s)} matches ${glob} but lacks ${JSON.stringify(lit)}`);
    }
  }
  assert.ok(matched > globs.length * 100, `enough real matches (${matched})`);
});

test('the knowledge base classifies its own examples as before (every rule still reachable)', () => {
  const kb = new PathKb({ home: '/home/dev', workspace: '/home/dev/project' });
  for (const r of PATH_RULES) {
    for (const ex of r.examples ?? (/[*?[]/.test(r.glob) ? [] : [r.glob])) {
      const path = ex.startsWith('~') ? `/home/dev${ex.slice(1)}` : ex;
      const got = kb.classify(path);
      for (const c of r.classes) assert.ok(got.classes.has(c), `${path}: ${c} (rule ${r.glob}) in ${[...got.classes]}`);
    }
  }
  assert.ok(kb.classify('/home/dev/project/.env').classes.has('secret'));
  assert.ok(kb.classify('/home/dev/project/server.pem').classes.has('secret'));
  assert.deepEqual([...kb.classify('/usr/bin/true').classes], ['system-bin']);
  assert.equal(kb.classify('/home/dev/project/src/main.ts').classes.size, 0);
});
