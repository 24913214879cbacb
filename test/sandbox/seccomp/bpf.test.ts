import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MISC,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  BpfError,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_USER_NOTIF,
  andK,
  assemble,
  decode,
  decodeAction,
  disassemble,
  encode,
  insn,
  isConstAllow,
  ja,
  jeq,
  jge,
  jgt,
  jset,
  label,
  ldAbs,
  ret,
  runSeccomp,
  seccompDataBytes,
  stmt,
  validateSeccomp,
  type AsmItem,
  type BpfErrorCode,
  type SockFilter,
} from '../../../src/sandbox/seccomp/bpf.js';

const throwsCode = (fn: () => unknown, code: BpfErrorCode) =>
  assert.throws(fn, (e: unknown) => e instanceof BpfError && e.code === code, `expected ${code}`);

test('encoding: struct sock_filter is {u16 code, u8 jt, u8 jf, u32 k} little-endian', () => {
  const bytes = encode([insn(0x0015, 0x01, 0xfe, 0xc000003e), insn(0x0006, 0, 0, 0x7fff0000)]);
  assert.deepEqual([...bytes], [0x15, 0x00, 0x01, 0xfe, 0x3e, 0x00, 0x00, 0xc0, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f]);
  assert.deepEqual(decode(bytes), [insn(0x15, 1, 0xfe, 0xc000003e), insn(6, 0, 0, 0x7fff0000)]);
  throwsCode(() => decode(new Uint8Array(7)), 'BPF_BAD_BYTES');
  throwsCode(() => encode([{ code: 0x10000, jt: 0, jf: 0, k: 0 }]), 'BPF_BAD_FIELD');
  throwsCode(() => encode([{ code: 6, jt: 256, jf: 0, k: 0 }]), 'BPF_BAD_FIELD');
  throwsCode(() => encode([{ code: 6, jt: 0, jf: 0, k: -1 }]), 'BPF_BAD_FIELD');
});

test('encoding round-trips for any field values', () => {
  const arb = fc.record({
    code: fc.integer({ min: 0, max: 0xffff }),
    jt: fc.integer({ min: 0, max: 255 }),
    jf: fc.integer({ min: 0, max: 255 }),
    k: fc.integer({ min: 0, max: 0xffffffff }),
  });
  fc.assert(fc.property(fc.array(arb, { maxLength: 50 }), (prog) => {
    assert.deepEqual(decode(encode(prog)), prog.map((i) => insn(i.code, i.jt, i.jf, i.k)));
  }));
});

test('opcode constants match linux/bpf_common.h', () => {
  assert.equal(BPF_LD | BPF_W | BPF_ABS, 0x20);
  assert.equal(BPF_JMP | BPF_JEQ | BPF_K, 0x15);
  assert.equal(BPF_JMP | BPF_JGE | BPF_K, 0x35);
  assert.equal(BPF_JMP | BPF_JGT | BPF_K, 0x25);
  assert.equal(BPF_JMP | BPF_JSET | BPF_K, 0x45);
  assert.equal(BPF_ALU | BPF_AND | BPF_K, 0x54);
  assert.equal(BPF_RET | BPF_K, 0x06);
  assert.equal(BPF_JMP | BPF_JA, 0x05);
});

test('assembler: labels resolve to forward relative offsets; null means next', () => {
  const prog = assemble([
    ldAbs(4),
    jeq(0xc000003e, null, 'kill'),
    ldAbs(0),
    jeq(39, 'errno', 'allow'),
    label('allow'),
    ret(SECCOMP_RET_ALLOW),
    label('errno'),
    ret(SECCOMP_RET_ERRNO | 1),
    label('kill'),
    ret(SECCOMP_RET_KILL_PROCESS),
  ]);
  assert.deepEqual(prog, [
    insn(0x20, 0, 0, 4),
    insn(0x15, 0, 4, 0xc000003e),
    insn(0x20, 0, 0, 0),
    insn(0x15, 1, 0, 39),
    insn(0x06, 0, 0, SECCOMP_RET_ALLOW),
    insn(0x06, 0, 0, SECCOMP_RET_ERRNO | 1),
    insn(0x06, 0, 0, SECCOMP_RET_KILL_PROCESS),
  ]);
  assert.deepEqual(disassemble(prog).slice(0, 2), ['0000: ld [4]', '0001: jeq #0xc000003e jt 2 jf 6']);
});

test('assembler: label errors', () => {
  throwsCode(() => assemble([jeq(1, 'nowhere', null), ret(0)]), 'BPF_LABEL');
  throwsCode(() => assemble([label('a'), ret(0), label('a'), ret(0)]), 'BPF_LABEL');
  throwsCode(() => assemble([jeq(1, 'end', null), ret(0), label('end')]), 'BPF_LABEL');
  throwsCode(() => assemble([label('\u0000x'), ret(0)]), 'BPF_LABEL');
  // backward and self jumps
  throwsCode(() => assemble([label('top'), ldAbs(0), jeq(1, 'top', null), ret(0)]), 'BPF_BAD_JUMP');
  throwsCode(() => assemble([label('self'), ja('self'), ret(0)]), 'BPF_BAD_JUMP');
  // the output must also be a valid seccomp program
  throwsCode(() => assemble([ldAbs(0)]), 'BPF_NO_RET');
});

function padding(n: number): AsmItem[] {
  return Array.from({ length: n }, () => stmt(BPF_LD | BPF_IMM, 1));
}

test('assembler: a branch farther than 255 goes through a JA trampoline', () => {
  const items = [ldAbs(0), jeq(7, 'far', null), ...padding(300), ret(SECCOMP_RET_ALLOW), label('far'), ret(SECCOMP_RET_ERRNO | 1)];
  const prog = assemble(items);
  assert.equal(prog.length, 1 + 1 + 1 + 300 + 2);
  assert.deepEqual(prog[1], insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 7)); // jt -> trampoline, jf skips it
  assert.equal(prog[2]!.code, BPF_JMP | BPF_JA);
  assert.equal(2 + 1 + prog[2]!.k, prog.length - 1);
  assert.equal(runSeccomp(prog, { nr: 7, arch: 0 }), SECCOMP_RET_ERRNO | 1);
  assert.equal(runSeccomp(prog, { nr: 8, arch: 0 }), SECCOMP_RET_ALLOW);
});

test('assembler: both branches far, same and different targets', () => {
  const same = assemble([ldAbs(0), jeq(7, 'far', 'far'), ...padding(300), label('far'), ret(5)]);
  assert.equal(same[2]!.code, BPF_JMP | BPF_JA);
  assert.deepEqual([same[1]!.jt, same[1]!.jf], [0, 0]);
  assert.equal(same.length, 2 + 1 + 300 + 1);
  const diff = assemble([ldAbs(0), jeq(7, 'a', 'b'), ...padding(300), label('a'), ret(5), label('b'), ret(6)]);
  assert.deepEqual([diff[1]!.jt, diff[1]!.jf], [0, 1]);
  assert.equal(runSeccomp(diff, { nr: 7, arch: 0 }), 5);
  assert.equal(runSeccomp(diff, { nr: 9, arch: 0 }), 6);
});

test('assembler: exactly 255 needs no trampoline, 256 does', () => {
  const at = (n: number) => assemble([ldAbs(0), jeq(1, 'x', null), ...padding(n), label('x'), ret(1)]);
  assert.equal(at(255).length, 2 + 255 + 1);
  assert.equal(at(255)[1]!.jt, 255);
  assert.equal(at(256).length, 2 + 256 + 1 + 1);
});

test('assembler: inserting trampolines can push other branches out of range; fixpoint handles it', () => {
  // Many branches all aimed just inside the limit: each trampoline shifts the rest past 255.
  const items: AsmItem[] = [ldAbs(0)];
  for (let i = 0; i < 20; i++) items.push(jeq(i, `t${i}`, null));
  items.push(...padding(240));
  for (let i = 0; i < 20; i++) items.push(label(`t${i}`), ret(1000 + i));
  items.push(ret(SECCOMP_RET_ALLOW));
  const prog = assemble(items);
  for (let i = 0; i < 20; i++) assert.equal(runSeccomp(prog, { nr: i, arch: 0 }), 1000 + i);
  assert.equal(runSeccomp(prog, { nr: 99, arch: 0 }), 1000); // falls into padding then t0's ret
});

test('assembler: property — random label programs assemble, validate, and branch where the labels say', () => {
  // Program: a chain of compares on nr, each jumping to one of several return labels placed after
  // random padding. The interpreter must return the label's value for the first matching compare.
  const arb = fc.record({
    keys: fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 40 }),
    targets: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 40, maxLength: 40 }),
    pads: fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 6, maxLength: 6 }),
    probe: fc.integer({ min: 0, max: 600 }),
  });
  fc.assert(fc.property(arb, ({ keys, targets, pads, probe }) => {
    const items: AsmItem[] = [ldAbs(0)];
    keys.forEach((k, i) => items.push(jeq(k, `r${targets[i]}`, null)));
    items.push(ja('r_default'));
    for (let r = 0; r < 6; r++) items.push(...padding(pads[r]!), label(`r${r}`), ret(r + 1));
    items.push(label('r_default'), ret(99));
    const prog = assemble(items);
    validateSeccomp(prog);
    assert.ok(prog.every((p) => p.jt <= 255 && p.jf <= 255));
    const i = keys.indexOf(probe);
    assert.equal(runSeccomp(prog, { nr: probe, arch: 0 }), i === -1 ? 99 : targets[i]! + 1);
  }), { numRuns: 200 });
});

test('assembler: refuses programs over 4096 instructions', () => {
  throwsCode(() => assemble([...padding(BPF_MAXINSNS), ret(0)]), 'BPF_TOO_LONG');
  assert.equal(assemble([...padding(BPF_MAXINSNS - 1), ret(0)]).length, BPF_MAXINSNS);
});

test('validator: rejections mirror the kernel', () => {
  const allow = insn(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
  const cases: [SockFilter[], BpfErrorCode][] = [
    [[], 'BPF_EMPTY'],
    [Array.from({ length: BPF_MAXINSNS + 1 }, () => allow), 'BPF_TOO_LONG'],
    [[insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, 1), allow], 'BPF_BAD_LOAD'],
    [[insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, 64), allow], 'BPF_BAD_LOAD'],
    [[insn(BPF_LD | 0x08 | BPF_ABS, 0, 0, 0), allow], 'BPF_BAD_OPCODE'], // LD H ABS
    [[insn(BPF_LD | BPF_W | 0x40, 0, 0, 0), allow], 'BPF_BAD_OPCODE'], // LD W IND
    [[insn(BPF_LDX | 0x10 | 0xa0, 0, 0, 0), allow], 'BPF_BAD_OPCODE'], // LDX B MSH
    [[insn(BPF_ALU | 0x90 | BPF_K, 0, 0, 3), allow], 'BPF_BAD_OPCODE'], // MOD
    [[insn(0xffff, 0, 0, 0), allow], 'BPF_BAD_OPCODE'],
    [[insn(BPF_ALU | BPF_DIV | BPF_K, 0, 0, 0), allow], 'BPF_DIV_BY_ZERO'],
    [[insn(BPF_ALU | BPF_RSH | BPF_K, 0, 0, 32), allow], 'BPF_BAD_SHIFT'],
    [[insn(BPF_ST, 0, 0, 16), allow], 'BPF_BAD_MEM'],
    [[insn(BPF_LDX | BPF_MEM, 0, 0, 0), allow], 'BPF_UNINIT_MEM'],
    [[insn(BPF_JMP | BPF_JA, 0, 0, 1), allow], 'BPF_BAD_JUMP'],
    [[insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), allow], 'BPF_BAD_JUMP'],
    [[insn(BPF_JMP | BPF_JGT | BPF_X, 1, 0, 0), allow], 'BPF_BAD_JUMP'],
    [[allow, insn(BPF_LD | BPF_IMM, 0, 0, 0)], 'BPF_NO_RET'],
    [[insn(BPF_RET | BPF_K, 300, 0, 0)], 'BPF_BAD_FIELD'],
  ];
  for (const [prog, code] of cases) throwsCode(() => validateSeccomp(prog), code);
});

test('validator: scratch-memory dataflow is per path (check_load_and_stores)', () => {
  const ok = [
    insn(BPF_ST, 0, 0, 2),
    insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    insn(BPF_LD | BPF_MEM, 0, 0, 2),
    insn(BPF_RET | BPF_A, 0, 0, 0),
  ];
  validateSeccomp(ok);
  const bad = [
    insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 5),
    insn(BPF_ST, 0, 0, 2),
    insn(BPF_LD | BPF_MEM, 0, 0, 2),
    insn(BPF_RET | BPF_A, 0, 0, 0),
  ];
  throwsCode(() => validateSeccomp(bad), 'BPF_UNINIT_MEM');
});

test('seccomp_data layout: nr@0, arch@4, ip@8, args[i]@16+8i, little-endian', () => {
  const b = seccompDataBytes({ nr: -1, arch: 0xc000003e, instructionPointer: 0x1122334455667788n, args: [0x0102030405060708n, -1n] });
  const dv = new DataView(b.buffer);
  assert.equal(b.length, 64);
  assert.equal(dv.getUint32(0, true), 0xffffffff);
  assert.equal(dv.getUint32(4, true), 0xc000003e);
  assert.equal(dv.getBigUint64(8, true), 0x1122334455667788n);
  assert.equal(dv.getUint32(16, true), 0x05060708); // args[0] low word
  assert.equal(dv.getUint32(20, true), 0x01020304); // args[0] high word
  assert.equal(dv.getBigUint64(24, true), 0xffffffffffffffffn);
  assert.equal(dv.getBigUint64(56, true), 0n);
  assert.throws(() => seccompDataBytes({ nr: 0, arch: 0, args: [0n, 0n, 0n, 0n, 0n, 0n, 0n] }), BpfError);
  assert.throws(() => seccompDataBytes({ nr: 0.5, arch: 0 }), BpfError);
});

test('interpreter: loads, ALU, X register, scratch memory, RET A', () => {
  const run = (items: AsmItem[], args: bigint[] = []) => runSeccomp(assemble(items), { nr: 100, arch: 7, args });
  assert.equal(run([ldAbs(0), stmt(BPF_RET | BPF_A)]), 100);
  assert.equal(run([ldAbs(4), stmt(BPF_RET | BPF_A)]), 7);
  assert.equal(run([ldAbs(20), stmt(BPF_RET | BPF_A)], [0xdeadbeef_00000001n]), 0xdeadbeef);
  assert.equal(run([stmt(BPF_LD | BPF_W | BPF_LEN), stmt(BPF_RET | BPF_A)]), 64);
  assert.equal(run([stmt(BPF_LDX | BPF_W | BPF_LEN), stmt(BPF_MISC | BPF_TXA), stmt(BPF_RET | BPF_A)]), 64);
  const alu = (op: number, a: number, b: number, src: 'k' | 'x') =>
    run(
      src === 'k'
        ? [stmt(BPF_LD | BPF_IMM, a), stmt(BPF_ALU | op | BPF_K, b), stmt(BPF_RET | BPF_A)]
        : [stmt(BPF_LDX | BPF_IMM, b), stmt(BPF_LD | BPF_IMM, a), stmt(BPF_ALU | op | BPF_X), stmt(BPF_RET | BPF_A)],
    );
  for (const src of ['k', 'x'] as const) {
    assert.equal(alu(BPF_ADD, 0xffffffff, 2, src), 1);
    assert.equal(alu(BPF_SUB, 1, 2, src), 0xffffffff);
    assert.equal(alu(BPF_MUL, 0x10000, 0x10001, src), 0x10000);
    assert.equal(alu(BPF_DIV, 0xffffffff, 16, src), 0x0fffffff);
    assert.equal(alu(BPF_OR, 0xf0, 0x0f, src), 0xff);
    assert.equal(alu(BPF_AND, 0xff00ff00, 0x0ff00ff0, src), 0x0f000f00);
    assert.equal(alu(BPF_XOR, 0xffffffff, 0x0f0f0f0f, src), 0xf0f0f0f0);
    assert.equal(alu(BPF_LSH, 0x80000001, 1, src), 2);
    assert.equal(alu(BPF_RSH, 0x80000000, 31, src), 1);
  }
  // X-register shifts use the low 5 bits (eBPF ALU32); division by X == 0 returns 0 from the program.
  assert.equal(alu(BPF_LSH, 1, 33, 'x'), 2);
  assert.equal(alu(BPF_DIV, 5, 0, 'x'), 0);
  assert.equal(run([stmt(BPF_LD | BPF_IMM, 5), stmt(BPF_ALU | BPF_NEG), stmt(BPF_RET | BPF_A)]), 0xfffffffb);
  assert.equal(run([stmt(BPF_LD | BPF_IMM, 9), stmt(BPF_MISC | BPF_TAX), stmt(BPF_LD | BPF_IMM, 1), stmt(BPF_MISC | BPF_TXA), stmt(BPF_RET | BPF_A)]), 9);
  assert.equal(run([stmt(BPF_LD | BPF_IMM, 42), stmt(BPF_ST, 15), stmt(BPF_LD | BPF_IMM, 0), stmt(BPF_LDX | BPF_MEM, 15), stmt(BPF_STX, 1), stmt(BPF_LD | BPF_MEM, 1), stmt(BPF_RET | BPF_A)]), 42);
});

test('interpreter: conditional jumps are unsigned 32-bit compares (K and X)', () => {
  const prog = (j: AsmItem) => assemble([ldAbs(0), j, ret(0), label('t'), ret(1)]);
  const run = (j: AsmItem, nr: number) => runSeccomp(prog(j), { nr, arch: 0 });
  assert.equal(run(jeq(5, 't', null), 5), 1);
  assert.equal(run(jeq(5, 't', null), 6), 0);
  assert.equal(run(jgt(5, 't', null), 6), 1);
  assert.equal(run(jgt(5, 't', null), 5), 0);
  assert.equal(run(jge(5, 't', null), 5), 1);
  assert.equal(run(jge(0x40000000, 't', null), -1), 1); // nr -1 is 0xffffffff, unsigned
  assert.equal(run(jset(0x10, 't', null), 0x30), 1);
  assert.equal(run(jset(0x10, 't', null), 0x20), 0);
  const x = assemble([stmt(BPF_LDX | BPF_IMM, 10), ldAbs(0), { op: 'jcond', code: BPF_JMP | BPF_JGT | BPF_X, k: 0, jt: 't', jf: null }, ret(0), label('t'), ret(1)]);
  assert.equal(runSeccomp(x, { nr: 11, arch: 0 }), 1);
  assert.equal(runSeccomp(x, { nr: 10, arch: 0 }), 0);
  const and = assemble([ldAbs(0), andK(0xf), jeq(0xa, 't', null), ret(0), label('t'), ret(1)]);
  assert.equal(runSeccomp(and, { nr: 0x8000a, arch: 0 }), 1);
});

test('interpreter: refuses to run programs the kernel would reject', () => {
  throwsCode(() => runSeccomp([insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, 3), insn(BPF_RET | BPF_K, 0, 0, 0)], { nr: 0, arch: 0 }), 'BPF_BAD_LOAD');
});

test('interpreter: property — any valid random program terminates with a u32 and never throws', () => {
  // Random straight-line ALU/load/compare programs ending in RET; jumps only forward, in range.
  const opArb = fc.oneof(
    fc.record({ t: fc.constant('ld' as const), off: fc.integer({ min: 0, max: 15 }).map((i) => i * 4) }),
    fc.record({ t: fc.constant('alu' as const), op: fc.constantFrom(BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH), k: fc.integer({ min: 0, max: 31 }) }),
    fc.record({ t: fc.constant('j' as const), op: fc.constantFrom(BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET), k: fc.integer({ min: 0, max: 0xffffffff }), jt: fc.integer({ min: 0, max: 5 }), jf: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ t: fc.constant('ret' as const), k: fc.integer({ min: 0, max: 0xffffffff }) }),
  );
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.integer(), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 6 }), (ops, nr, args) => {
    const n = ops.length + 1;
    const prog: SockFilter[] = ops.map((o, pc) => {
      switch (o.t) {
        case 'ld': return insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, o.off);
        case 'alu': return insn(BPF_ALU | o.op | BPF_K, 0, 0, o.k);
        case 'j': {
          const room = n - pc - 2;
          return insn(BPF_JMP | o.op | BPF_K, Math.min(o.jt, room), Math.min(o.jf, room), o.k);
        }
        case 'ret': return insn(BPF_RET | BPF_K, 0, 0, o.k);
      }
    });
    prog.push(insn(BPF_RET | BPF_A, 0, 0, 0));
    const r = runSeccomp(prog, { nr, arch: 0xc000003e, args });
    assert.ok(Number.isInteger(r) && r >= 0 && r <= 0xffffffff);
  }), { numRuns: 500 });
});

test('isConstAllow mirrors seccomp_is_const_allow', () => {
  const prog = assemble([
    ldAbs(4), jeq(0xc000003e, null, 'kill'),
    ldAbs(0), jge(0x40000000, 'kill', null),
    jeq(16, 'ioctl', null), jeq(101, 'eperm', 'allow'),
    label('ioctl'), ldAbs(24), jeq(0x5412, 'eperm', 'allow'),
    label('allow'), ret(SECCOMP_RET_ALLOW),
    label('eperm'), ret(SECCOMP_RET_ERRNO | 1),
    label('kill'), ret(SECCOMP_RET_KILL_PROCESS),
  ]);
  assert.equal(isConstAllow(prog, 0, 0xc000003e), true); // read: cacheable
  assert.equal(isConstAllow(prog, 16, 0xc000003e), false); // ioctl reads args
  assert.equal(isConstAllow(prog, 101, 0xc000003e), false); // denied
  assert.equal(isConstAllow(prog, 0, 0x40000003), false); // foreign arch
  assert.equal(isConstAllow(prog, 0x40000000, 0xc000003e), false);
  // Any other opcode on the path defeats the cache.
  assert.equal(isConstAllow(assemble([stmt(BPF_LD | BPF_IMM, 0), ret(SECCOMP_RET_ALLOW)]), 0, 0), false);
});

test('decodeAction follows the kernel: unknown actions kill the process, errno capped at 4095', () => {
  assert.deepEqual(decodeAction(SECCOMP_RET_ALLOW), { action: 'allow', data: 0 });
  assert.deepEqual(decodeAction(SECCOMP_RET_ERRNO | 38), { action: 'errno', data: 38 });
  assert.deepEqual(decodeAction(SECCOMP_RET_ERRNO | 0xffff), { action: 'errno', data: 4095 });
  assert.deepEqual(decodeAction(SECCOMP_RET_USER_NOTIF), { action: 'user_notif', data: 0 });
  assert.deepEqual(decodeAction(SECCOMP_RET_KILL_PROCESS), { action: 'kill_process', data: 0 });
  assert.deepEqual(decodeAction(0), { action: 'kill_thread', data: 0 });
  assert.deepEqual(decodeAction(0x00040000), { action: 'kill_process', data: 0 });
  assert.deepEqual(decodeAction(0x00030007), { action: 'trap', data: 7 });
});

test('JA and RET K are encoded with k, jt/jf zero', () => {
  const p = assemble([ja('x'), stmt(BPF_LD | BPF_IMM, 0), label('x'), ret(3)]);
  assert.deepEqual(p[0], insn(BPF_JMP | BPF_JA, 0, 0, 1));
  assert.equal(runSeccomp(p, { nr: 0, arch: 0 }), 3);
  assert.equal(BPF_A, 0x10);
  assert.equal(BPF_X, 0x08);
  assert.equal(BPF_MEM, 0x60);
  assert.equal(BPF_LEN, 0x80);
});
