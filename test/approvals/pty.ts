import { spawn } from 'node:child_process';

/**
 * A real pseudo-terminal for tests, made by python3's `pty` module (no new dependency): the
 * command runs as the session leader of a fresh pty, with it as controlling terminal, just like
 * a login shell's job. What the command prints arrives on `out()`; `type()` sends keystrokes, one
 * write to the master each, as a keyboard would.
 *
 * `answerback`: the terminal emulator's ENQ answerback — whenever the output contains ENQ (0x05)
 * the "terminal" sends these bytes as input, as real terminals do (PuTTY answers "PuTTY").
 */
const DRIVER = String.raw`
import os, pty, sys, select, struct, fcntl, termios
answerback = os.environ.pop('PTY_ANSWERBACK', '').encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
inp, live = sys.stdin.fileno(), True
while True:
    r, _, _ = select.select([fd] + ([inp] if live else []), [], [])
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        if answerback and b'\x05' in data:
            os.write(fd, answerback)
    if live and inp in r:
        d = os.read(inp, 1)
        if d:
            os.write(fd, d)
        else:
            live = False
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
`;

export interface PtyRun {
  /** The driver's pid: the command runs as its child. */
  pid: number;
  out(): string;
  /** Sends each character as its own keystroke, `gapMs` apart. */
  type(keys: string, gapMs?: number): Promise<void>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  done: Promise<{ code: number; out: string }>;
  /** Hangs the terminal up (the driver exits): for clean-up after a failed test. */
  kill(): void;
}

export function onPty(argv: string[], o: { cwd: string; env: NodeJS.ProcessEnv; answerback?: string }): PtyRun {
  const c = spawn('python3', ['-c', DRIVER, ...argv], { cwd: o.cwd, env: { ...o.env, ...(o.answerback ? { PTY_ANSWERBACK: o.answerback } : {}) }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  c.stdout.setEncoding('utf8');
  c.stdout.on('data', (d: string) => (out += d));
  const done = new Promise<{ code: number; out: string }>((resolve) => c.on('close', (code) => resolve({ code: code ?? -1, out })));
  return {
    pid: c.pid!,
    out: () => out,
    async type(keys, gapMs = 50) {
      for (const k of keys) {
        c.stdin.write(k);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    },
    async waitFor(re, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    done,
    kill() {
      if (c.exitCode === null) c.kill('SIGKILL');
    },
  };
}
