import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApprovalBroker, type PendingApproval } from '../../src/approvals/broker.js';
import { TerminalPrompter, keyOf, printable, promptLines, wrap } from '../../src/approvals/terminal.js';
import { foregroundFields, ttyName, type Tty } from '../../src/approvals/tty.js';

/**
 * The terminal prompt's logic without a terminal: which bytes answer, what untrusted text looks
 * like on screen, and the prompter's life cycle (pause → ask → restore → continue, one request at
 * a time, settled elsewhere, fallbacks). The live behaviour on a real pty is terminal-live.test.ts.
 */

test('only a lone y / s / n / Enter / ^C / ^D byte is a key; terminal replies and pastes are not', () => {
  const k = (s: string) => keyOf(Buffer.from(s, 'latin1'));
  assert.deepEqual(k('y'), { decision: 'allow', scope: 'once' });
  assert.deepEqual(k('s'), { decision: 'allow', scope: 'session' });
  for (const d of ['n', 'N', '\r', '\n', '\x03', '\x04']) assert.equal(k(d)?.decision, 'deny', JSON.stringify(d));
  for (const junk of ['Y', 'S', 'x', ' ', '\x1b', 'yy', 'y\r', 'PuTTY', '\x1b[24;80R', '\x1b[?62;c', '\x1b]lyes\x1b\\', '']) assert.equal(k(junk), null, JSON.stringify(junk));
});

test('untrusted text is inert on a terminal: controls, C1, DEL, bidi and zero-width are escaped', () => {
  assert.equal(printable('git push'), 'git push');
  assert.equal(printable('a\x1b[2Jb'), 'a\\u{1b}[2Jb');
  assert.equal(printable('\x05\x07\x7f\u009b6n'), '\\u{5}\\u{7}\\u{7f}\\u{9b}6n');
  assert.equal(printable('safe\u202etxt.exe\u200b\u2028'), 'safe\\u{202e}txt.exe\\u{200b}\\u{2028}');
  const lines = promptLines({ id: 'ab-1', kind: 'exec', summary: 'exec echo \x1b]0;pwned\x07', rule: 'r', operation: {}, binding: 'x', requestedAt: 0, deadline: 30_000 }, 80, 0);
  assert.ok(lines.every((l) => !/[\x00-\x1f\x7f-\x9f]/.test(l)), 'no raw control reaches the terminal');
  assert.ok(lines.some((l) => /denied automatically in 30s/.test(l)));
});

test('wrapping keeps every line narrower than the terminal, so the prompt can be erased exactly', () => {
  const lines = wrap('x'.repeat(250), 80, '    ');
  assert.equal(lines.length, 4);
  assert.ok(lines.every((l) => l.length < 80));
  assert.ok(wrap('界'.repeat(60), 80).every((l) => [...l].length * 2 < 80));
});

test('/proc/self/stat: foreground and terminal name, comm with spaces and parentheses', () => {
  const stat = (pgrp: number, tty: number, tpgid: number) => `4242 (a ) b) S 1 ${pgrp} 4242 ${tty} ${tpgid} 4194304 0 0`;
  assert.deepEqual(foregroundFields(stat(77, 34816, 77)), { pgrp: 77, tpgid: 77 });
  assert.deepEqual(foregroundFields(stat(77, 34816, 80)), { pgrp: 77, tpgid: 80 });
  assert.equal(ttyName(stat(1, 34816 + 3, 1)), '/dev/pts/3'); // 136:3
  assert.equal(ttyName(stat(1, (137 << 8) | 5, 1)), '/dev/pts/261');
  assert.equal(ttyName(stat(1, (136 << 8) | (1 << 20), 1)), '/dev/pts/256'); // minor 256: bits 20+ of tty_nr
  assert.equal(ttyName(stat(1, 0, -1)), undefined);
});

// ---- the prompter with a fake terminal and a fake pause ----

/** Warden's own process group, and a group a job-control shell of the tree made its own. */
const OWN = 100;
const SHELL = 200;

/**
 * A terminal with a foreground group: reading or setting the mode outside the foreground is
 * logged as the bug it would be (the kernel would stop Warden with SIGTTIN/SIGTTOU).
 */
function fakeTty(o: { fg?: number; noAddon?: boolean; refuse?: boolean; failWrite?: boolean } = {}) {
  const written: string[] = [];
  let onData: ((b: Buffer) => void) | undefined;
  const log: string[] = [];
  let fg = o.fg ?? OWN;
  const tty: Tty = {
    name: '/dev/pts/9',
    isForeground: () => fg === OWN,
    groups: () => (o.noAddon ? undefined : { foreground: fg, own: OWN }),
    setForeground(pgrp) {
      if (o.noAddon) throw new Error('no addon');
      if (o.refuse) throw new Error('tcsetpgrp: Operation not permitted');
      log.push(`fg ${pgrp}`);
      fg = pgrp;
    },
    columns: () => 100,
    write(s) {
      if (o.failWrite) throw new Error('EIO');
      written.push(s);
    },
    read(fn) {
      log.push(fg === OWN ? 'raw' : 'raw in the background');
      onData = fn;
      return () => {
        log.push(fg === OWN ? 'restore' : 'restore in the background');
        onData = undefined;
      };
    },
    close: () => void log.push('close'),
  };
  return { tty, written, log, key: (s: string) => onData?.(Buffer.from(s)), reading: () => onData !== undefined, moveForeground: (pgrp: number) => (fg = pgrp) };
}

/** The tree's groups: Warden's own (inherited) and the shell's, which can go (`treeGroups` loses it). */
function fakePause(log: string[], treeGroups: Set<number>) {
  const group = (g: number) => (treeGroups.has(g) ? ('live' as const) : g === SHELL ? ('gone' as const) : undefined);
  return { pause: async () => (log.push('pause'), { resume: () => void log.push('continue'), group }) };
}

const WHO = 'terminal:/dev/pts/9 uid 1000';
const tick = () => new Promise((r) => setTimeout(r, 5));

function setup(o: { fg?: number; noAddon?: boolean; refuse?: boolean; failWrite?: boolean; timeoutMs?: number; failPause?: boolean } = {}) {
  let clock = 1_000_000;
  const t = fakeTty(o);
  const treeGroups = new Set([OWN, SHELL]);
  const fallbacks: string[] = [];
  let prompter!: TerminalPrompter;
  const broker = new ApprovalBroker({
    timeoutMs: o.timeoutMs ?? 60_000,
    onEvent: (e) => (e.answer && e.type !== 'grant-hit' && e.type !== 'request' ? prompter.settled(e.pending.id, e.answer) : undefined),
    onPending: (p: PendingApproval) => prompter.offer(p),
  });
  prompter = new TerminalPrompter({
    tty: t.tty,
    pause: o.failPause ? { pause: () => Promise.reject(new Error('nope')) } : fakePause(t.log, treeGroups),
    broker,
    who: WHO,
    fallback: (p, why) => void fallbacks.push(`${p.id}: ${why}`),
    now: () => clock,
  });
  return { ...t, broker, prompter, fallbacks, treeGroups, advance: (ms: number) => (clock += ms) };
}

const req = (n: string) => ({ kind: 'exec', summary: `exec mkdir ${n}`, operation: { argv: ['mkdir', n] }, rule: 'ask' });

test('a key answers after the quiet guard; before it, bytes are discarded and restart the guard', async () => {
  const s = setup();
  const answer = s.broker.request(req('a'));
  await tick();
  assert.ok(s.reading());
  s.key('y'); // at once: type-ahead, or a reply already in flight
  s.advance(200);
  s.key('y'); // still inside the guard (it restarted)
  s.advance(299);
  s.key('y');
  assert.equal(s.broker.list().length, 1, 'nothing answered yet');
  s.advance(300);
  s.key('y');
  const a = await answer;
  assert.deepEqual([a.decision, a.by, a.scope], ['allow', WHO, 'once']);
  await tick();
  assert.deepEqual(s.log, ['pause', 'raw', 'restore', 'continue'], 'mode restored before the tree continues');
  assert.match(s.written.at(-1)!, /\x1b\[\d+A\r\x1b\[J.*allowed once\r\n$/);
});

test('s grants the session; an answer from elsewhere closes the prompt and later keys do nothing', async () => {
  const s = setup();
  const a1 = s.broker.request(req('a'));
  await tick();
  s.advance(1000);
  s.key('s');
  assert.equal((await a1).scope, 'session');
  const a2 = s.broker.request(req('b'));
  await tick();
  const id = s.broker.list()[0]!.id;
  assert.deepEqual(s.broker.answer(id, 'deny', 'uid:1000 pid:7', 'once'), { ok: true });
  assert.equal((await a2).by, 'uid:1000 pid:7');
  await tick();
  assert.equal(s.reading(), false, 'no longer reading the terminal');
  assert.match(s.written.at(-1)!, /denied by uid:1000 pid:7 \(answered elsewhere\)/);
  s.advance(1000);
  s.key('y');
  assert.equal(s.broker.list().length, 0);
  assert.equal(s.log.filter((l) => l === 'continue').length, 2);
});

test('several pending: asked one at a time, in order; the next prompt only once the first is settled', async () => {
  const s = setup();
  const a = s.broker.request(req('first'));
  const b = s.broker.request(req('second'));
  await tick();
  assert.equal(s.written.filter((w) => /approval needed/.test(w)).length, 1);
  assert.match(s.written.join(''), /mkdir first/);
  s.advance(1000);
  s.key('n');
  assert.equal((await a).decision, 'deny');
  await tick();
  assert.equal(s.written.filter((w) => /approval needed/.test(w)).length, 2);
  assert.match(s.written.at(-1)!, /mkdir second/);
  s.advance(1000);
  s.key('\r');
  assert.equal((await b).decision, 'deny');
});

test('a request settled while queued is never shown; close denies and restores', async () => {
  const s = setup();
  const a = s.broker.request(req('shown'));
  const b = s.broker.request(req('dropped'));
  await tick();
  const bid = s.broker.list()[1]!.id;
  s.broker.answer(bid, 'allow', 'uid:1000 pid:7');
  assert.equal((await b).decision, 'allow');
  s.broker.close();
  assert.equal((await a).by, 'closed');
  await s.prompter.close();
  assert.doesNotMatch(s.written.join(''), /mkdir dropped/);
  assert.match(s.written.at(-1)!, /denied: the session ended/);
  assert.deepEqual(s.log, ['pause', 'raw', 'restore', 'continue', 'close']);
});

test('a signal while asking denies (and lets the signal reach the tree)', async () => {
  const s = setup();
  const a = s.broker.request(req('a'));
  await tick();
  process.emit('SIGTERM', 'SIGTERM');
  const r = await a;
  assert.equal(r.decision, 'deny');
  assert.equal(r.by, `${WHO} (SIGTERM)`);
  await tick();
  assert.deepEqual(s.log, ['pause', 'raw', 'restore', 'continue']);
  assert.equal(process.listenerCount('SIGTERM'), 0, 'no listener left behind');
});

test('the terminal cannot be taken, or the tree cannot be paused: no raw mode, no read — the notice instead', async () => {
  const cases: Array<[Parameters<typeof setup>[0], RegExp]> = [
    [{ fg: SHELL, noAddon: true }, /: this terminal is in use by the sandboxed program$/], // today's notice, exactly
    [{ fg: SHELL, refuse: true }, /: this terminal is in use by the sandboxed program$/], // EPERM: not this terminal's session
    [{ fg: 300 }, /: warden runs in the background of this terminal$/], // the user's shell: not the tree's to take
    [{ failPause: true }, /could not be paused \(nope\)$/],
  ];
  for (const [o, why] of cases) {
    const s = setup(o);
    void s.broker.request(req('a'));
    await tick();
    assert.equal(s.fallbacks.length, 1);
    assert.match(s.fallbacks[0]!, why);
    assert.ok(!s.log.some((l) => l.startsWith('raw') || l.startsWith('fg')), s.log.join());
    assert.equal(s.reading(), false);
    assert.equal(s.broker.list().length, 1, 'still pending: another terminal can answer');
    s.broker.close();
  }
});

test('a job-control shell of the tree holds the foreground: taken for the prompt, given back before the tree continues', async () => {
  const s = setup({ fg: SHELL });
  const a = s.broker.request(req('a'));
  await tick();
  s.advance(1000);
  s.key('y');
  assert.equal((await a).decision, 'allow');
  await tick();
  assert.deepEqual(s.log, ['pause', `fg ${OWN}`, 'raw', 'restore', `fg ${SHELL}`, 'continue']);
});

test('the foreground is given back on every way a prompt ends: timeout, elsewhere, session end, signal, a failing prompt', async () => {
  const endings: Array<[string, Parameters<typeof setup>[0], (s: ReturnType<typeof setup>) => void]> = [
    ['timeout', { timeoutMs: 30 }, () => undefined],
    ['elsewhere', {}, (s) => void s.broker.answer(s.broker.list()[0]!.id, 'deny', 'uid:1000 pid:7')],
    ['session end', {}, (s) => (s.broker.close(), void s.prompter.close())], // as the session closes them
    ['SIGHUP', {}, () => void process.emit('SIGHUP', 'SIGHUP')],
  ];
  for (const [name, o, end] of endings) {
    const s = setup({ fg: SHELL, ...o });
    const a = s.broker.request(req('a'));
    await tick();
    assert.ok(s.reading(), name);
    end(s);
    assert.equal((await a).decision, 'deny', name);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(s.log.filter((l) => l !== 'close'), ['pause', `fg ${OWN}`, 'raw', 'restore', `fg ${SHELL}`, 'continue'], name);
    s.broker.close();
  }
  const s = setup({ fg: SHELL, failWrite: true });
  void s.broker.request(req('a'));
  await tick();
  assert.deepEqual(s.log, ['pause', `fg ${OWN}`, `fg ${SHELL}`, 'continue']);
  assert.match(s.fallbacks[0]!, /the prompt failed \(EIO\)$/);
  assert.equal(s.broker.list().length, 1, 'still pending: another terminal can answer');
  s.broker.close();
});

test('given back only to a group that still exists, and only if Warden still holds the foreground', async () => {
  const gone = setup({ fg: SHELL });
  const a = gone.broker.request(req('a'));
  await tick();
  gone.treeGroups.delete(SHELL); // the shell's job was killed from outside while asking
  gone.advance(1000);
  gone.key('n');
  await a;
  await tick();
  assert.deepEqual(gone.log, ['pause', `fg ${OWN}`, 'raw', 'restore', 'continue'], 'stays with Warden\'s group');
  assert.equal(gone.tty.groups()?.foreground, OWN);

  const moved = setup({ fg: SHELL });
  const b = moved.broker.request(req('b'));
  await tick();
  moved.moveForeground(300); // someone else's tcsetpgrp meanwhile: not Warden's to undo
  moved.advance(1000);
  moved.key('n');
  await b;
  await tick();
  assert.ok(!moved.log.includes(`fg ${SHELL}`), moved.log.join());
  assert.equal(moved.tty.groups()?.foreground, 300);
});

test('a timeout closes the prompt as denied', async () => {
  const s = setup({ timeoutMs: 30 });
  const a = await s.broker.request(req('a'));
  assert.equal(a.by, 'timeout');
  await tick();
  assert.match(s.written.at(-1)!, /timed out: denied/);
  assert.deepEqual(s.log, ['pause', 'raw', 'restore', 'continue']);
});
