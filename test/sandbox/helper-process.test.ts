/**
 * How the helper process is started (src/sandbox/helper-process.ts through native/spawn.c): what
 * it inherits, how its end is reported, and how it is signalled. Real programs stand in for the
 * helper; each reports what the kernel says about itself.
 */
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { libuvSpawned, startHelperProcess, type HelperProcess, type HelperStart } from '../../src/sandbox/helper-process.js';
import { loadNativeAddon } from '../../src/native-addon.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

function script(name: string, text: string): string {
  const dir = tempDir('warden-helper-process-');
  chmodSync(dir, 0o755);
  const p = writeFile(dir, name, text);
  chmodSync(p, 0o755);
  return p;
}

function readAll(s: Duplex | null | undefined): Promise<string> {
  assert.ok(s, 'a pipe was asked for');
  let out = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => (out += c));
  return new Promise((resolve) => s.on('close', () => resolve(out)));
}

const addon = loadNativeAddon();

// Both ways of starting the helper keep one contract: posix_spawn through the addon (what runs
// whenever the addon is built) and Node's child_process (the fallback).
const backends: Array<[string, ((s: HelperStart) => HelperProcess) | null]> = [
  ['posix_spawn (addon)', addon ? startHelperProcess : null],
  ['child_process (fallback)', libuvSpawned],
];

for (const [backend, start] of backends) {
  describe(`helper process: ${backend}`, { skip: start ? false : 'the native addon was not built' }, () => contract(start ?? libuvSpawned));
}

function contract(startHelperProcess: (s: HelperStart) => HelperProcess): void {
  it('inherits the fds asked for, an empty environment, cwd / and no blocked signals', async () => {
    const report = script(
      'report.py',
      [
        '#!/usr/bin/python3',
        'import json, os',
        'fds = []',
        'for fd in range(256):',
        '    try: os.fstat(fd); fds.append(fd)',
        '    except OSError: pass',
        "blk = [l.split()[1] for l in open('/proc/self/status') if l.startswith('SigBlk:')][0]",
        "os.write(1, json.dumps({'fds': fds, 'env': dict(os.environ), 'cwd': os.getcwd(), 'blk': blk}).encode())",
        "os.write(3, b'on fd 3')",
        '',
      ].join('\n'),
    );
    const h = startHelperProcess({ path: report, stdio: ['ignore', 'pipe', 'inherit', 'pipe'], drain: [3] });
    const [out, fd3, exit] = await Promise.all([readAll(h.stdio[1]), readAll(h.stdio[3]), h.closed]);
    const r = JSON.parse(out) as { fds: number[]; env: Record<string, string>; cwd: string; blk: string };
    // Through the addon nothing else is inherited. child_process passes on whatever this process
    // holds without close-on-exec (the test runner's own channel); the helper closes those itself
    // (its `fds` layer, helper.test.ts and the attack suite check what the command gets).
    if (startHelperProcess === libuvSpawned) assert.deepEqual(r.fds.slice(0, 4), [0, 1, 2, 3]);
    else assert.deepEqual(r.fds, [0, 1, 2, 3]);
    // Python itself may set LC_CTYPE; nothing of this process's environment is there.
    assert.deepEqual(Object.keys(r.env).filter((k) => k !== 'LC_CTYPE'), []);
    assert.equal(r.cwd, '/');
    assert.equal(r.blk, '0000000000000000');
    assert.equal(fd3, 'on fd 3');
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  it('resets ignored signals to their defaults (Node ignores SIGPIPE)', async () => {
    const p = script('sigign.sh', '#!/bin/sh\nexec grep SigIgn /proc/self/status\n');
    const h = startHelperProcess({ path: p, stdio: ['ignore', 'pipe', 'inherit'], drain: [] });
    const [out] = await Promise.all([readAll(h.stdio[1]), h.closed]);
    const ignored = BigInt(`0x${/^SigIgn:\s+([0-9a-f]+)$/m.exec(out)?.[1] ?? 'ff'}`);
    // glibc's posix_spawn leaves its internal signals 32 and 33 ignored; the helper resets those
    // itself (helper.test.ts checks what the sandboxed command gets).
    assert.equal(ignored & ~(3n << 31n), 0n, out);
  });

  it('reports the exit code, and the signal that killed it', async () => {
    const seven = startHelperProcess({ path: script('seven.sh', '#!/bin/sh\nexit 7\n'), stdio: ['ignore', 'ignore', 'ignore'], drain: [] });
    assert.deepEqual(await seven.closed, { code: 7, signal: null });
    const sleeper = startHelperProcess({ path: script('sleep.sh', '#!/bin/sh\nexec sleep 60\n'), stdio: ['ignore', 'ignore', 'ignore'], drain: [] });
    sleeper.kill('SIGTERM');
    assert.deepEqual(await sleeper.closed, { code: null, signal: 15 });
    // Reaped: signalling it again reaches nothing, and says nothing.
    sleeper.kill('SIGKILL');
  });

  it('waits for the channels it drains: nothing said before the exit is lost', async () => {
    const p = script('late.sh', '#!/bin/sh\n(sleep 0.3; echo late >&3) &\necho early >&3\n');
    const h = startHelperProcess({ path: p, stdio: ['ignore', 'ignore', 'inherit', 'pipe'], drain: [3] });
    const [said] = await Promise.all([readAll(h.stdio[3]), h.closed]);
    assert.equal(said, 'early\nlate\n');
  });

  it('rejects when the program cannot be started', async () => {
    const h = startHelperProcess({ path: '/nonexistent/warden-helper', stdio: ['ignore', 'pipe', 'pipe', 'pipe'], drain: [3] });
    await assert.rejects(h.closed, /ENOENT|No such file or directory/);
  });
}

describe('helper process: the addon', { skip: addon ? false : 'the native addon was not built' }, () => {
  it('leaves no channel open when the spawn fails', async () => {
    const h = startHelperProcess({ path: '/nonexistent/warden-helper', stdio: ['ignore', 'pipe', 'pipe', 'pipe'], drain: [3] });
    await assert.rejects(h.closed, /posix_spawn: No such file or directory/);
    assert.deepEqual(h.stdio, [null, null, null, null]);
  });

  it('refuses bad arguments before anything is spawned', () => {
    assert.ok(addon);
    assert.throws(() => addon.spawnHelper('relative/path', [0, 1, 2]), /absolute/);
    assert.throws(() => addon.spawnHelper('/bin/true', [0, 1]), /3 to 16 fds/);
    assert.throws(() => addon.spawnHelper('/bin/true', [0, 1, -1]), /non-negative/);
  });
});
