import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { warden } from '../helpers/cli.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * Issue #5's "realistic agent-like session": one `warden run` of a bash script that does what a
 * coding agent does all day — a git repository, an npm package with scripts, node and python
 * tools, text processing, a C build with make and cc — ~200 commands under a policy of 30 command
 * rules. Checked from the host afterwards:
 *   - the session's own work succeeded (the built program runs, the commits are in the log);
 *   - what the deny and steer rules refused did not happen (each has a host-visible effect, and
 *     the same script run without Warden shows that effect: the control);
 *   - EVERY exec the tree performed is in the audit log: the script logs each command it starts
 *     (through `x`, which is builtins only, so it execs nothing itself) with the rule it expects,
 *     and each of those has its own audit record with that rule and decision; and the total number
 *     of exec records, plus the PATH misses the helper answered itself (counted in the end
 *     record), equals the number of execve/execveat calls the same script makes without Warden,
 *     counted by strace — so the execs of make, cc, npm, git and the tools' own children are all
 *     there too.
 * The refused commands are leaves (they exec nothing themselves) and come last, so the tree
 * without Warden performs exactly the same execs.
 */

const root = tempDir('warden-agent-');
chmodSync(root, 0o755);
const home = join(root, 'home');
mkdirSync(home, { recursive: true });
// A fixed PATH, so the execs (and execvp's misses) are the same with and without Warden.
const PATH = [...new Set([dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'])].join(':');
const env = { PATH, HOME: home, WARDEN_HOME: join(root, 'warden'), LANG: 'C.UTF-8' };

interface Rule {
  id: string;
  match: string[];
  decision: 'allow' | 'warn' | 'deny' | 'steer' | 'approve';
  steer?: string;
}

// 30 rules: programs and argument patterns, of every decision kind. The approve rules name
// commands the session never runs (nobody answers here; the test checks nothing was asked).
const RULES: Rule[] = [
  { id: 'git-status', match: ['git', 'status', '**'], decision: 'allow' },
  { id: 'git-log', match: ['git', 'log', '**'], decision: 'allow' },
  { id: 'git-diff', match: ['git', 'diff', '**'], decision: 'allow' },
  { id: 'git-add', match: ['git', 'add', '**'], decision: 'allow' },
  { id: 'make', match: ['make', '**'], decision: 'allow' },
  { id: 'node-scripts', match: ['node', 'scripts/*.js', '**'], decision: 'allow' },
  { id: 'python-tools', match: ['python3', 'tools/*.py', '**'], decision: 'allow' },
  { id: 'grep', match: ['grep', '**'], decision: 'allow' },
  { id: 'ls', match: ['ls', '**'], decision: 'allow' },
  { id: 'cc-compile', match: ['cc', '-c', '**'], decision: 'allow' },
  { id: 'git-amend', match: ['git', 'commit', '**', '--amend'], decision: 'warn' },
  { id: 'sed-in-place', match: ['sed', '-i', '**'], decision: 'warn' },
  { id: 'rm-recursive', match: ['rm', '-r', '**'], decision: 'warn' },
  { id: 'chmod', match: ['chmod', '**'], decision: 'warn' },
  { id: 'npm-run', match: ['npm', 'run', '**'], decision: 'warn' },
  { id: 'node-eval', match: ['node', '-e', '**'], decision: 'warn' },
  { id: 'no-touch-markers', match: ['touch', 'm/*'], decision: 'deny' },
  { id: 'no-dd', match: ['dd', '**'], decision: 'deny' },
  { id: 'no-git-clean', match: ['git', 'clean', '**'], decision: 'deny' },
  { id: 'no-reset-hard', match: ['git', 'reset', '--hard', '**'], decision: 'deny' },
  { id: 'no-python-c', match: ['python3', '-c', '**'], decision: 'deny' },
  { id: 'no-node-write', match: ['node', '-e', '*writeFileSync*'], decision: 'deny' },
  { id: 'no-chmod-777', match: ['chmod', '777', '**'], decision: 'deny' },
  { id: 'no-move-git', match: ['mv', '.git', '**'], decision: 'deny' },
  { id: 'no-copy-to-m', match: ['cp', '**', 'm/*'], decision: 'deny' },
  { id: 'rm-rf', match: ['rm', '-rf', '**'], decision: 'steer', steer: 'rm -r' },
  { id: 'discard-changes', match: ['git', 'checkout', '--', '**'], decision: 'steer', steer: 'git stash push' },
  { id: 'find-delete', match: ['find', '**', '-delete'], decision: 'steer', steer: 'find . -name PATTERN -print' },
  { id: 'ask-terraform', match: ['terraform', 'apply', '**'], decision: 'approve' },
  { id: 'ask-publish', match: ['npm', 'publish', '**'], decision: 'approve' },
];
const BY_ID = new Map(RULES.map((r) => [r.id, r]));
/**
 * Allow rules on a name the program is reached by only as an alias (python3 -> python3.11,
 * cc -> x86_64-linux-gnu-gcc-12): the exec mediator applies an alias's rule only when it is
 * stricter than the decision for the real file, so these are decided by the classifier
 * (`classify.*`, allow or warn) while the hook layer applies the rule (reported: the layers differ).
 */
const VIA_ALIAS = new Set(['python-tools', 'cc-compile']);

const POLICY = writeFile(
  root,
  'agent.yaml',
  `version: 1\nextends: coding-agent\ncommands:\n${RULES.map((r) => `  - {id: ${r.id}, match: ${JSON.stringify(r.match)}, decision: ${r.decision}${r.steer ? `, steer: ${JSON.stringify(r.steer)}` : ''}}\n`).join('')}`,
);

// `x RULE PROGRAM ARGS...` logs the command with the rule it expects ('-': none of the 30, so the
// profile's defaults and the classifier decide), then runs it. Builtins only: no exec of its own.
// Arguments hold no newline or \x1f (the log's separators). Refused commands come last, and are
// leaves, so the tree does the same execs whether or not they run.
const SESSION = String.raw`
set -u
LOG=$PWD/.session-log
: > "$LOG"
x() {
  local line
  printf -v line '%s\x1f' "$@"
  printf '%s\n' "$line" >> "$LOG"
  shift
  "$@"
}
export GIT_AUTHOR_NAME=agent GIT_AUTHOR_EMAIL=agent@example.invalid GIT_COMMITTER_NAME=agent GIT_COMMITTER_EMAIL=agent@example.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_PAGER=cat PAGER=cat NO_COLOR=1

# ---- a repository and a C project ----
x - mkdir -p src include scripts tools test docs m build/tmp
x git-status git status 2>/dev/null
x - git init -q -b main
x - git config core.autocrlf false
printf '%s\n' build/ node_modules/ '*.o' '*.tmp' .session-log m/ > .gitignore
x - cat .gitignore
printf '# demo\n\nA small demo project.\n' > README.md
printf 'notes\n' > docs/notes.md
x - cat > include/util.h <<'EOF'
#ifndef UTIL_H
#define UTIL_H
int add(int a, int b);
int mul(int a, int b);
#endif
EOF
x - cat > src/util.c <<'EOF'
#include "util.h"
int add(int a, int b) { return a + b; }
int mul(int a, int b) { return a * b; }
EOF
x - cat > src/main.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "util.h"
#include "version.h"
int main(int argc, char **argv) {
  int a = argc > 1 ? atoi(argv[1]) : 0, b = argc > 2 ? atoi(argv[2]) : 0;
  printf("app %s: %d %d\n", VERSION, add(a, b), mul(a, b));
  return 0;
}
EOF
printf 'CC = cc\nCFLAGS = -O2 -Wall -Iinclude\nbuild/app: build/main.o build/util.o\n\t$(CC) -o $@ $^\nbuild/%%.o: src/%%.c include/util.h include/version.h\n\t$(CC) -c $(CFLAGS) -o $@ $<\nclean:\n\trm -f build/*.o build/app\ncheck: build/app\n\t./build/app 3 4\n.PHONY: clean check\n' > Makefile
x - head -n 4 Makefile
x ls ls -la
x git-add git add -A
x git-status git status --short
x - git commit -q -m 'C skeleton'

# ---- an npm package with scripts ----
printf 'update-notifier=false\nfund=false\naudit=false\n' > .npmrc
x - npm init -y --silent >/dev/null
x - cat > scripts/setup-pkg.js <<'EOF'
const fs = require('fs');
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
pkg.name = 'demo';
pkg.version = '0.1.0';
pkg.scripts = { gen: 'node scripts/gen.js', test: 'node test/run.js', lint: 'grep -n TODO src/main.c src/util.c || true', count: 'wc -l src/main.c src/util.c' };
fs.writeFileSync('package.json', JSON.stringify(pkg, null, 2) + '\n');
EOF
x - cat > scripts/gen.js <<'EOF'
const fs = require('fs');
const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8'));
fs.writeFileSync('include/version.h', '#define VERSION "' + version + '"\n');
console.log('generated include/version.h for', version);
EOF
x - cat > test/run.js <<'EOF'
const { execFileSync } = require('child_process');
const out = execFileSync('./build/app', ['6', '7'], { encoding: 'utf8' });
if (!/: 13 42$/m.test(out)) { console.error('unexpected:', out); process.exit(1); }
console.log('test ok:', out.trim());
EOF
x node-scripts node scripts/setup-pkg.js
x node-eval node -e 'console.log(require("./package.json").scripts.gen)'
x npm-run npm run --silent gen
x - cat include/version.h
x make make -s
x make make -s check
x npm-run npm run --silent test
x npm-run npm run --silent lint
x npm-run npm run --silent count
x - ./build/app 2 5
x git-add git add -A
x - git commit -q -m 'npm scripts and generated version'

# ---- python tools ----
x - cat > tools/stats.py <<'EOF'
import pathlib, sys
rows = []
for p in sorted(pathlib.Path('.').glob(sys.argv[1])):
    rows.append((p.as_posix(), sum(1 for _ in p.open())))
for name, n in rows:
    print(f'{n:4d} {name}')
print(f'{sum(n for _, n in rows):4d} total')
EOF
x - cat > tools/check_json.py <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
missing = [k for k in ('name', 'version', 'scripts') if k not in data]
print('ok' if not missing else 'missing: ' + ', '.join(missing))
sys.exit(1 if missing else 0)
EOF
x - cat > tools/run_app.py <<'EOF'
import subprocess
for a, b in ((1, 2), (3, 4), (10, 20)):
    out = subprocess.run(['./build/app', str(a), str(b)], capture_output=True, text=True, check=True).stdout
    print(out.strip())
EOF
x python-tools python3 tools/stats.py 'src/*.c'
x python-tools python3 tools/stats.py 'include/*.h'
x python-tools python3 tools/check_json.py package.json
x python-tools python3 tools/run_app.py
x python-tools python3 tools/stats.py '*/*.js' > docs/js-stats.txt
x - tail -n 1 docs/js-stats.txt
x git-add git add tools docs
x - git commit -q -m 'python tools'

# ---- looking around the code, as an agent does ----
x grep grep -rn include src
x grep grep -c int src/util.c
x grep grep -l VERSION src/main.c include/version.h
x - sed -n 1,3p src/main.c
x - awk '/int/ { n++ } END { print n, "lines with int" }' src/main.c src/util.c
x - find . -name '*.c' -not -path './node_modules/*'
x - find src include -type f -name '*.[ch]' -print0 | x - xargs -0 wc -l
x - sort -r .gitignore
x - cut -d: -f1 /etc/hostname
x - tr a-z A-Z < README.md
x - head -c 40 package.json
x - tail -n 3 src/util.c
x - wc -c README.md
x - git ls-files | x - sort | x - uniq -c | x - sort -rn | x - head -n 5
x - git ls-files | x grep grep -c .
x ls ls src include
for f in src/main.c src/util.c include/util.h include/version.h package.json Makefile; do
  x grep grep -c . "$f"
  x - wc -l "$f"
  x - head -n 1 "$f"
done
for i in 1 2 3 4 5 6 7 8; do
  x - ./build/app "$i" "$((i * 2))"
done

# ---- a feature branch: edit, rebuild, test, merge ----
x - git branch feature
x - git switch -q feature
x sed-in-place sed -i '1i // utilities' src/util.c
x git-diff git diff --stat
x git-diff git diff src/util.c
x - cat > src/extra.c <<'EOF'
int square(int a) { return a * a; }
EOF
x cc-compile cc -c -O2 -Wall -Iinclude -o build/extra.o src/extra.c
x - nm build/extra.o
x rm-recursive rm -r build/tmp
x - mkdir -p build/tmp
x make make -s
x npm-run npm run --silent test
x git-add git add -A
x - git commit -q -m 'feature: a header comment and square()'
x git-log git log --oneline
x - git switch -q main
x - git merge -q --no-edit feature
x git-log git log --oneline --graph
x - git show --stat --format=%s HEAD
x - git tag v0.1
x - git rev-parse --short HEAD
x - git branch --list
x git-log git log -1 --format=%an
x make make -s clean
x make make -s
x make make -s check
for n in 1 2 3; do
  printf 'change %s\n' "$n" >> docs/notes.md
  x git-diff git diff --stat
  x git-add git add docs/notes.md
  x - git commit -q -m "notes $n"
done
x git-amend git commit -q --amend -m 'notes 3 (amended)'
x chmod chmod 755 build/app
x node-eval node -e 'console.log(process.argv.length)' a b
x - node --version
x - python3 --version
x - cp README.md docs/README.copy
x - mv docs/README.copy docs/README.old
x - rm docs/README.old
x - mkdir -p scratch/a/b
x - touch scratch/a/b/file.tmp scratch/c.tmp
x ls ls -R scratch
x - diff -u README.md README.md
x - cmp Makefile Makefile
x - date -u +%Y
x - env
x - uname -s
x - id -u
x - nproc
x - basename src/main.c .c
x - dirname src/main.c
x - realpath src
x - stat -c %s README.md
x - du -s src
x - md5sum README.md
x - sha256sum package.json
x - seq 3
x - expr 6 \* 7
x - whoami
x - which git
x git-status git status --short
x git-log git log --format=%s

# ---- reading history and checking work, a few rounds ----
x - git blame -s src/util.c
x - git grep -n square
x - git show HEAD~1:docs/notes.md
x - git cat-file -t HEAD
x - git describe --tags --always
x - git shortlog -sn HEAD
x - git reflog -n 3
x - git config --get core.autocrlf
x - git stash list
x git-diff git diff HEAD~2 --stat
for round in 1 2 3; do
  x make make -s
  x npm-run npm run --silent test
  x python-tools python3 tools/run_app.py
  x grep grep -n VERSION include/version.h
  x node-scripts node scripts/gen.js
  x git-status git status --porcelain
  x ls ls build
done
x node-eval node -e 'const p = require("./package.json"); console.log(Object.keys(p.scripts).join(" "))'
x python-tools python3 tools/check_json.py package.json
x - sed -n '/scripts/,/}/p' package.json
x - awk -F: '{ print NF }' /etc/passwd | x - sort -u | x - head -n 3
x - find . -maxdepth 1 -type d -name '[a-z]*'
x ls ls -1 src | x - xargs -I{} echo src/{}

# ---- what the rules refuse: leaves only, last, each with a host-visible effect ----
printf 'untracked\n' > scratch.txt
printf 'local change\n' >> README.md
printf 'another change\n' >> docs/notes.md
x no-touch-markers touch m/touched
x no-dd dd if=/dev/zero of=m/zeros bs=16 count=1 status=none
x no-git-clean git clean -f -q
x discard-changes git checkout -- README.md
x no-reset-hard git reset --hard -q
x no-python-c python3 -c "open('m/python-c', 'w').write('x')"
x no-node-write node -e "require('fs').writeFileSync('m/node-e', 'x')"
x no-chmod-777 chmod 777 build/app
x no-copy-to-m cp package.json m/package.json
x rm-rf rm -rf build/tmp
x find-delete find scratch -name '*.tmp' -delete
x no-move-git mv .git m/git
echo session-done
`;

/** Each command the script started: the rule it expected and its argv. */
function sessionLog(ws: string): Array<{ rule: string; argv: string[] }> {
  return readFileSync(join(ws, '.session-log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split('\x1f');
      assert.equal(f.pop(), '', `a whole record: ${l}`);
      return { rule: f[0]!, argv: f.slice(1) };
    });
}

function workspace(name: string): string {
  const ws = join(root, name);
  mkdirSync(ws, { recursive: true });
  chmodSync(ws, 0o777);
  return ws;
}

const key = (argv: readonly string[]) => JSON.stringify(argv);

test('an agent-like session of ~200 commands under 30 rules: the work is done, refusals hold, every exec is audited', { timeout: 180_000 }, () => {
  // Without Warden, under strace: the control (every refused command takes effect) and the count
  // of execs the tree performs.
  const host = workspace('host');
  const trace = join(root, 'trace.txt');
  const t = spawnSync('strace', ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=execve,execveat', '-e', 'signal=none', '-o', trace, '/bin/bash', '-c', SESSION], { cwd: host, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(t.error, undefined, `strace is needed for the exec count (${String(t.error)})`);
  assert.equal(t.status, 0, t.stderr.slice(-3000));
  assert.match(t.stdout, /session-done/);
  const hostExecs = readFileSync(trace, 'utf8').split('\n').filter((l) => /^\d+ +exec(ve|veat)\(/.test(l)).length;
  const hostLog = sessionLog(host);
  for (const f of ['touched', 'zeros', 'python-c', 'node-e', 'package.json', 'git']) assert.ok(existsSync(join(host, 'm', f)), `control: ${f} was made without Warden`);
  assert.ok(!existsSync(join(host, 'scratch.txt')), 'control: git clean removed the untracked file');
  assert.ok(!existsSync(join(host, 'build', 'tmp')), 'control: rm -rf removed build/tmp');
  assert.ok(!existsSync(join(host, 'scratch', 'c.tmp')), 'control: find -delete removed the .tmp files');
  assert.equal(statSync(join(host, 'build', 'app')).mode & 0o777, 0o777, 'control: chmod 777 took effect');

  // The same session inside Warden.
  const ws = workspace('ws');
  const start = Date.now();
  const r = warden(['run', '--policy', POLICY, '--workspace', ws, '--', '/bin/bash', '-c', SESSION], { cwd: ws, env, timeout: 150_000, maxBuffer: 1 << 26 });
  const seconds = (Date.now() - start) / 1000;
  assert.equal(r.code, 0, `${r.stderr.slice(-3000)}\n${r.stdout.slice(-1000)}`);
  assert.match(r.stdout, /session-done/);

  // The session's own work succeeded, as the host sees it.
  const app = spawnSync(join(ws, 'build', 'app'), ['6', '7'], { encoding: 'utf8' });
  assert.equal(app.stdout, 'app 0.1.0: 13 42\n', 'the build output runs');
  assert.match(r.stdout, /test ok: app 0\.1\.0: 13 42/, 'npm run test passed inside');
  const log = spawnSync('git', ['-C', ws, 'log', '--format=%s', 'main'], { encoding: 'utf8', env: { ...env, GIT_CONFIG_NOSYSTEM: '1' } });
  assert.equal(log.status, 0, log.stderr);
  assert.deepEqual(log.stdout.trim().split('\n'), ['notes 3 (amended)', 'notes 2', 'notes 1', 'feature: a header comment and square()', 'python tools', 'npm scripts and generated version', 'C skeleton']);
  assert.match(readFileSync(join(ws, 'src', 'util.c'), 'utf8'), /^\/\/ utilities\n/, 'the warned sed -i ran');

  // What the deny and steer rules refused did not happen.
  assert.deepEqual(readdirSync(join(ws, 'm')), [], 'no marker: touch, dd, python -c, node -e, cp, mv .git were refused');
  assert.ok(existsSync(join(ws, '.git', 'HEAD')), '.git was not moved');
  assert.ok(existsSync(join(ws, 'scratch.txt')), 'git clean was refused');
  assert.match(readFileSync(join(ws, 'README.md'), 'utf8'), /local change/, 'git checkout -- was steered, git reset --hard refused');
  assert.match(readFileSync(join(ws, 'docs', 'notes.md'), 'utf8'), /another change/);
  assert.ok(existsSync(join(ws, 'build', 'tmp')), 'rm -rf was steered');
  assert.ok(existsSync(join(ws, 'scratch', 'c.tmp')) && existsSync(join(ws, 'scratch', 'a', 'b', 'file.tmp')), 'find -delete was steered');
  assert.notEqual(statSync(join(ws, 'build', 'app')).mode & 0o777, 0o777, 'chmod 777 was refused');
  assert.match(r.stderr, /warden: rm: steered by rule rm-rf: .*\nwarden: instead, run: rm -r\n/);
  assert.match(r.stderr, /warden: git: denied by rule no-git-clean/);

  // Every exec is audited.
  const a = warden(['audit', 'show', '--json'], { env, maxBuffer: 1 << 28 });
  assert.equal(a.code, 0, a.stderr);
  const events = a.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  const execs = events.filter((e) => e['kind'] === 'exec');
  const cmds = sessionLog(ws);
  assert.ok(cmds.length >= 190 && cmds.length <= 260, `about 200 commands (${cmds.length})`);
  assert.deepEqual(cmds.map((c) => key([c.rule, ...c.argv])).sort(), hostLog.map((c) => key([c.rule, ...c.argv])).sort(), 'the script started the same commands with and without Warden');
  // A PATH search's misses (execvp trying each entry) are answered ENOENT by the helper and only
  // counted, in the end record (test/mediate/exec-missing.test.ts); every other exec has its own.
  const missing = Number(events.find((e) => e['kind'] === 'session.end')?.['detail']?.['execMissing']);
  assert.ok(Number.isInteger(missing), 'the end record counts the misses');
  assert.equal(execs.length + missing, hostExecs, `every exec audited: ${execs.length} records and ${missing} misses, ${hostExecs} execve/execveat calls without Warden`);

  // Each command the script started has its own record, decided by the rule it expected.
  const pool = new Map<string, Array<Record<string, any>>>();
  for (const e of execs) {
    const k = key(e['proc']?.['argv'] ?? []);
    pool.set(k, [...(pool.get(k) ?? []), e]);
  }
  for (const c of cmds) {
    const candidates = (pool.get(key(c.argv)) ?? []).filter((e) => e['rule'] !== 'warden.exec-missing');
    const want = BY_ID.get(c.rule);
    const i = candidates.findIndex((e) => (want ? e['rule'] === want.id || (VIA_ALIAS.has(want.id) && /^classify\.(allow|warn|review)$/.test(e['rule'])) : !BY_ID.has(e['rule'])));
    assert.ok(i >= 0, `an audit record for ${key(c.argv)} with rule ${c.rule}: ${JSON.stringify(candidates.map((e) => [e['rule'], e['decision']]))}`);
    const e = candidates[i]!;
    pool.get(key(c.argv))!.splice(pool.get(key(c.argv))!.indexOf(e), 1);
    if (want && e['rule'] === want.id) assert.equal(e['decision'], want.decision, `${key(c.argv)}: ${e['rule']}`);
    else assert.ok(e['decision'] === 'allow' || e['decision'] === 'warn', `${key(c.argv)}: ${e['rule']} ${e['decision']} ${e['detail']?.['reason']}`);
  }

  // And every record is plausible: a named program, a known rule whose decision it carries, nothing
  // refused but the script's refusals and PATH misses, nothing asked.
  const refused = new Set(RULES.filter((x) => x.decision === 'deny' || x.decision === 'steer').map((x) => x.id));
  for (const e of execs) {
    const what = `${e['rule']} ${e['decision']} ${key(e['proc']?.['argv'] ?? [])}`;
    assert.match(String(e['resource']), /^\//, what);
    assert.ok(typeof e['detail']?.['reason'] === 'string' && e['detail']['reason'].length > 0, what);
    const rule = BY_ID.get(e['rule']);
    if (rule) assert.equal(e['decision'], rule.decision, what);
    else if (e['rule'] === 'warden.exec-missing') assert.ok(e['decision'] === 'deny' && !existsSync(e['resource']), what);
    else {
      assert.match(String(e['rule']), /^(classify\.(allow|warn|review)|cache)$/, what);
      assert.ok(e['decision'] === 'allow' || e['decision'] === 'warn', what);
    }
    if (e['decision'] === 'deny' || e['decision'] === 'steer') assert.ok(refused.has(e['rule']) || e['rule'] === 'warden.exec-missing', what);
  }
  for (const id of refused) assert.ok(execs.some((e) => e['rule'] === id), `rule ${id} was exercised`);
  assert.ok(!events.some((e) => String(e['kind']).startsWith('approval')), 'no approval was asked');
  // The log those records are in verifies (tamper-evident chain).
  const v = warden(['audit', 'verify'], { env });
  assert.equal(v.code, 0, v.stderr + v.stdout);
  const by = (d: string) => execs.filter((e) => e['decision'] === d).length;
  process.stderr.write(`# agent session: ${cmds.length} commands, ${execs.length} execs audited (allow ${by('allow')}, warn ${by('warn')}, deny ${by('deny')}, steer ${by('steer')}), ${seconds.toFixed(1)} s under warden\n`);
});
