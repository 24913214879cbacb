/**
 * Classic BPF (cBPF) for seccomp: instruction encoding, a label assembler, the kernel's load-time
 * validation, and an interpreter with the kernel's run-time semantics.
 *
 * Why an interpreter: the filter is the kernel floor (L0) of Warden. A wrong jump offset or a
 * misplaced load silently turns a deny into an allow. Every filter we build is executed here, over
 * `struct seccomp_data`, before it ever reaches the kernel, and the tests also run it against the real
 * kernel to show the two agree.
 *
 * Semantics mirrored from Linux (net/core/filter.c bpf_check_classic + check_load_and_stores,
 * kernel/seccomp.c seccomp_check_filter + seccomp_is_const_allow, kernel/bpf/core.c for ALU):
 *  - registers A and X are u32 and start at 0; scratch memory M[0..15] must be written before read;
 *  - all jumps are forward (offsets are unsigned) so every program terminates;
 *  - a run-time division by X == 0 makes the program return 0 (= SECCOMP_RET_KILL_THREAD);
 *  - shifts by X use only the low 5 bits of X (32-bit eBPF ALU semantics).
 *
 * Pure logic: no I/O, no module-level mutable state.
 */

// ---- opcode fields (linux/bpf_common.h, linux/filter.h) ----
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_MISC = 0x07;

export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;

export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_LEN = 0x80;
export const BPF_MSH = 0xa0;

export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;

export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;

export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** RET source: accumulator. */
export const BPF_A = 0x10;

export const BPF_TAX = 0x00;
export const BPF_TXA = 0x80;

/** Kernel limit on a single classic program (and seccomp's per-filter limit). */
export const BPF_MAXINSNS = 4096;
export const BPF_MEMWORDS = 16;
/** Conditional jump offsets are u8. */
export const BPF_MAX_COND_JUMP = 255;

// ---- seccomp return values (linux/seccomp.h) ----
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;
/** The kernel caps SECCOMP_RET_ERRNO data at MAX_ERRNO. */
export const MAX_ERRNO = 4095;

/** Size of `struct seccomp_data`: int nr; u32 arch; u64 instruction_pointer; u64 args[6]. */
export const SECCOMP_DATA_BYTES = 64;

// ---- errors ----
export type BpfErrorCode =
  | 'BPF_EMPTY'
  | 'BPF_TOO_LONG'
  | 'BPF_BAD_FIELD'
  | 'BPF_BAD_OPCODE'
  | 'BPF_BAD_LOAD'
  | 'BPF_BAD_JUMP'
  | 'BPF_DIV_BY_ZERO'
  | 'BPF_BAD_SHIFT'
  | 'BPF_BAD_MEM'
  | 'BPF_UNINIT_MEM'
  | 'BPF_NO_RET'
  | 'BPF_LABEL'
  | 'BPF_BAD_BYTES'
  | 'BPF_BAD_DATA';

/** A program the kernel would refuse (or the assembler cannot build). Stable `code`; `pc` if known. */
export class BpfError extends Error {
  readonly code: BpfErrorCode;
  readonly pc: number | undefined;
  constructor(code: BpfErrorCode, message: string, pc?: number) {
    super(pc === undefined ? message : `insn ${pc}: ${message}`);
    this.name = 'BpfError';
    this.code = code;
    this.pc = pc;
  }
}

// ---- instructions ----
/** struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; } */
export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export function insn(code: number, jt: number, jf: number, k: number): SockFilter {
  return Object.freeze({ code, jt, jf, k: k >>> 0 });
}

/** Little-endian serialisation (x86_64 and aarch64 are both LE), 8 bytes per instruction. */
export function encode(prog: readonly SockFilter[]): Uint8Array {
  const out = new Uint8Array(prog.length * 8);
  const dv = new DataView(out.buffer);
  prog.forEach((ins, i) => {
    checkFields(ins, i);
    dv.setUint16(i * 8, ins.code, true);
    dv.setUint8(i * 8 + 2, ins.jt);
    dv.setUint8(i * 8 + 3, ins.jf);
    dv.setUint32(i * 8 + 4, ins.k, true);
  });
  return out;
}

export function decode(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % 8 !== 0) throw new BpfError('BPF_BAD_BYTES', `length ${bytes.length} is not a multiple of 8`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let o = 0; o < bytes.length; o += 8) {
    out.push(insn(dv.getUint16(o, true), dv.getUint8(o + 2), dv.getUint8(o + 3), dv.getUint32(o + 4, true)));
  }
  return out;
}

function checkFields(ins: SockFilter, pc: number): void {
  const ok =
    Number.isInteger(ins.code) && ins.code >= 0 && ins.code <= 0xffff &&
    Number.isInteger(ins.jt) && ins.jt >= 0 && ins.jt <= 0xff &&
    Number.isInteger(ins.jf) && ins.jf >= 0 && ins.jf <= 0xff &&
    Number.isInteger(ins.k) && ins.k >= 0 && ins.k <= 0xffffffff;
  if (!ok) throw new BpfError('BPF_BAD_FIELD', `field out of range ${JSON.stringify(ins)}`, pc);
}

// ---- assembler ----
/** A jump target: a label name, or null for "the next instruction" (offset 0). */
export type Target = string | null;

export type AsmItem =
  | { readonly op: 'label'; readonly name: string }
  | { readonly op: 'stmt'; readonly code: number; readonly k: number }
  | { readonly op: 'jcond'; readonly code: number; readonly k: number; readonly jt: Target; readonly jf: Target }
  | { readonly op: 'ja'; readonly target: string };

export const label = (name: string): AsmItem => ({ op: 'label', name });
export const stmt = (code: number, k = 0): AsmItem => ({ op: 'stmt', code, k: k >>> 0 });
export const ldAbs = (offset: number): AsmItem => stmt(BPF_LD | BPF_W | BPF_ABS, offset);
export const ret = (k: number): AsmItem => stmt(BPF_RET | BPF_K, k);
export const andK = (k: number): AsmItem => stmt(BPF_ALU | BPF_AND | BPF_K, k);
const jcond = (op: number) => (k: number, jt: Target, jf: Target): AsmItem =>
  ({ op: 'jcond', code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf });
export const jeq = jcond(BPF_JEQ);
export const jgt = jcond(BPF_JGT);
export const jge = jcond(BPF_JGE);
export const jset = jcond(BPF_JSET);
export const ja = (target: string): AsmItem => ({ op: 'ja', target });

type Node =
  | { kind: 'label'; name: string }
  | { kind: 'stmt'; code: number; k: number }
  | { kind: 'jcond'; code: number; k: number; jt: string; jf: string }
  | { kind: 'ja'; code: number; target: string };

/** Prefix for labels the assembler invents; user labels may not use it. */
const SYNTH = '\u0000';

/**
 * Resolve labels to relative offsets. Conditional branches whose target is more than 255
 * instructions away are routed through an inserted `ja` trampoline (JA has a 32-bit offset), and the
 * layout is recomputed until every branch fits. Backward or self references are errors (the kernel
 * has no backward jumps), as are unknown/duplicate labels and labels with no instruction after them.
 * The result passes `validateSeccomp` or this throws.
 */
export function assemble(items: readonly AsmItem[]): SockFilter[] {
  let synth = 0;
  const fresh = () => `${SYNTH}${synth++}`;
  const nodes: Node[] = [];
  const seen = new Set<string>();
  for (const it of items) {
    switch (it.op) {
      case 'label':
        if (it.name.startsWith(SYNTH) || it.name === '') throw new BpfError('BPF_LABEL', `invalid label name ${JSON.stringify(it.name)}`);
        if (seen.has(it.name)) throw new BpfError('BPF_LABEL', `duplicate label ${it.name}`);
        seen.add(it.name);
        nodes.push({ kind: 'label', name: it.name });
        break;
      case 'stmt':
        nodes.push({ kind: 'stmt', code: it.code, k: it.k });
        break;
      case 'ja':
        nodes.push({ kind: 'ja', code: BPF_JMP | BPF_JA, target: it.target });
        break;
      case 'jcond': {
        // A null target means "next instruction": pin it with a synthetic label right after the
        // jump, so later trampoline insertion keeps pointing at the original successor.
        let next: string | undefined;
        const t = it.jt ?? (next ??= fresh());
        const f = it.jf ?? (next ??= fresh());
        nodes.push({ kind: 'jcond', code: it.code, k: it.k, jt: t, jf: f });
        if (next !== undefined) nodes.push({ kind: 'label', name: next });
        break;
      }
    }
  }

  // Every pass either finds no far branch (done) or gives each far branch its own trampoline; a
  // branch that points at its trampoline is at offset <= 1 forever after, so this terminates.
  for (;;) {
    const pos = layout(nodes);
    const far: { index: number; t: boolean; f: boolean }[] = [];
    let pc = 0;
    nodes.forEach((n, index) => {
      if (n.kind === 'label') return;
      if (n.kind === 'jcond') {
        const ot = offsetTo(pos, n.jt, pc);
        const of = offsetTo(pos, n.jf, pc);
        if (ot > BPF_MAX_COND_JUMP || of > BPF_MAX_COND_JUMP) far.push({ index, t: ot > BPF_MAX_COND_JUMP, f: of > BPF_MAX_COND_JUMP });
      } else if (n.kind === 'ja') {
        offsetTo(pos, n.target, pc);
      }
      pc++;
    });
    if (far.length === 0) break;
    if (pc + far.length * 2 > BPF_MAXINSNS) throw new BpfError('BPF_TOO_LONG', `program exceeds ${BPF_MAXINSNS} instructions`);
    // Insert from the back so earlier indices stay valid.
    for (const { index, t, f } of far.reverse()) {
      const j = nodes[index] as Extract<Node, { kind: 'jcond' }>;
      const ins: Node[] = [];
      if (t) {
        const tl = fresh();
        ins.push({ kind: 'label', name: tl }, { kind: 'ja', code: BPF_JMP | BPF_JA, target: j.jt });
        j.jt = tl;
      }
      if (f) {
        if (t && j.jf === (ins[1] as Extract<Node, { kind: 'ja' }>).target) {
          j.jf = j.jt; // both branches go to the same far place: one trampoline serves both
        } else {
          const fl = fresh();
          ins.push({ kind: 'label', name: fl }, { kind: 'ja', code: BPF_JMP | BPF_JA, target: j.jf });
          j.jf = fl;
        }
      }
      nodes.splice(index + 1, 0, ...ins);
    }
  }

  const pos = layout(nodes);
  const out: SockFilter[] = [];
  for (const n of nodes) {
    const pc = out.length;
    if (n.kind === 'label') continue;
    if (n.kind === 'stmt') out.push(insn(n.code, 0, 0, n.k));
    else if (n.kind === 'ja') out.push(insn(n.code, 0, 0, offsetTo(pos, n.target, pc)));
    else out.push(insn(n.code, offsetTo(pos, n.jt, pc), offsetTo(pos, n.jf, pc), n.k));
  }
  validateSeccomp(out);
  return out;
}

/** label -> index of the instruction it precedes. */
function layout(nodes: readonly Node[]): Map<string, number> {
  const pos = new Map<string, number>();
  let pc = 0;
  for (const n of nodes) {
    if (n.kind === 'label') pos.set(n.name, pc);
    else pc++;
  }
  // A label after the last instruction names no instruction.
  for (const [name, p] of pos) if (p >= pc) pos.set(name, -1);
  return pos;
}

function offsetTo(pos: Map<string, number>, name: string, pc: number): number {
  const p = pos.get(name);
  const shown = name.startsWith(SYNTH) ? '(next)' : name;
  if (p === undefined) throw new BpfError('BPF_LABEL', `undefined label ${shown}`, pc);
  if (p === -1) throw new BpfError('BPF_LABEL', `label ${shown} has no instruction after it`, pc);
  if (p <= pc) throw new BpfError('BPF_BAD_JUMP', `backward or self jump to ${shown}`, pc);
  return p - pc - 1;
}

// ---- validation (what the kernel checks at seccomp(SECCOMP_SET_MODE_FILTER) time) ----

/** Opcodes seccomp_check_filter() accepts (after bpf_check_classic). LD|W|LEN is rewritten to LD|IMM 64. */
const SECCOMP_OPCODES: ReadonlySet<number> = new Set([
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  ...[BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH].flatMap((op) => [
    BPF_ALU | op | BPF_K,
    BPF_ALU | op | BPF_X,
  ]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_JMP | BPF_JA,
  ...[BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET].flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

function isCond(code: number): boolean {
  return (code & 0x07) === BPF_JMP && (code & 0xf0) !== BPF_JA;
}

/**
 * Throw `BpfError` exactly where the kernel would return -EINVAL for this program as a seccomp
 * filter: length 1..4096; only the seccomp opcode subset; LD ABS only word-aligned inside
 * seccomp_data; constant division by zero; constant shifts >= 32; scratch index < 16; every jump
 * lands inside the program (forward by construction); the last instruction is a RET; no scratch
 * slot is read before it is written on every path (check_load_and_stores).
 */
export function validateSeccomp(prog: readonly SockFilter[]): void {
  const flen = prog.length;
  if (flen === 0) throw new BpfError('BPF_EMPTY', 'empty program');
  if (flen > BPF_MAXINSNS) throw new BpfError('BPF_TOO_LONG', `${flen} instructions > ${BPF_MAXINSNS}`);
  prog.forEach((ins, pc) => {
    checkFields(ins, pc);
    const { code, k } = ins;
    if (!SECCOMP_OPCODES.has(code)) throw new BpfError('BPF_BAD_OPCODE', `opcode 0x${code.toString(16)} not allowed in seccomp`, pc);
    if (code === (BPF_ALU | BPF_DIV | BPF_K) && k === 0) throw new BpfError('BPF_DIV_BY_ZERO', 'division by constant 0', pc);
    if ((code === (BPF_ALU | BPF_LSH | BPF_K) || code === (BPF_ALU | BPF_RSH | BPF_K)) && k >= 32)
      throw new BpfError('BPF_BAD_SHIFT', `shift by ${k}`, pc);
    if ((code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM) || code === BPF_ST || code === BPF_STX) && k >= BPF_MEMWORDS)
      throw new BpfError('BPF_BAD_MEM', `scratch slot ${k} >= ${BPF_MEMWORDS}`, pc);
    if (code === (BPF_JMP | BPF_JA) && k >= flen - pc - 1) throw new BpfError('BPF_BAD_JUMP', `ja +${k} leaves the program`, pc);
    if (isCond(code) && (pc + ins.jt + 1 >= flen || pc + ins.jf + 1 >= flen))
      throw new BpfError('BPF_BAD_JUMP', `branch +${ins.jt}/+${ins.jf} leaves the program`, pc);
    if (code === (BPF_LD | BPF_W | BPF_ABS) && (k >= SECCOMP_DATA_BYTES || (k & 3) !== 0))
      throw new BpfError('BPF_BAD_LOAD', `load at offset ${k} is misaligned or outside seccomp_data`, pc);
  });
  const last = prog[flen - 1]!.code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) throw new BpfError('BPF_NO_RET', 'last instruction is not RET', flen - 1);

  // check_load_and_stores(): forward dataflow of "slot written" bits, intersected at jump targets.
  // Mirrors the kernel exactly, including that a RET does not reset the running mask.
  const masks = new Array<number>(flen).fill(0xffff);
  let valid = 0;
  for (let pc = 0; pc < flen; pc++) {
    valid &= masks[pc]!;
    const { code, k, jt, jf } = prog[pc]!;
    if (code === BPF_ST || code === BPF_STX) valid |= 1 << k;
    else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if (!(valid & (1 << k))) throw new BpfError('BPF_UNINIT_MEM', `scratch slot ${k} read before written`, pc);
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k] = masks[pc + 1 + k]! & valid;
      valid = 0xffff;
    } else if (isCond(code)) {
      masks[pc + 1 + jt] = masks[pc + 1 + jt]! & valid;
      masks[pc + 1 + jf] = masks[pc + 1 + jf]! & valid;
      valid = 0xffff;
    }
  }
}

// ---- interpreter ----
export interface SeccompData {
  /** Syscall number as the kernel sees it (int); negative values are taken modulo 2^32. */
  readonly nr: number;
  /** AUDIT_ARCH_* of the calling ABI. */
  readonly arch: number;
  readonly instructionPointer?: bigint;
  /** Up to six 64-bit arguments (missing ones are 0); values are taken modulo 2^64. */
  readonly args?: readonly bigint[];
}

/** The exact 64 bytes the kernel's populate_seccomp_data() produces on a little-endian ABI. */
export function seccompDataBytes(d: SeccompData): Uint8Array {
  if (!Number.isInteger(d.nr) || !Number.isInteger(d.arch)) throw new BpfError('BPF_BAD_DATA', 'nr and arch must be integers');
  if ((d.args?.length ?? 0) > 6) throw new BpfError('BPF_BAD_DATA', 'at most 6 arguments');
  const b = new Uint8Array(SECCOMP_DATA_BYTES);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, d.nr >>> 0, true);
  dv.setUint32(4, d.arch >>> 0, true);
  dv.setBigUint64(8, BigInt.asUintN(64, d.instructionPointer ?? 0n), true);
  (d.args ?? []).forEach((a, i) => dv.setBigUint64(16 + 8 * i, BigInt.asUintN(64, a), true));
  return b;
}

/**
 * Run `prog` over `data` and return the 32-bit value the filter returns, as the kernel would.
 * The program is validated first (a program the kernel would reject has no meaning to run).
 */
export function runSeccomp(prog: readonly SockFilter[], data: SeccompData): number {
  validateSeccomp(prog);
  const bytes = seccompDataBytes(data);
  const dv = new DataView(bytes.buffer);
  const M = new Uint32Array(BPF_MEMWORDS);
  let A = 0;
  let X = 0;
  let pc = 0;
  // Forward-only jumps: at most prog.length steps.
  for (;;) {
    const ins = prog[pc];
    if (ins === undefined) throw new BpfError('BPF_BAD_JUMP', 'ran off the end', pc);
    const { code, k } = ins;
    pc++;
    switch (code) {
      case BPF_LD | BPF_W | BPF_ABS:
        A = dv.getUint32(k, true);
        break;
      case BPF_LD | BPF_W | BPF_LEN:
        A = SECCOMP_DATA_BYTES;
        break;
      case BPF_LDX | BPF_W | BPF_LEN:
        X = SECCOMP_DATA_BYTES;
        break;
      case BPF_LD | BPF_IMM:
        A = k;
        break;
      case BPF_LDX | BPF_IMM:
        X = k;
        break;
      case BPF_LD | BPF_MEM:
        A = M[k]!;
        break;
      case BPF_LDX | BPF_MEM:
        X = M[k]!;
        break;
      case BPF_ST:
        M[k] = A;
        break;
      case BPF_STX:
        M[k] = X;
        break;
      case BPF_MISC | BPF_TAX:
        X = A;
        break;
      case BPF_MISC | BPF_TXA:
        A = X;
        break;
      case BPF_RET | BPF_K:
        return k >>> 0;
      case BPF_RET | BPF_A:
        return A >>> 0;
      case BPF_JMP | BPF_JA:
        pc += k;
        break;
      case BPF_ALU | BPF_NEG:
        A = -A >>> 0;
        break;
      default: {
        const cls = code & 0x07;
        const src = code & BPF_X ? X : k;
        if (cls === BPF_ALU) {
          const op = code & 0xf0;
          if (op === BPF_DIV && src === 0) return 0; // cBPF: division by zero returns 0
          A = alu(op, A, src);
        } else if (cls === BPF_JMP) {
          const op = code & 0xf0;
          const taken =
            op === BPF_JEQ ? A === src : op === BPF_JGT ? A > src : op === BPF_JGE ? A >= src : (A & src) !== 0;
          pc += taken ? ins.jt : ins.jf;
        } else {
          throw new BpfError('BPF_BAD_OPCODE', `opcode 0x${code.toString(16)}`, pc - 1);
        }
      }
    }
  }
}

function alu(op: number, a: number, b: number): number {
  switch (op) {
    case BPF_ADD: return (a + b) >>> 0;
    case BPF_SUB: return (a - b) >>> 0;
    case BPF_MUL: return Math.imul(a, b) >>> 0;
    case BPF_DIV: return Math.floor(a / b) >>> 0;
    case BPF_OR: return (a | b) >>> 0;
    case BPF_AND: return (a & b) >>> 0;
    case BPF_XOR: return (a ^ b) >>> 0;
    case BPF_LSH: return (a << (b & 31)) >>> 0;
    case BPF_RSH: return a >>> (b & 31);
    default: throw new BpfError('BPF_BAD_OPCODE', `alu op 0x${op.toString(16)}`);
  }
}

/**
 * The kernel's seccomp action cache (kernel/seccomp.c seccomp_is_const_allow, Linux >= 5.11): for
 * each syscall nr of the native arch it symbolically runs the filter with only `nr` and `arch`
 * known; if RET ALLOW is reached without touching args/instruction_pointer or any other opcode,
 * that syscall is marked always-allowed and the filter is never run for it again. This is what
 * makes a deny-list filter free on the hot path, so the filter is shaped to keep every allowed
 * syscall's path cacheable. (The kernel also hard-allows uretprobe; not modelled here.)
 */
export function isConstAllow(prog: readonly SockFilter[], nr: number, arch: number): boolean {
  let reg = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, k, jt, jf } = prog[pc]!;
    switch (code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (k === 0) reg = nr >>> 0;
        else if (k === 4) reg = arch >>> 0;
        else return false;
        break;
      case BPF_RET | BPF_K:
        return k >>> 0 === SECCOMP_RET_ALLOW;
      case BPF_JMP | BPF_JA:
        pc += k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += reg === k ? jt : jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += reg >= k ? jt : jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += reg > k ? jt : jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (reg & k) !== 0 ? jt : jf;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        reg = (reg & k) >>> 0;
        break;
      default:
        return false;
    }
  }
  return false;
}

// ---- seccomp actions ----
export type SeccompActionName =
  | 'kill_process'
  | 'kill_thread'
  | 'trap'
  | 'errno'
  | 'user_notif'
  | 'trace'
  | 'log'
  | 'allow';

/**
 * What the kernel does with a filter return value (kernel/seccomp.c __seccomp_filter): the action is
 * ret & SECCOMP_RET_ACTION_FULL; unknown actions are treated as KILL_PROCESS; ERRNO data is capped
 * at MAX_ERRNO.
 */
export function decodeAction(ret: number): { action: SeccompActionName; data: number } {
  const r = ret >>> 0;
  const action = (r & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = r & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_KILL_PROCESS: return { action: 'kill_process', data };
    case SECCOMP_RET_KILL_THREAD: return { action: 'kill_thread', data };
    case SECCOMP_RET_TRAP: return { action: 'trap', data };
    case SECCOMP_RET_ERRNO: return { action: 'errno', data: Math.min(data, MAX_ERRNO) };
    case SECCOMP_RET_USER_NOTIF: return { action: 'user_notif', data };
    case SECCOMP_RET_TRACE: return { action: 'trace', data };
    case SECCOMP_RET_LOG: return { action: 'log', data };
    case SECCOMP_RET_ALLOW: return { action: 'allow', data };
    default: return { action: 'kill_process', data };
  }
}

// ---- disassembly (for reviews and failure messages) ----
const JOP: Record<number, string> = { [BPF_JEQ]: 'jeq', [BPF_JGT]: 'jgt', [BPF_JGE]: 'jge', [BPF_JSET]: 'jset' };
const AOP: Record<number, string> = {
  [BPF_ADD]: 'add', [BPF_SUB]: 'sub', [BPF_MUL]: 'mul', [BPF_DIV]: 'div', [BPF_OR]: 'or', [BPF_AND]: 'and',
  [BPF_XOR]: 'xor', [BPF_LSH]: 'lsh', [BPF_RSH]: 'rsh', [BPF_MOD]: 'mod',
};

export function disassemble(prog: readonly SockFilter[]): string[] {
  const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;
  return prog.map(({ code, jt, jf, k }, pc) => {
    const at = String(pc).padStart(4, '0');
    const cls = code & 0x07;
    let text: string;
    if (code === (BPF_LD | BPF_W | BPF_ABS)) text = `ld [${k}]`;
    else if (code === (BPF_LD | BPF_IMM)) text = `ld #${hex(k)}`;
    else if (code === (BPF_LDX | BPF_IMM)) text = `ldx #${hex(k)}`;
    else if (code === (BPF_LD | BPF_MEM)) text = `ld M[${k}]`;
    else if (code === (BPF_LDX | BPF_MEM)) text = `ldx M[${k}]`;
    else if (code === (BPF_LD | BPF_W | BPF_LEN)) text = 'ld #len';
    else if (code === (BPF_LDX | BPF_W | BPF_LEN)) text = 'ldx #len';
    else if (code === BPF_ST) text = `st M[${k}]`;
    else if (code === BPF_STX) text = `stx M[${k}]`;
    else if (code === (BPF_MISC | BPF_TAX)) text = 'tax';
    else if (code === (BPF_MISC | BPF_TXA)) text = 'txa';
    else if (code === (BPF_RET | BPF_K)) text = `ret #${hex(k)}`;
    else if (code === (BPF_RET | BPF_A)) text = 'ret a';
    else if (code === (BPF_JMP | BPF_JA)) text = `ja ${pc + 1 + k}`;
    else if (cls === BPF_JMP && JOP[code & 0xf0]) text = `${JOP[code & 0xf0]} ${code & BPF_X ? 'x' : '#' + hex(k)} jt ${pc + 1 + jt} jf ${pc + 1 + jf}`;
    else if (code === (BPF_ALU | BPF_NEG)) text = 'neg';
    else if (cls === BPF_ALU && AOP[code & 0xf0]) text = `${AOP[code & 0xf0]} ${code & BPF_X ? 'x' : '#' + hex(k)}`;
    else text = `.insn code=${hex(code)} jt=${jt} jf=${jf} k=${hex(k)}`;
    return `${at}: ${text}`;
  });
}
