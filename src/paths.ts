import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where Warden keeps its own state. Everything under these directories is Warden's trusted state
 * (audit log, keys, control sockets): the sandbox must never be able to reach it, and a policy that
 * grants access to it is refused.
 *
 * WARDEN_HOME overrides the whole tree (tests and CI use it); otherwise XDG conventions apply.
 */
export interface WardenDirs {
  /** Root of Warden's mutable state (audit log, approvals socket). */
  state: string;
  /** Default audit log directory. */
  audit: string;
  /** Secret keys (HMAC key, Ed25519 signing key), mode 0700, files 0600. Kept apart from the log. */
  keys: string;
  /** Runtime directory for sockets. */
  run: string;
}

export function wardenDirs(env: NodeJS.ProcessEnv = process.env): WardenDirs {
  const home = env['HOME'] || homedir();
  const root = env['WARDEN_HOME'];
  if (root) {
    return { state: join(root, 'state'), audit: join(root, 'state', 'audit'), keys: join(root, 'keys'), run: join(root, 'run') };
  }
  const state = join(env['XDG_STATE_HOME'] || join(home, '.local', 'state'), 'warden');
  const config = join(env['XDG_CONFIG_HOME'] || join(home, '.config'), 'warden');
  const run = env['XDG_RUNTIME_DIR'] ? join(env['XDG_RUNTIME_DIR'], 'warden') : join(state, 'run');
  return { state, audit: join(state, 'audit'), keys: join(config, 'keys'), run };
}
