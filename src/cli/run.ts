import { isatty } from 'node:tty';
import { packageVersion } from '../package-root.js';
import { runSession } from '../session/run.js';
import { parseCli } from './args.js';
import type { Command } from './io.js';

const USAGE = 'warden run [--policy FILE | --profile NAME] [--workspace DIR] [--allow-degraded L,...] -- CMD ARGS...';

/** `warden run`: exit code = the command's; 126 = refused to start (main.ts maps errors to 126). */
export const runCommand: Command = async (args, io) => {
  const { values, rest } = parseCli(
    args,
    { policy: { type: 'string' }, profile: { type: 'string' }, workspace: { type: 'string' }, 'allow-degraded': { type: 'string', multiple: true } },
    { usage: USAGE },
  );
  const degraded = (values['allow-degraded'] ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  return runSession({
    argv: rest,
    ...(values.policy !== undefined ? { policyFile: values.policy } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.workspace !== undefined ? { workspace: values.workspace } : {}),
    allowDegraded: degraded,
    env: io.env,
    cwd: io.cwd,
    stderr: io.stderr,
    // isatty(0), not process.stdin.isTTY: creating the stdin stream costs start-up time, and the
    // command inherits fd 0 itself.
    interactive: isatty(0),
    wardenVersion: packageVersion(),
  });
};
