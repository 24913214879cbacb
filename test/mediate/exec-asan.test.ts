import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AuditEventInput } from '../../src/audit/record.js';
import { loadPolicy } from '../../src/policy/load.js';
import { launchSandbox } from '../../src/sandbox/launch.js';
import type { SandboxSpec } from '../../src/sandbox/spec.js';
import { startExecMediation } from '../../src/session/exec-mediation.js';
import { buildAsanHelper, cleanup, defaultSpec, makeCtx, planFor, SANITIZER_REPORT, type Ctx } from '../sandbox/harness.js';
import { writeFile } from '../helpers/tmp.js';

/**
 * The helper's notify loop under AddressSanitizer + UndefinedBehaviorSanitizer: the frame
 * building, page-wise tracee reads, the verdict cache and the stderr hand-off run against real
 * execs — allowed, denied, cached, a 1.9 MB argv, unreadable memory, a flood — and the sanitizers
 * report nothing.
 */

let c: Ctx;
let built: ReturnType<typeof buildAsanHelper>;
before(() => {
  c = makeCtx();
  built = buildAsanHelper();
});
after(() => {
  cleanup(c);
  built.remove();
});

/** Runs `script` in a sandbox whose helper is the ASan/UBSan build, mediated as `warden run` wires it. */
async function underAsan(policyYaml: string, script: string, over: Partial<SandboxSpec> = {}) {
  const pol = writeFile(c.root, `asan-${Math.random().toString(36).slice(2)}.yaml`, policyYaml);
  const { policy } = await loadPolicy({ file: pol, workspace: c.ws, home: c.home, cwd: c.ws });
  const plan = await planFor(defaultSpec(c, ['bash', '-c', script], { mediateExec: true, cwd: c.ws, ...over }));
  const h = launchSandbox(plan, { stdio: ['ignore', 'pipe', 'pipe'], helperPath: built.path });
  const records: AuditEventInput[] = [];
  let fatal: Error | undefined;
  const m = startExecMediation({
    policy,
    plan,
    handle: h,
    session: 'asan',
    audit: (ev) => records.push(ev),
    onFatal: (e) => {
      fatal = e;
      h.kill('SIGKILL');
    },
  });
  let stdout = '';
  let stderr = '';
  h.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  h.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => h.kill('SIGKILL'), 100_000);
  const result = await h.result;
  clearTimeout(timer);
  m?.close();
  return { stdout, stderr, result, records, fatal };
}

const SCRIPT = String.raw`
for i in $(seq 200); do /bin/true $i; done
for i in $(seq 200); do /bin/true; done
touch marker; echo "touch=$?"
python3 -c "import os; os.execv('/usr/bin/true', ['true'] + ['x' * 1000] * 1900)"; echo "big=$?"
python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(59, ctypes.c_void_p(16), ctypes.c_void_p(0), ctypes.c_void_p(0))
print('bad-pointer', r, ctypes.get_errno())
"
echo done
`;

test('the notify loop is clean under ASan/UBSan and still decides every exec', { timeout: 120_000 }, async () => {
  const { stdout, stderr, result, records, fatal } = await underAsan(
    'version: 1\ncommands:\n  - id: no-touch\n    match: [touch]\n    decision: deny\n    message: no touching here\n',
    SCRIPT,
  );
  assert.equal(fatal, undefined);
  assert.doesNotMatch(stderr, SANITIZER_REPORT, stderr.slice(-3000));
  assert.equal(result.exitCode, 0, stderr.slice(-2000));
  assert.ok(result.layers.active.includes('mediation'));
  assert.match(stdout, /touch=126/);
  assert.match(stderr, /touch: denied by rule no-touch: no touching here/);
  assert.ok(!existsSync(join(c.ws, 'marker')));
  assert.match(stdout, /big=0/);
  assert.match(stdout, /bad-pointer -1 14/, 'an exec whose path cannot be read is refused with EFAULT');
  assert.match(stdout, /done/);
  const execs = records.filter((r) => r.kind === 'exec');
  assert.ok(execs.filter((r) => r.resource === '/usr/bin/true').length >= 401, `every exec audited (${execs.length})`);
  assert.ok(execs.some((r) => r.detail?.['cached'] === true), 'repeated execs were replayed from the helper cache');
  assert.ok(execs.some((r) => r.rule === 'warden.exec-unreadable'));
});

/*
 * Argument lists at the bounds of the helper's two-read path (native/notify.c fast_strings) and
 * beyond: the path, an argument and the pointer array each ending exactly at a page followed by an
 * inaccessible one, 64 and 65 arguments, arguments around 256 bytes, no argv at all. Each child
 * execs /usr/bin/true with them; the record must carry them byte for byte.
 */
const SHAPES = String.raw`
python3 - <<'PY'
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
P = mmap.PAGESIZE
keep = []
def page_end():
    a = libc.mmap(None, 2 * P, 3, 0x22, -1, 0)
    assert libc.mprotect(ctypes.c_void_p(a + P), P, 0) == 0
    return a + P
def at_end(b):
    a = page_end() - len(b) - 1
    ctypes.memmove(a, b + b'\0', len(b) + 1)
    return a
def s(b):
    keep.append(ctypes.create_string_buffer(b))
    return ctypes.addressof(keep[-1])
def ex(path, args, ptrs_at_end=False, no_argv=False):
    pid = os.fork()
    if pid == 0:
        n = len(args) + 1
        arr = page_end() - 8 * n if ptrs_at_end else s(b'\0' * 8 * n)
        for i, a in enumerate(args + [0]):
            ctypes.c_void_p.from_address(arr + 8 * i).value = a or None
        libc.syscall(59, ctypes.c_void_p(path), None if no_argv else ctypes.c_void_p(arr), ctypes.c_void_p(s(b'\0' * 8)))
        os._exit(99)
    print('rc', os.waitpid(pid, 0)[1])
T = s(b'/usr/bin/true')
ex(at_end(b'/usr/bin/true'), [s(b'pe-path')])
ex(T, [s(b'true'), at_end(b'pe-arg')])
ex(T, [s(b'true'), s(b'pe-ptrs')], ptrs_at_end=True)
ex(T, [s(b'a64')] + [s(b'x')] * 63)
ex(T, [s(b'a65')] + [s(b'x')] * 64)
for n in (255, 256, 257, 4000):
    ex(T, [s(b'true'), s(b'L%d' % n + b'y' * (n - len(b'L%d' % n)))])
ex(T, [], no_argv=True)
PY
echo done
`;

test('argument lists at the bounds of the two-read path are recorded byte for byte, clean under ASan/UBSan', { timeout: 120_000 }, async () => {
  const { stdout, stderr, result, records, fatal } = await underAsan('version: 1\n', SHAPES);
  assert.equal(fatal, undefined);
  assert.doesNotMatch(stderr, SANITIZER_REPORT, stderr.slice(-3000));
  assert.equal(result.exitCode, 0, stderr.slice(-2000));
  assert.match(stdout, /done/);
  assert.equal(stdout.match(/^rc 0$/gm)?.length, 10, stdout);
  const argvs = records.filter((r) => r.kind === 'exec' && r.resource === '/usr/bin/true').map((r) => JSON.stringify(r.proc?.argv));
  const long = (n: number) => `L${n}`.padEnd(n, 'y');
  for (const want of [['pe-path'], ['true', 'pe-arg'], ['true', 'pe-ptrs'], ['a64', ...Array(63).fill('x')], ['a65', ...Array(64).fill('x')], ...[255, 256, 257, 4000].map((n) => ['true', long(n)]), []])
    assert.ok(argvs.includes(JSON.stringify(want)), `recorded: ${JSON.stringify(want).slice(0, 80)}`);
});

const OPENS = String.raw`
cat zone/granted.txt | wc -c
for i in $(seq 100); do cat zone/granted.txt > /dev/null; cat /etc/hostname > /dev/null; done
cat zone/no.txt; echo "no=$?"
cat zone/asked.txt; echo "asked=$?"
cat ./zone/../zone/./granted.txt | wc -c
python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(437, -100, b'zone/granted.txt', ctypes.c_void_p(16), 24)
print('bad-how', r, ctypes.get_errno())
r = libc.syscall(257, -100, ctypes.c_void_p(16), 0, 0)
print('bad-path', r, ctypes.get_errno())
try: os.open('zone/' + 'x' * 5000, os.O_RDONLY)
except OSError as e: print('too-long', e.errno)
"
echo done
`;

test('the open path of the notify loop (ask zones, ADDFD, sealed copies) is clean under ASan/UBSan', { timeout: 120_000 }, async () => {
  const zone = join(c.ws, 'zone');
  mkdirSync(zone, { recursive: true });
  writeFile(zone, 'granted.txt', 'g'.repeat(1 << 20));
  writeFile(zone, 'no.txt', 'NO\n');
  writeFile(zone, 'asked.txt', 'ASKED\n');
  const { stdout, stderr, result, records, fatal } = await underAsan(
    `version: 1\nfilesystem:\n  read: [${zone}/granted.txt]\n  ask: [${zone}]\n  deny: [${zone}/no.txt]\n`,
    OPENS,
    { askPaths: [zone] },
  );
  assert.equal(fatal, undefined);
  assert.doesNotMatch(stderr, SANITIZER_REPORT, stderr.slice(-3000));
  assert.equal(result.exitCode, 0, stderr.slice(-2000));
  assert.match(stdout, /^1048576$/m, 'a 1 MiB file handed over whole as a sealed copy');
  assert.match(stdout, /no=1/);
  assert.match(stdout, /asked=1/, 'an ask with nobody to answer is denied');
  assert.match(stderr, /zone\/no\.txt: denied by rule filesystem\.deny\[0\]/);
  assert.match(stdout, /bad-how -1 14/, 'an unreadable open_how fails in the kernel (EFAULT)');
  assert.match(stdout, /bad-path -1 14/);
  assert.match(stdout, /too-long 36/, 'ENAMETOOLONG');
  assert.match(stdout, /done/);
  const opens = records.filter((r) => r.kind === 'file');
  assert.ok(opens.filter((r) => r.decision === 'allow').length >= 102, `every in-zone open decided and audited (${opens.length})`);
});
