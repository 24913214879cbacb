import { spawn } from 'node:child_process';
import { WARDEN_BIN, warden } from './cli.js';

/** `warden ARGS` in the background (e.g. a session that will hold an operation for approval). */
export function spawnWarden(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) {
  const child = spawn(process.execPath, [WARDEN_BIN, ...args], opts);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number; out: string; err: string }>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, out, err })));
  return { child, done };
}

/** The first pending approval, as `warden approvals list` from another terminal shows it (waits up to 10 s). */
export async function pendingApproval(env: NodeJS.ProcessEnv): Promise<{ id: string; summary: string }> {
  for (let i = 0; i < 200; i++) {
    const l = warden(['approvals', 'list', '--json'], { env });
    const list = l.code === 0 ? (JSON.parse(l.stdout) as Array<{ id: string; summary: string }>) : [];
    if (list[0]) return list[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no approval request appeared');
}
