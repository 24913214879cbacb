/**
 * The syscall tables are security-critical data (a wrong number silently disables a rule), so they
 * are checked against the kernel headers installed on this machine, through the C preprocessor:
 * x86_64 via <asm/unistd_64.h>, aarch64 via <asm-generic/unistd.h> with arm64's __ARCH_WANT_* set.
 * Names newer than the installed headers are listed in diagnostics rather than failing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  AARCH64_SYSCALLS,
  ARCHES,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  CLONE_NEW_MASK,
  X32_SYSCALL_BIT,
  X86_64_SYSCALLS,
  argHi,
  argLo,
  syscallName,
  syscallNr,
} from '../../../src/sandbox/seccomp/syscalls.js';
import { seccompRules } from '../../../src/sandbox/seccomp/filter.js';

function headerNumbers(prelude: string, names: readonly string[]): Map<string, number> {
  const which = spawnSync('cc', ['--version']);
  if (which.error) assert.fail(`syscall table check needs a C compiler: "cc" failed (${which.error.message}); install gcc`);
  const dir = mkdtempSync(join(tmpdir(), 'warden-nr-'));
  try {
    const body = names.map((n) => `#ifdef __NR_${n}\nprintf("${n} %ld\\n", (long)(__NR_${n}));\n#endif`).join('\n');
    writeFileSync(join(dir, 'n.c'), `${prelude}\n#include <stdio.h>\nint main(void){\n${body}\nreturn 0;}\n`);
    const cc = spawnSync('cc', ['-o', join(dir, 'n'), join(dir, 'n.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const out = spawnSync(join(dir, 'n'), { encoding: 'utf8' });
    assert.equal(out.status, 0);
    return new Map(out.stdout.trim().split('\n').filter(Boolean).map((l) => {
      const [n, v] = l.split(' ');
      return [n!, Number(v)];
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compare(t: { diagnostic: (s: string) => void }, label: string, table: Readonly<Record<string, number>>, headers: Map<string, number>) {
  const mismatches: string[] = [];
  const unknown: string[] = [];
  for (const [name, nr] of Object.entries(table)) {
    const h = headers.get(name);
    if (h === undefined) unknown.push(name);
    else if (h !== nr) mismatches.push(`${name}: table ${nr}, headers ${h}`);
  }
  assert.deepEqual(mismatches, [], `${label} table disagrees with kernel headers`);
  // The headers must know most of the table: guards against the check silently testing nothing.
  assert.ok(headers.size > Object.keys(table).length * 0.8, `${label}: only ${headers.size} names found in headers`);
  t.diagnostic(`${label}: ${headers.size} numbers match the installed headers; newer than the headers: ${unknown.join(', ') || 'none'}`);
}

test('x86_64 table matches <asm/unistd_64.h>', { skip: process.arch !== 'x64' ? 'x86_64 headers only on x86_64 hosts' : false }, (t) => {
  compare(t, 'x86_64', X86_64_SYSCALLS, headerNumbers('#include <asm/unistd_64.h>', Object.keys(X86_64_SYSCALLS)));
});

test('aarch64 table matches <asm-generic/unistd.h> with arm64 options', (t) => {
  const prelude = process.arch === 'arm64'
    ? '#include <asm/unistd.h>'
    : [
        '#define __ARCH_WANT_RENAMEAT',
        '#define __ARCH_WANT_NEW_STAT',
        '#define __ARCH_WANT_SET_GET_RLIMIT',
        '#define __ARCH_WANT_TIME32_SYSCALLS',
        '#define __ARCH_WANT_MEMFD_SECRET',
        '#define __ARCH_WANT_SYS_CLONE3',
        '#include <asm-generic/unistd.h>',
      ].join('\n');
  assert.ok(process.arch === 'arm64' || process.arch === 'x64', 'this check assumes a 64-bit host');
  compare(t, 'aarch64', AARCH64_SYSCALLS, headerNumbers(prelude, Object.keys(AARCH64_SYSCALLS)));
});

test('tables: numbers are unique per arch and a handful of anchors are right', () => {
  for (const info of Object.values(ARCHES)) {
    const seen = new Map<number, string>();
    for (const [name, nr] of Object.entries(info.table)) {
      assert.ok(Number.isInteger(nr) && nr >= 0 && nr < X32_SYSCALL_BIT, `${info.arch} ${name}`);
      assert.equal(seen.get(nr), undefined, `${info.arch}: ${name} and ${seen.get(nr)} share ${nr}`);
      seen.set(nr as number, name);
    }
    assert.equal(info.maxKnownNr, 470);
  }
  assert.equal(syscallNr('x86_64', 'read'), 0);
  assert.equal(syscallNr('x86_64', 'execve'), 59);
  assert.equal(syscallNr('x86_64', 'io_uring_setup'), 425);
  assert.equal(syscallNr('aarch64', 'execve'), 221);
  assert.equal(syscallNr('aarch64', 'clone'), 220);
  assert.equal(syscallNr('aarch64', 'open'), undefined);
  assert.equal(syscallNr('x86_64', 'toString'), undefined); // no prototype leaks
  assert.equal(syscallName('x86_64', 101), 'ptrace');
  assert.equal(syscallName('aarch64', 117), 'ptrace');
});

test('ABI constants', () => {
  assert.equal(AUDIT_ARCH_X86_64, 0xc000003e);
  assert.equal(AUDIT_ARCH_I386, 0x40000003);
  assert.equal(AUDIT_ARCH_AARCH64, 0xc00000b7);
  assert.equal(X32_SYSCALL_BIT, 0x40000000);
  assert.equal(CLONE_NEW_MASK, 0x7e020000);
  assert.deepEqual([argLo(0), argHi(0), argLo(5), argHi(5)], [16, 20, 56, 60]);
});

test('every syscall a rule names exists on at least one arch', () => {
  for (const rule of seccompRules({ arch: 'x86_64', notifyExec: true, notifyOpen: true })) {
    for (const name of rule.syscalls) {
      assert.ok(syscallNr('x86_64', name) !== undefined || syscallNr('aarch64', name) !== undefined, name);
    }
  }
});
