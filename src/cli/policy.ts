import { homedir } from 'node:os';
import { WardenError } from '../errors.js';
import { formatDiagnostic, PolicyInvalidError, type Diagnostic } from '../policy/diagnostics.js';
import { eventSchema } from '../policy/event.js';
import { explain } from '../policy/evaluate.js';
import { listProfiles, loadPolicy, profilesDir } from '../policy/load.js';
import { parseCli } from './args.js';
import type { CliIo, Command } from './io.js';

const CHECK_USAGE = 'warden policy check FILE [--workspace DIR] [--json]';
const EXPLAIN_USAGE = "warden policy explain (--policy FILE | --profile NAME) [--workspace DIR] --event JSON [--json]";

function homeOf(io: CliIo): string {
  return io.env['HOME'] || homedir();
}

async function check(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCli(args, { workspace: { type: 'string' }, json: { type: 'boolean' } }, { positionals: 1, usage: CHECK_USAGE });
  const file = positionals[0];
  if (file === undefined) throw new WardenError('USAGE', 'policy check needs a FILE', `usage: ${CHECK_USAGE}`);
  let diagnostics: Diagnostic[];
  let ok: boolean;
  let hash: string | undefined;
  try {
    const loaded = await loadPolicy({ file, workspace: values.workspace ?? io.cwd, home: homeOf(io), cwd: io.cwd, lint: true });
    diagnostics = loaded.warnings;
    ok = true;
    hash = loaded.policy.hash;
  } catch (e) {
    if (e instanceof PolicyInvalidError) {
      diagnostics = e.diagnostics;
      ok = false;
    } else if (e instanceof WardenError && e.code !== 'USAGE') {
      diagnostics = [{ severity: 'error', file, line: 1, col: 1, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }];
      ok = false;
    } else throw e;
  }
  if (values.json) {
    io.stdout(JSON.stringify({ valid: ok, ...(hash ? { hash } : {}), diagnostics }) + '\n');
  } else {
    for (const d of diagnostics) io.stdout(formatDiagnostic(d) + '\n');
    if (ok) io.stdout(`${file}: valid${diagnostics.length ? ` (${diagnostics.length} warning${diagnostics.length > 1 ? 's' : ''})` : ''}\n`);
  }
  return ok ? 0 : 1;
}

async function explainCmd(args: string[], io: CliIo): Promise<number> {
  const { values } = parseCli(
    args,
    { policy: { type: 'string' }, profile: { type: 'string' }, workspace: { type: 'string' }, event: { type: 'string' }, json: { type: 'boolean' } },
    { usage: EXPLAIN_USAGE },
  );
  if (values.event === undefined) throw new WardenError('USAGE', 'policy explain needs --event JSON', `usage: ${EXPLAIN_USAGE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(values.event);
  } catch (e) {
    throw new WardenError('EVENT_INVALID', `--event is not JSON: ${(e as Error).message}`, 'e.g. --event \'{"kind":"file","path":"/etc/passwd","access":"read"}\'');
  }
  const parsed = eventSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new WardenError('EVENT_INVALID', `--event ${i.path.join('.') || 'value'}: ${i.message}`, 'kinds: file {path, access}, exec {argv, path?}, net {host, port}, mcp {tool, server?}');
  }
  const loaded = await loadPolicy({
    ...(values.policy !== undefined ? { file: values.policy } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    workspace: values.workspace ?? io.cwd,
    home: homeOf(io),
    cwd: io.cwd,
  });
  const ex = explain(loaded.policy, parsed.data);
  if (values.json) {
    io.stdout(JSON.stringify({ ...ex.result, candidates: ex.candidates, combining: ex.combining, policy: loaded.source, policyHash: loaded.policy.hash }) + '\n');
    return 0;
  }
  const r = ex.result;
  io.stdout(`decision: ${r.decision}\nrule: ${r.rule}\nreason: ${r.reason}\n`);
  if (r.message) io.stdout(`message: ${r.message}\n`);
  if (r.suggestion) io.stdout(`suggestion: ${r.suggestion}\n`);
  if (ex.candidates.length > 1) {
    io.stdout('other matching rules (lower rank):\n');
    for (const c of ex.candidates.slice(1)) io.stdout(`  ${c.decision.padEnd(7)} ${c.rule} (${c.text})\n`);
  }
  io.stdout(`combining: ${ex.combining}\n`);
  return 0;
}

async function profiles(_args: string[], io: CliIo): Promise<number> {
  for (const p of listProfiles()) io.stdout(`${p}\t${profilesDir()}/${p}.yaml\n`);
  return 0;
}

const SUB: Record<string, Command> = { check, explain: explainCmd, profiles };

export const policyCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const fn = sub ? SUB[sub] : undefined;
  if (!fn) throw new WardenError('USAGE', sub ? `unknown policy subcommand "${sub}"` : 'policy needs a subcommand', 'use: warden policy check|explain|profiles');
  return fn(rest, io);
};
