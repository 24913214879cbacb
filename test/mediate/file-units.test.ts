import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { AuditEventInput } from '../../src/audit/record.js';
import type { TraceeFs } from '../../src/mediate/exec-target.js';
import { decodeFrame, encodeOpenVerdict, O_CLOEXEC, RequestDecoder, WireError, type OpenRequest } from '../../src/mediate/exec-wire.js';
import { accessOf, FileMediator, O, planOpen, type FileApprovalRequest } from '../../src/mediate/file-mediator.js';
import { loadPolicy } from '../../src/policy/load.js';
import { tempDir, writeFile } from '../helpers/tmp.js';

/**
 * The supervisor half of "ask" zones, without a kernel: the open frames the helper sends, the
 * verdict frames it gets back (byte for byte, as native/notify.c parses them), and the decisions —
 * resolution in the tracee's view, the zone test, the policy, approvals and the audit record.
 */

// ---- wire ---------------------------------------------------------------------------------------

/** An open frame exactly as native/notify.c writes it (with its length field). */
function openFrame(r: { id?: bigint; pid?: number; syscall?: number; dirfd?: number; flags?: bigint; mode?: bigint; resolve?: bigint; path: Buffer | string }): Buffer {
  const path = Buffer.isBuffer(r.path) ? r.path : Buffer.from(r.path);
  const b = Buffer.alloc(60 + path.length);
  b.writeUInt32LE(56 + path.length, 0);
  b.writeUInt32LE(3, 4);
  b.writeBigUInt64LE(r.id ?? 9n, 8);
  b.writeUInt32LE(r.pid ?? 1234, 16);
  b.writeUInt32LE(r.syscall ?? 3, 20);
  b.writeInt32LE(r.dirfd ?? -100, 24);
  b.writeBigUInt64LE(r.flags ?? 0n, 32);
  b.writeBigUInt64LE(r.mode ?? 0n, 40);
  b.writeBigUInt64LE(r.resolve ?? 0n, 48);
  b.writeUInt32LE(path.length, 56);
  path.copy(b, 60);
  return b;
}

test('wire: open frames decode field by field, bytes of the path kept as bytes', () => {
  const path = Buffer.from([0x2f, 0x7a, 0xff, 0x2f, 0x6b]);
  const [r] = new RequestDecoder().push(openFrame({ id: 77n, pid: 42, syscall: 4, dirfd: 5, flags: 0o2101n, mode: 0o644n, resolve: 0n, path }));
  assert.deepEqual(r, { kind: 3, id: 77n, pid: 42, syscall: 'openat2', dirfd: 5, flags: 0o2101, mode: 0o644, resolve: 0, path });
  for (const [n, name] of [[2, 'open'], [3, 'openat'], [4, 'openat2'], [5, 'creat']] as const) {
    assert.equal((decodeFrame(openFrame({ syscall: n, path: '/x' }).subarray(4)) as OpenRequest).syscall, name);
  }
});

test('wire: malformed open frames are protocol errors (fatal for the session), never requests', () => {
  const bad = [
    openFrame({ syscall: 6, path: '/x' }),
    openFrame({ syscall: 0, path: '/x' }),
    openFrame({ flags: 1n << 32n, path: '/x' }),
    openFrame({ mode: 1n << 40n, path: '/x' }),
    openFrame({ resolve: 1n << 33n, path: '/x' }),
  ];
  // The path length disagrees with the frame, both ways.
  const long = openFrame({ path: '/abc' });
  long.writeUInt32LE(5, 56);
  const short = Buffer.concat([openFrame({ path: '/abc' }), Buffer.alloc(2)]);
  short.writeUInt32LE(short.readUInt32LE(0) + 2, 0);
  for (const f of [...bad, long, short]) assert.throws(() => new RequestDecoder().push(f), WireError);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (junk) => {
      const f = Buffer.concat([openFrame({ path: '/zone/f' }).subarray(0, 8), Buffer.from(junk)]);
      f.writeUInt32LE(f.length - 4, 0);
      try {
        for (const r of new RequestDecoder().push(f)) assert.equal(r.kind, 3);
      } catch (e) {
        assert.ok(e instanceof WireError, String(e));
      }
    }),
    { numRuns: 2000, seed: 11 },
  );
});

test('wire: open verdicts have the layout the helper parses', () => {
  const open = encodeOpenVerdict(5n, 7, { action: 'open', path: '/z/a', oflags: 0o101, mode: 0o600, snapshot: false, cloexec: true });
  assert.equal(open.readUInt32LE(0), open.length - 4);
  assert.equal(open.readUInt32LE(4), 3);
  assert.equal(open.readBigUInt64LE(8), 5n);
  assert.equal(open.readUInt32LE(16), 7);
  assert.equal(open.readUInt32LE(20), 2, 'action open');
  assert.equal(open.readInt32LE(24), 0);
  assert.equal(open.readUInt32LE(28), 0o101);
  assert.equal(open.readUInt32LE(32), 0o600);
  assert.equal(open.readUInt32LE(36), 0);
  assert.equal(open.readUInt32LE(40), O_CLOEXEC);
  assert.equal(open.readUInt32LE(44), 4);
  assert.equal(open.subarray(48, 52).toString(), '/z/a');
  assert.equal(open.readUInt32LE(52), 0, 'no message');
  const fail = encodeOpenVerdict(6n, 8, { action: 'fail', errno: 13, message: 'no\n' });
  assert.deepEqual([fail.readUInt32LE(20), fail.readInt32LE(24), fail.readUInt32LE(44), fail.readUInt32LE(48), fail.subarray(52).toString()], [1, 13, 0, 3, 'no\n']);
  const cont = encodeOpenVerdict(6n, 8, { action: 'continue' });
  assert.equal(cont.length, 52);
  assert.equal(cont.readUInt32LE(20), 0);
  assert.throws(() => encodeOpenVerdict(1n, 1, { action: 'open', path: 'relative', oflags: 0, mode: 0, snapshot: true, cloexec: false }), WireError);
  assert.throws(() => encodeOpenVerdict(1n, 1, { action: 'fail', errno: 0 }), WireError);
  // A long message is clipped to what the helper accepts.
  assert.equal(encodeOpenVerdict(1n, 1, { action: 'fail', errno: 13, message: 'x'.repeat(5000) }).readUInt32LE(48), 1024);
});

// ---- decisions ----------------------------------------------------------------------------------

/** A tracee view: listed files, their parent directories, and symlinks. */
function view(entries: Record<string, string | { link: string }>, cwd = '/w', fds: Record<number, string> = {}): TraceeFs {
  const dirs = new Set(['/']);
  for (const p of Object.keys(entries)) for (let d = p.slice(0, p.lastIndexOf('/')); d; d = d.slice(0, d.lastIndexOf('/'))) dirs.add(d);
  const at = (p: string) => entries[p] ?? (dirs.has(p) ? 'dir' : null);
  return {
    kind: (p) => {
      const e = at(p);
      return e === null ? null : e === 'dir' ? 'dir' : typeof e === 'object' ? 'link' : 'file';
    },
    readlink: (p) => {
      const e = at(p);
      return e !== null && typeof e === 'object' ? e.link : null;
    },
    cwd: () => cwd,
    fd: (n) => fds[n] ?? null,
    exe: () => '/usr/bin/bash',
    head: () => null,
  };
}

const proot = tempDir('warden-file-units-');
mkdirSync(join(proot, 'w'));
mkdirSync(join(proot, 'h'));
const Z = join(proot, 'z');

async function policyWith(fs: string) {
  const file = writeFile(proot, `p-${Math.random().toString(36).slice(2)}.yaml`, `version: 1\nextends: coding-agent\nfilesystem:\n${fs}`);
  return (await loadPolicy({ file, workspace: join(proot, 'w'), home: join(proot, 'h'), cwd: proot })).policy;
}

const req = (path: string, o: Partial<OpenRequest> = {}): OpenRequest => ({ kind: 3, id: 1n, pid: 10, syscall: 'openat', dirfd: -100, flags: 0, mode: 0, resolve: 0, path: Buffer.from(path), ...o });

test('accessOf: creating or truncating is writing; O_RDWR is both', () => {
  assert.equal(accessOf(0), 'read');
  assert.equal(accessOf(1), 'write');
  assert.equal(accessOf(2), 'read+write');
  assert.equal(accessOf(O.CREAT | 1), 'write');
  assert.equal(accessOf(O.TRUNC), 'read+write');
  assert.equal(accessOf(O.CREAT), 'read+write');
  assert.equal(accessOf(O.APPEND), 'read', 'O_APPEND alone on a read-only open writes nothing');
});

test('planOpen: the path is resolved in the tracee view (cwd, dirfd, symlinks, /proc/self) before the zone test', async () => {
  const policy = await policyWith(`  ask: [${Z}]\n  read: [${proot}/w]\n`);
  const fs = view({ [`${proot}/w/lnk`]: { link: `${Z}/k` }, [`${Z}/lnk-out`]: { link: `${proot}/w/free` }, [`${proot}/w/free`]: 'x' }, `${proot}/w`, { 5: Z });
  const decided = (p: ReturnType<typeof planOpen>) => (p.kind === 'decide' ? `${p.path}:${p.access}:${p.result.decision}` : p.kind);
  assert.equal(decided(planOpen(req(`${Z}/k`), fs, [Z], policy)), `${Z}/k:read:approve`);
  assert.equal(decided(planOpen(req('../z/k'), fs, [Z], policy)), `${Z}/k:read:approve`, 'relative to the cwd');
  assert.equal(decided(planOpen(req('k', { dirfd: 5 }), fs, [Z], policy)), `${Z}/k:read:approve`, 'relative to a dirfd');
  assert.equal(decided(planOpen(req('lnk'), fs, [Z], policy)), `${Z}/k:read:approve`, 'through a symlink');
  assert.equal(decided(planOpen(req(`/proc/self/root${Z}/k`), fs, [Z], policy)), `${Z}/k:read:approve`);
  assert.equal(decided(planOpen(req(`${Z}/k`, { flags: O.CREAT | 1 }), fs, [Z], policy)), `${Z}/k:write:approve`);
  // Lexically in the zone, really outside: the floor decides.
  assert.deepEqual(planOpen(req(`${Z}/lnk-out`), fs, [Z], policy), { kind: 'continue', why: 'outside every ask zone once resolved', path: `${proot}/w/free` });
  // A zone that is a prefix of a name is not that name's zone.
  assert.equal(planOpen(req(`${Z}x/k`), fs, [Z], policy).kind, 'continue');
});

test('planOpen: what Warden does not emulate goes to the floor or is refused, never opened', async () => {
  const policy = await policyWith(`  ask: [${Z}]\n`);
  const fs = view({ [`${proot}/w/l`]: { link: `${Z}/k` }, [`${proot}/w/loop`]: { link: 'loop' } }, `${proot}/w`);
  assert.equal(planOpen(req(`${Z}/k`, { flags: O.PATH }), fs, [Z], policy).kind, 'continue');
  assert.equal(planOpen(req(Z, { flags: O.DIRECTORY }), fs, [Z], policy).kind, 'continue');
  assert.equal(planOpen(req(`${Z}/k`, { syscall: 'openat2', resolve: 8 }), fs, [Z], policy).kind, 'continue');
  const fail = (p: ReturnType<typeof planOpen>) => (p.kind === 'fail' ? `${p.rule}:${p.errno}` : p.kind);
  assert.equal(fail(planOpen(req('l', { flags: O.NOFOLLOW }), fs, [Z], policy)), 'warden.open-nofollow:40');
  assert.equal(fail(planOpen({ ...req(''), path: Buffer.from([...Buffer.from(`${Z}/`), 0xff]) }, fs, [Z], policy)), 'warden.open-encoding:13');
  assert.equal(fail(planOpen(req('k', { dirfd: 9 }), fs, [Z], policy)), 'warden.open-base:13', 'an fd Warden cannot name');
  assert.equal(fail(planOpen(req('k'), view({}, '/memfd:x (deleted)'), [Z], policy)), 'warden.open-base:13');
  assert.equal(fail(planOpen(req('loop'), fs, [Z], policy)), 'warden.open-unresolvable:40');
});

test('planOpen: inside a zone, deny still wins and a more specific grant opens without asking', async () => {
  const policy = await policyWith(`  ask: [${Z}]\n  deny: [${Z}/no]\n  read: [${Z}/ok]\n`);
  const fs = view({});
  const d = (p: string, flags = 0) => {
    const r = planOpen(req(p, { flags }), fs, [Z], policy);
    return r.kind === 'decide' ? r.result.decision : r.kind;
  };
  assert.equal(d(`${Z}/no`), 'deny');
  assert.equal(d(`${Z}/ok`), 'allow');
  assert.equal(d(`${Z}/ok`, 2), 'approve', 'O_RDWR: the write half is still asked');
  assert.equal(d(`${Z}/other`), 'approve');
});

async function mediator(approve?: (r: FileApprovalRequest) => Promise<'allow' | 'deny'>, fs = view({})) {
  const policy = await policyWith(`  ask: [${Z}]\n  deny: [${Z}/no]\n`);
  const sent: Buffer[] = [];
  const audit: AuditEventInput[] = [];
  const m = new FileMediator({ policy, zones: [Z], session: 's', audit: (e) => audit.push(e), ...(approve ? { approve } : {}), fsFor: () => fs, umaskOf: () => 0o027, send: (f) => sent.push(f) });
  return { m, sent, audit };
}

const settle = () => new Promise((r) => setImmediate(r));

test('FileMediator: an approved read is a sealed copy; an approved create gets the umask; audit before the answer', async () => {
  const asked: FileApprovalRequest[] = [];
  const { m, sent, audit } = await mediator(async (r) => (asked.push(r), 'allow'));
  m.handle(req(`${Z}/k`, { flags: O.APPEND | O.CLOEXEC }));
  await settle();
  assert.deepEqual(asked.map((a) => [a.path, a.access]), [[`${Z}/k`, 'read']]);
  assert.equal(sent.length, 1);
  const v = sent[0]!;
  assert.deepEqual([v.readUInt32LE(20), v.readUInt32LE(28), v.readUInt32LE(36), v.readUInt32LE(40)], [2, 0, 1, O_CLOEXEC], 'open, no O_APPEND on a snapshot, snapshot, cloexec');
  assert.equal(audit[0]?.decision, 'allow');
  assert.deepEqual(audit[0]?.detail, { reason: audit[0]?.detail?.['reason'], syscall: 'openat', flags: `0${(O.APPEND | O.CLOEXEC).toString(8)}`, access: 'read', handedOver: 'sealed copy', approval: 'allow' });

  m.handle(req(`${Z}/new`, { flags: O.CREAT | O.EXCL | 1, mode: 0o666 }));
  await settle();
  const c = sent[1]!;
  assert.deepEqual([c.readUInt32LE(20), c.readUInt32LE(28), c.readUInt32LE(32), c.readUInt32LE(36)], [2, O.CREAT | O.EXCL | 1, 0o640, 0]);
  assert.equal(audit[1]?.detail?.['handedOver'], 'file');
});

test('FileMediator: denied, unanswerable, failing approver: each a refusal with the rule on stderr', async () => {
  const { m, sent, audit } = await mediator(async () => 'deny');
  m.handle(req(`${Z}/k`));
  m.handle(req(`${Z}/no`));
  await settle();
  assert.deepEqual(sent.map((f) => [f.readUInt32LE(20), f.readInt32LE(24)]), [[1, 13], [1, 13]]);
  // The deny is answered at once; the ask when the approver has said no.
  assert.match(sent[0]!.subarray(52).toString(), /open .*\/z\/no: denied by rule filesystem\.deny\[0\]/);
  assert.match(sent[1]!.subarray(52).toString(), /open .*\/z\/k: denied by rule filesystem\.ask\[0\].*not approved/);
  assert.deepEqual(audit.map((a) => a.decision), ['deny', 'deny']);

  const none = await mediator();
  none.m.handle(req(`${Z}/k`));
  assert.equal(none.sent[0]!.readUInt32LE(20), 1);
  assert.equal(none.audit[0]?.detail?.['approval'], 'no-approver');

  const broken = await mediator(() => Promise.reject(new Error('broker down')));
  broken.m.handle(req(`${Z}/k`));
  await settle();
  await settle();
  assert.equal(broken.sent[0]!.readUInt32LE(20), 1, 'a failing approver is a deny');

  // Closed (the session ended while asking): nothing more is sent or recorded.
  let release!: (v: 'allow') => void;
  const late = await mediator(() => new Promise((r) => (release = r)));
  late.m.handle(req(`${Z}/k`));
  assert.equal(late.m.pendingApprovals, 1);
  late.m.close();
  release('allow');
  await settle();
  assert.equal(late.sent.length, 0);
});

test('FileMediator: an exception while deciding is a refusal, not a crash or an open', async () => {
  const fs = view({});
  fs.cwd = () => {
    throw new Error('boom');
  };
  const { m, sent, audit } = await mediator(undefined, fs);
  m.handle(req('relative'));
  assert.equal(sent[0]!.readUInt32LE(20), 1);
  assert.equal(audit[0]?.rule, 'internal.error');
});
