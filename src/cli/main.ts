import { isWardenError, WardenError } from '../errors.js';
import type { CliIo, Command } from './io.js';

/**
 * `warden` entry point. Subcommands are imported lazily so `warden run` does not pay for the MCP
 * gateway's or the classifier's module graph at start-up. (`warden run` itself starts from its own
 * code-cached bundle, dist/bundle/run.cjs, which calls `dispatch` with that one command: see
 * scripts/bundle.js.)
 */

export type CommandTable = Record<string, () => Promise<Command>>;

const COMMANDS: CommandTable = {
  run: async () => (await import('./run.js')).runCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
  policy: async () => (await import('./policy.js')).policyCommand,
  approvals: async () => (await import('./approvals.js')).approvalsCommand,
  audit: async () => (await import('./audit.js')).auditCommand,
  check: async () => (await import('./check.js')).checkCommand,
  hook: async () => (await import('./hook.js')).hookCommand,
  mcp: async () => (await import('./mcp.js')).mcpCommand,
};

/** Exit code for a usage or startup error of each command (the contracts in DESIGN.md §4). */
// hook: both agents let a tool run on any exit code but 0 (with a decision) and 2 (block), so a
// crash inside Warden must be 2, never a silent pass.
const FAILURE_EXIT: Record<string, number> = { run: 126, audit: 3, hook: 2 };

export const USAGE = `usage: warden <command> [options]

commands:
  run [--policy FILE | --profile NAME] [--workspace DIR] [--allow-degraded L,...] -- CMD ARGS...
  doctor [--json]
  policy check FILE | policy explain --policy FILE --event JSON | policy profiles
  audit verify|show|pubkey [--audit-dir DIR] [--json]
  check --json [--stdin | -- COMMAND]
  hook claude-code|codex [--policy FILE | --profile NAME] [--workspace DIR]
  approvals list [--json] | approvals approve ID [--session] | approvals deny ID
  mcp --policy FILE -- SERVER_CMD ARGS...  |  mcp --policy FILE --listen 127.0.0.1:PORT --upstream URL
  mcp pin --accept|--list ...
`;

/**
 * The process's own streams. stdin is looked up only when a command reads it: creating the
 * `process.stdin` stream costs milliseconds of `warden run`'s start-up, and run never reads it.
 */
function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    get stdin() {
      return process.stdin;
    },
  };
}

export function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  return dispatch(argv, COMMANDS, io);
}

/** Runs one command of `commands`: usage, `--version`, and every failure as one line with its exit code. */
export async function dispatch(argv: string[], commands: CommandTable, io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout)(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`warden ${(await import('../package-root.js')).packageVersion()}\n`);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    io.stderr(new WardenError('USAGE', `unknown command "${name}"`, 'run "warden --help"').oneLine() + '\n');
    return 2;
  }
  try {
    const cmd = await load();
    return await cmd(rest, io);
  } catch (e) {
    // Fail closed and legible: one line, never a stack trace, never an allow.
    const line = isWardenError(e) ? e.oneLine() : `warden: internal error: ${(e as Error)?.message ?? String(e)}`;
    io.stderr(line.replace(/[\r\n]+/g, ' ') + '\n');
    if (isWardenError(e) && e.code === 'USAGE') return FAILURE_EXIT[name] ?? 2;
    return FAILURE_EXIT[name] ?? 1;
  }
}
