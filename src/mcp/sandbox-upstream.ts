import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import type { SpawnUpstream, UpstreamChild } from './upstream.js';

/**
 * The upstream MCP server inside a Warden sandbox, by composition: the gateway spawns this
 * package's own `warden run --policy FILE --workspace DIR -- SERVER_CMD ARGS...` with piped stdio.
 * With a non-interactive stdin, `warden run` hands those pipes to the sandboxed tree as fds 0–2, so
 * the JSON-RPC stream flows between the gateway and the server with no relay in between.
 *
 * Threat: the server is untrusted code (an npm package, a container) that receives the calls the
 * gateway allowed. The gateway decides *which* calls reach it; the sandbox bounds *what the process
 * can do* with them (a path-traversal bug or a malicious server reading `~/.ssh`, writing outside
 * its grants, or phoning home) at the kernel layer — the policy's filesystem, network and env
 * sections, exactly as for any `warden run`.
 *
 * Invariants:
 * - there is no fallback: if `warden run` refuses (exit 126: a layer it cannot install, an invalid
 *   grant), the upstream is gone and the gateway stops; a plain spawn is never tried;
 * - the launcher is located from the package's own root, never from PATH or the cwd, so a workspace
 *   cannot plant a `warden` the gateway would trust;
 * - stderr of the tree (warden run's own line, then the server's log) is held for its first
 *   `HOLD_MS` (or 64 KiB, or until exit), then streamed through: a refusal, which comes before the
 *   server starts, is reported as one line by the gateway, not twice. What the tree writes to
 *   stderr is display-only — a server can print a fake "warden:" line or exit 126 itself, which
 *   only ever makes the gateway stop.
 */

export interface SandboxLaunch {
  /** `--policy FILE` (absolute) or `--profile NAME`; neither: warden run's default profile. */
  policyFile?: string | undefined;
  profile?: string | undefined;
  workspace: string;
  /** `--allow-degraded` layers, passed through (warden run audits them in its genesis record). */
  allowDegraded: readonly string[];
  /** The host environment: warden run reduces it to the policy's env allowlist inside. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where the tree's stderr goes (the user's terminal or the MCP client's log). */
  stderr: (text: string) => void;
  /** Node and the CLI entry (tests and benchmarks run the same launcher from sources). */
  node?: string;
  entry?: string;
}

/** The exit status with which `warden run` says it refused to start the sandbox. */
export const SANDBOX_REFUSED = 126;
const HOLD_BYTES = 64 * 1024;
const HOLD_MS = 1500;
const TAIL_BYTES = 4096;

export interface SandboxSpawn {
  spawn: SpawnUpstream;
  /** The last stderr line of the tree once its stderr has ended (warden run's reason after exit 126). */
  lastStderrLine(): Promise<string>;
}

/** The `warden run` argv that starts SERVER_CMD ARGS in the sandbox. */
export function sandboxArgv(o: Pick<SandboxLaunch, 'policyFile' | 'profile' | 'workspace' | 'allowDegraded' | 'entry'>, cmd: string, args: readonly string[]): string[] {
  return [
    o.entry ?? join(packageRoot(), 'bin', 'warden.cjs'),
    'run',
    ...(o.policyFile !== undefined ? ['--policy', o.policyFile] : o.profile !== undefined ? ['--profile', o.profile] : []),
    '--workspace',
    o.workspace,
    ...(o.allowDegraded.length ? ['--allow-degraded', o.allowDegraded.join(',')] : []),
    '--',
    cmd,
    ...args,
  ];
}

export function sandboxSpawn(o: SandboxLaunch): SandboxSpawn {
  let tail = '';
  let stderrEnded: Promise<void> = Promise.resolve();
  const spawnUp: SpawnUpstream = (cmd, args): UpstreamChild => {
    const child = spawn(o.node ?? process.execPath, sandboxArgv(o, cmd, args), { stdio: ['pipe', 'pipe', 'pipe'], env: o.env, cwd: o.cwd, detached: false });
    // 'hold' until HOLD_MS, 64 KiB or exit; then 'pass' (streamed), or 'drop' after a refusal.
    let mode: 'hold' | 'pass' | 'drop' = 'hold';
    let held: string[] = [];
    let heldBytes = 0;
    const settle = (next: 'pass' | 'drop'): void => {
      if (mode !== 'hold') return;
      mode = next;
      const text = held.join('');
      held = [];
      if (next === 'pass' && text) o.stderr(text);
    };
    child.stderr.setEncoding('utf8');
    stderrEnded = new Promise((r) => {
      child.stderr.once('close', r);
      child.once('error', r);
    });
    child.stderr.on('data', (s: string) => {
      tail = (tail + s).slice(-TAIL_BYTES);
      if (mode === 'pass') return o.stderr(s);
      if (mode === 'drop') return;
      held.push(s);
      heldBytes += s.length;
      if (heldBytes > HOLD_BYTES) settle('pass');
    });
    // No listener on stdout here: that would start the flow before the transport reads it.
    const timer = setTimeout(() => settle('pass'), HOLD_MS);
    timer.unref();
    child.once('exit', (code) => {
      clearTimeout(timer);
      // A refusal is reported by the gateway as one line of its own; anything else is shown.
      settle(code === SANDBOX_REFUSED ? 'drop' : 'pass');
    });
    return child;
  };
  return {
    spawn: spawnUp,
    lastStderrLine: async () => {
      await Promise.race([stderrEnded, new Promise((r) => setTimeout(r, 1000).unref())]);
      return (
        tail
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean)
          .pop() ?? ''
      );
    },
  };
}
