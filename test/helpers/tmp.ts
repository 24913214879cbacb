import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temp dir removed after the current test file. */
export function tempDir(prefix = 'warden-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function writeFile(dir: string, name: string, text: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/**
 * A temp root (0755) with a world-writable workspace `ws` in it: a workspace the sandbox can see
 * (the host's /tmp is replaced inside) and that the unprivileged test user can write.
 */
export function workspaceDir(prefix: string): { root: string; ws: string } {
  const root = tempDir(prefix);
  chmodSync(root, 0o755);
  const ws = join(root, 'ws');
  mkdirSync(ws);
  chmodSync(ws, 0o777);
  return { root, ws };
}
