/**
 * Real clients inside a default-like sandbox: they must work, and their effects must land in the
 * workspace on the host.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchSandbox } from '../../src/sandbox/launch.js';
import { cleanup, defaultSpec, makeCtx, planFor, read, resetFiles, runSandboxed, type Ctx } from './harness.js';

describe('real clients in the sandbox', () => {
  let c: Ctx;
  before(() => (c = makeCtx()));
  after(() => cleanup(c));

  it('bash -c', async () => {
    resetFiles(c);
    const r = await runSandboxed(defaultSpec(c, ['bash', '-c', 'for i in 1 2 3; do printf "$i"; done; [[ $(hostname) == warden ]] && echo " ok" > out.txt; cat out.txt']));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '123 ok\n');
    assert.equal(read(join(c.ws, 'out.txt')), ' ok\n');
  });

  it('interactive bash on a pipe', async () => {
    const plan = await planFor(defaultSpec(c, ['bash', '-i']));
    const h = launchSandbox(plan, { stdio: 'pipe' });
    let out = '';
    h.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    h.stderr!.resume();
    h.stdin!.end('echo hello-$((40+2))\ncd /tmp && pwd\nexit 3\n');
    const r = await h.result;
    assert.equal(r.exitCode, 3);
    assert.match(out, /hello-42\n\/tmp\n/);
  });

  it('git init && git commit in the workspace', async () => {
    resetFiles(c);
    const script = 'git init -q . && echo hi > a.txt && git add a.txt && git -c user.email=a@example.com -c user.name=agent commit -q -m first && git log --oneline | wc -l';
    const r = await runSandboxed(defaultSpec(c, ['sh', '-c', script]));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1');
    assert.ok(existsSync(join(c.ws, '.git', 'HEAD')), 'the repository exists on the host');
  });

  it('node -e', async () => {
    const r = await runSandboxed(defaultSpec(c, ['node', '-e', 'const fs=require("fs"); fs.writeFileSync("n.txt", String(6*7)); console.log(require("os").hostname(), process.env.HOME === undefined ? "nohome" : "home")']));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'warden home');
    assert.equal(read(join(c.ws, 'n.txt')), '42');
  });

  it('python3 -c', async () => {
    const r = await runSandboxed(defaultSpec(c, ['/usr/bin/python3', '-c', 'import os, tempfile; open("p.txt","w").write(os.uname().nodename); print(len(tempfile.mkdtemp()) > 0)']));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'True');
    assert.equal(read(join(c.ws, 'p.txt')), 'warden');
  });

  it('a small C build with make', async () => {
    resetFiles(c);
    writeFileSync(join(c.ws, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello from make"); return 0; }\n');
    writeFileSync(join(c.ws, 'Makefile'), 'hello: hello.c\n\tcc -O2 -o $@ $<\n');
    const r = await runSandboxed(defaultSpec(c, ['sh', '-c', 'make -s && ./hello']));
    assert.equal(r.result.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'hello from make\n');
    assert.ok(existsSync(join(c.ws, 'hello')));
  });
});
