/**
 * `warden check --json [--stdin | -- COMMAND]`: classify shell commands before they run.
 *
 * With `--stdin`, every input line is the next command of ONE session (variables, files written,
 * secrets read carry over, so multi-step risk chains are seen) and exactly one JSON object is
 * written per input line, in input order, as soon as that line is classified. `-- COMMAND` words
 * are joined with spaces and classified as one shell command line.
 *
 * Exit status is 0 whenever verdicts were produced (the verdict is in the output, not the status);
 * 2 for usage errors.
 */
import { createInterface } from 'node:readline';
import { WardenError } from '../errors.js';
import type { ClassifierOptions, Verdict } from '../classify/index.js';
import { parseCli } from './args.js';
import type { CliIo, Command } from './io.js';

const USAGE = 'warden check [--json] [--workspace DIR] [--home DIR] [--allow-host HOST]... (--stdin | -- COMMAND)';

function render(v: Verdict, json: boolean): string {
  if (json) {
    const out: Record<string, unknown> = { verdict: v.verdict, risk: v.risk, reasons: v.reasons };
    if (v.suggestion !== undefined) out['suggestion'] = v.suggestion;
    if (v.chain !== undefined) out['chain'] = v.chain;
    out['effects'] = v.effects;
    return JSON.stringify(out) + '\n';
  }
  const why = v.reasons.length ? `: ${v.reasons.join('; ')}` : '';
  const sug = v.suggestion ? ` (instead: ${v.suggestion})` : '';
  return `${v.verdict} (${v.risk})${why}${sug}`.replace(/[\r\n]+/g, ' ') + '\n';
}

export const checkCommand: Command = async (args: string[], io: CliIo): Promise<number> => {
  const { values, rest } = parseCli(
    args,
    {
      json: { type: 'boolean' },
      stdin: { type: 'boolean' },
      workspace: { type: 'string' },
      home: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
    },
    { usage: USAGE },
  );
  const hasCommand = args.includes('--');
  if (values.stdin && hasCommand) throw new WardenError('USAGE', 'give either --stdin or -- COMMAND, not both', `usage: ${USAGE}`);
  if (!values.stdin && !hasCommand) throw new WardenError('USAGE', 'nothing to check: give --stdin or -- COMMAND', `usage: ${USAGE}`);
  if (hasCommand && rest.length === 0) throw new WardenError('USAGE', 'no command after --', `usage: ${USAGE}`);
  const opts: ClassifierOptions = {
    workspace: values.workspace ?? io.cwd,
    home: values.home ?? io.env['HOME'] ?? '/root',
    allowedHosts: values['allow-host'] ?? [],
  };
  // Loaded here, not at module load: `warden` start-up does not pay for the classifier or parser.
  const { createClassifierSession } = await import('../classify/index.js');
  const session = createClassifierSession(opts);
  const json = values.json === true;
  if (!values.stdin) {
    io.stdout(render(session.classify(rest.join(' ')), json));
    return 0;
  }
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    io.stdout(render(session.classify(line), json));
  }
  return 0;
};
