import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) {
    const up = dirname(d);
    if (up === d) throw new Error('package root not found');
    d = up;
  }
  return d;
}

/** The package root (works from compiled dist/test and from test/ under tsx). */
export const ROOT = findRoot();
/** Path of the installed `warden` bin (the compiled CLI). */
export const WARDEN_BIN = join(ROOT, 'bin', 'warden.cjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `warden` binary as a user would. */
export function warden(args: string[], opts: SpawnSyncOptions & { input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [WARDEN_BIN, ...args], { encoding: 'utf8', timeout: 60_000, ...opts });
  return { code: r.status ?? (r.signal ? 128 : -1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}
