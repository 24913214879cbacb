import type { ApprovalAnswer, ApprovalScope, PendingApproval } from './broker.js';
import type { PausedTree, TreePause } from './tree-pause.js';
import type { Tty } from './tty.js';

/**
 * The approval prompt on Warden's own terminal: one pending approval at a time, answered with a
 * keypress, racing fairly with `warden approvals` from another terminal (the broker takes the
 * first answer; the prompt then goes away, whoever answered).
 *
 * Who can answer here: only a person at the keyboard. The sandboxed tree shares this terminal,
 * so while the prompt is up the tree is paused (it can neither read the keypress nor print over
 * the prompt), and what is read is trusted only as a single deliberate keystroke:
 *  - TIOCSTI/TIOCLINUX (faking input) are refused by the sandbox's seccomp filter;
 *  - bytes a terminal sends back on its own (replies to queries such as DSR or DA, the ENQ
 *    answerback, title reports) come as multi-byte chunks, mostly starting with ESC: any chunk
 *    that is not exactly one byte is ignored;
 *  - input that was already queued (type-ahead, or a reply to something printed before the tree
 *    was paused) is discarded: a key counts only after `guardMs` of quiet since the prompt
 *    appeared and since the previous byte.
 * What the prompt shows of the operation is untrusted text: control and format characters
 * (escape sequences, bidi overrides, zero-width characters) are shown as visible escapes.
 *
 * The terminal's foreground: Warden reads only as the foreground group. When a job-control shell
 * inside (`bash -i`) has made one of its groups the foreground, Warden takes it for its own group
 * while the tree is paused and gives it back before the tree continues, on every way the prompt
 * ends (answer, timeout, answer elsewhere, session end, signal, exception). It takes it only from
 * a group of the paused tree — never from the user's own shell when Warden runs in its
 * background — and gives it back only to that group, only if a process of it is still alive and
 * only if Warden still holds the foreground. A group that vanished meanwhile (killed from outside;
 * its zombies are not reaped while the tree is paused, so the kernel would still accept it) leaves
 * the foreground with Warden's group, which is the one the session started with: what the shell
 * would itself restore on exit, and a job-control shell takes it back on its own; anything else
 * (another group of that shell) would be a guess. Without the native addon, or when the kernel
 * refuses (EPERM: not this terminal's session), the one-line notice is printed instead.
 */

export interface AnswerTarget {
  answer(id: string, decision: 'allow' | 'deny', by: string, scope: ApprovalScope): { ok: true } | { ok: false; error: string };
}

export interface TerminalPrompterOptions {
  tty: Tty;
  pause: TreePause;
  broker: AnswerTarget;
  /** Audited as the answerer, e.g. `terminal:/dev/pts/3 uid 1000`. */
  who: string;
  /** For a request this terminal cannot ask about (not in the foreground, tree not pausable). */
  fallback: (p: PendingApproval, why: string) => void;
  guardMs?: number;
  now?: () => number;
}

export type Key = { decision: 'allow'; scope: ApprovalScope } | { decision: 'deny'; scope: 'once' };

/** y = allow once, s = allow for this session, n/N/Enter/^C/^D = deny; anything else: null. */
export function keyOf(chunk: Uint8Array): Key | null {
  if (chunk.length !== 1) return null;
  switch (chunk[0]) {
    case 0x79: // y
      return { decision: 'allow', scope: 'once' };
    case 0x73: // s
      return { decision: 'allow', scope: 'session' };
    case 0x6e: // n
    case 0x4e: // N
    case 0x0d: // Enter (raw mode: CR)
    case 0x0a:
    case 0x03: // ^C (raw mode: a byte, not SIGINT)
    case 0x04: // ^D
      return { decision: 'deny', scope: 'once' };
    default:
      return null;
  }
}

/** Untrusted text made inert on a terminal: C0/C1 controls, DEL, format and separator chars escaped. */
export function printable(s: string): string {
  return s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Display width estimate: wide (East Asian, emoji) code points count 2, so wrapping never overflows. */
function width(ch: string): number {
  return ch.codePointAt(0)! >= 0x1100 ? 2 : 1;
}

/** Hard-wraps to lines narrower than `cols` (so the terminal never wraps, and rows are known). */
export function wrap(line: string, cols: number, indent = ''): string[] {
  const max = Math.max(20, cols - 1);
  const out: string[] = [];
  let cur = '';
  let w = 0;
  for (const ch of line) {
    const cw = width(ch);
    if (w + cw > max) {
      out.push(cur);
      cur = indent;
      w = indent.length;
    }
    cur += ch;
    w += cw;
  }
  out.push(cur);
  return out;
}

export function promptLines(p: PendingApproval, cols: number, now: number): string[] {
  const secs = Math.max(0, Math.round((p.deadline - now) / 1000));
  return [
    ...wrap(`warden ▸ approval needed [${printable(p.id)}] — the sandboxed program is paused until you answer`, cols),
    ...wrap(`  ${printable(p.summary)}`, cols, '    '),
    ...wrap(`  kind ${printable(p.kind)} · rule ${printable(p.rule)} · denied automatically in ${secs}s`, cols, '    '),
    ...wrap('  y = allow once · s = allow for this session · n or Enter = deny', cols, '    '),
  ];
}

export function outcomeLine(p: PendingApproval, a: ApprovalAnswer | undefined, who: string): string {
  const id = `warden ▸ [${printable(p.id)}]`;
  if (!a || a.by === 'closed') return `${id} denied: the session ended`;
  if (a.by === 'timeout') return `${id} timed out: denied`;
  const what = a.decision === 'deny' ? 'denied' : a.scope === 'session' ? 'allowed for this session' : 'allowed once';
  return a.by === who ? `${id} ${what}` : `${id} ${what} by ${printable(a.by)} (answered elsewhere)`;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const IN_USE = 'this terminal is in use by the sandboxed program';

interface Active {
  id: string;
  finish(a: ApprovalAnswer | undefined): void;
}

export class TerminalPrompter {
  private readonly queue: PendingApproval[] = [];
  /** Ids offered and not yet settled (answered anywhere, timed out, or denied on close). */
  private readonly live = new Set<string>();
  private current: Active | undefined;
  private pumping: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: TerminalPrompterOptions) {
    this.now = o.now ?? Date.now;
  }

  /** A new pending approval: asked now, or after the ones before it. */
  offer(p: PendingApproval): void {
    if (this.closed) return;
    this.live.add(p.id);
    this.queue.push(p);
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  /** The broker settled `id` (here, elsewhere, by timeout or on close): drop or close its prompt. */
  settled(id: string, a: ApprovalAnswer): void {
    this.live.delete(id);
    const i = this.queue.findIndex((q) => q.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.current?.id === id) this.current.finish(a);
  }

  /** Ends prompting; resolves once the terminal mode is restored and the tree continued. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.current?.finish(undefined);
    await this.pumping;
    this.o.tty.close();
  }

  private async pump(): Promise<void> {
    for (let p = this.queue.shift(); p && !this.closed; p = this.queue.shift()) await this.ask(p);
  }

  private async ask(p: PendingApproval): Promise<void> {
    let paused: PausedTree;
    try {
      paused = await this.o.pause.pause();
    } catch (e) {
      if (this.live.has(p.id)) this.o.fallback(p, `the sandboxed program could not be paused (${(e as Error).message})`);
      return;
    }
    try {
      if (this.closed || !this.live.has(p.id)) return;
      // With the tree stopped: nothing can move the foreground between here and the read.
      const held = this.takeForeground(paused);
      if (typeof held === 'string') return this.o.fallback(p, held);
      try {
        await this.prompt(p); // the terminal mode is restored before it resolves
      } catch (e) {
        // Still pending: another terminal (or the timeout) settles it.
        if (this.live.has(p.id)) this.o.fallback(p, `the prompt failed (${(e as Error).message})`);
      } finally {
        held();
      }
    } finally {
      paused.resume();
    }
  }

  /**
   * Warden's group in the foreground, taken from the paused tree's group if needed. Returns what
   * gives it back (never throws), or why this terminal cannot ask.
   */
  private takeForeground(paused: PausedTree): (() => void) | string {
    const { tty } = this.o;
    if (tty.isForeground()) return () => undefined;
    const g = tty.groups();
    if (!g || g.foreground === g.own) return IN_USE;
    if (!paused.group(g.foreground)) return 'warden runs in the background of this terminal'; // not ours to take
    try {
      tty.setForeground(g.own);
    } catch {
      return IN_USE;
    }
    const giveBack = () => {
      try {
        if (tty.groups()?.foreground === g.own && paused.group(g.foreground) === 'live') tty.setForeground(g.foreground);
      } catch {
        /* hung up, or the group went just now: it stays with Warden's group (see above) */
      }
    };
    if (tty.isForeground()) return giveBack;
    giveBack();
    return IN_USE;
  }

  private prompt(p: PendingApproval): Promise<void> {
    const { tty, broker, who } = this.o;
    const guard = this.o.guardMs ?? 300;
    return new Promise<void>((done) => {
      const lines = promptLines(p, tty.columns(), this.now());
      // A fresh line first (the program may have left the cursor mid-line); the prompt's rows are
      // known exactly, so it can be erased in place when it is answered.
      tty.write(`\r\n${lines.join('\r\n')}\r\n`);
      let last = this.now();
      let finished = false;
      const onSignal = (sig: NodeJS.Signals) => broker.answer(p.id, 'deny', `${who} (${sig})`, 'once');
      const stop = tty.read((chunk) => {
        const t = this.now();
        const quiet = t - last >= guard;
        last = t;
        const key = quiet ? keyOf(chunk) : null;
        if (key) broker.answer(p.id, key.decision, who, key.scope); // settles synchronously → finish
      });
      for (const s of SIGNALS) process.on(s, onSignal);
      this.current = {
        id: p.id,
        finish: (a) => {
          if (finished) return;
          finished = true;
          this.current = undefined;
          try {
            stop();
            for (const s of SIGNALS) process.off(s, onSignal);
            tty.write(`\x1b[${lines.length}A\r\x1b[J${outcomeLine(p, a, who)}\r\n`);
          } finally {
            done(); // whatever failed: the foreground is given back and the tree continued
          }
        },
      };
    });
  }
}
