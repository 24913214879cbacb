/**
 * `warden hook claude-code|codex [--policy FILE | --profile NAME] [--workspace DIR]`
 *
 * A PreToolUse hook: reads the agent's hook JSON on stdin and answers on stdout in that agent's
 * hook output schema (allow / deny / ask, with the reason), judged by the same compiled policy and
 * classifier as `warden run`'s exec mediation.
 *
 * Exit status is 0 for every answer, deny included: both agents read the JSON decision at exit 0,
 * and treat other codes (except 2) as non-blocking errors, which would let the tool run. Only an
 * unknown agent name is a usage error (exit 2, which both agents also treat as "block").
 */
import { WardenError } from '../errors.js';
import { ADAPTERS, failedHook, runHook } from '../hooks/run.js';
import { parseCli } from './args.js';
import type { CliIo, Command } from './io.js';

const USAGE = `warden hook (${Object.keys(ADAPTERS).join(' | ')}) [--policy FILE | --profile NAME] [--workspace DIR]`;

export const hookCommand: Command = async (args: string[], io: CliIo): Promise<number> => {
  const [agent, ...rest] = args;
  const adapter = agent !== undefined ? ADAPTERS[agent] : undefined;
  if (!adapter) {
    throw new WardenError('USAGE', agent === undefined ? 'which agent? give claude-code or codex' : `unknown agent "${agent}"`, `usage: ${USAGE}`);
  }
  let values;
  try {
    ({ values } = parseCli(rest, { policy: { type: 'string' }, profile: { type: 'string' }, workspace: { type: 'string' } }, { usage: USAGE }));
    if (values.policy !== undefined && values.profile !== undefined) throw new WardenError('USAGE', '--policy and --profile are mutually exclusive', `usage: ${USAGE}`);
  } catch (e) {
    const line = e instanceof WardenError ? e.oneLine() : String(e);
    io.stderr(line + '\n');
    const out = failedHook(adapter, `warden hook is misconfigured: ${line.replace(/^warden: /, '')}`);
    io.stdout(out.stdout);
    return out.code;
  }
  const out = await runHook(adapter, {
    ...(values.policy !== undefined ? { policy: values.policy } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(values.workspace !== undefined ? { workspace: values.workspace } : {}),
    env: io.env,
    cwd: io.cwd,
    stdin: io.stdin,
  });
  if (out.stdout) io.stdout(out.stdout);
  return out.code;
};
