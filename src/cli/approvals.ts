import { WardenError } from '../errors.js';
import { wardenDirs } from '../paths.js';
import { ask, listAll } from '../approvals/client.js';
import { parseCli } from './args.js';
import type { Command } from './io.js';

const USAGE = 'warden approvals list [--json] | approve ID [--session] | deny ID';

/** `warden approvals`: act on pending approvals of running sessions from another terminal. */
export const approvalsCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  const runDir = wardenDirs(io.env).run;
  if (sub === 'list') {
    const { values } = parseCli(rest, { json: { type: 'boolean' } }, { usage: USAGE });
    const pending = await listAll(runDir);
    if (values.json) io.stdout(JSON.stringify(pending.map(({ socket: _s, ...p }) => p)) + '\n');
    else if (pending.length === 0) io.stdout('no pending approvals\n');
    else for (const p of pending) io.stdout(`${p.id}\t${p.kind}\t${p.summary}\t(rule ${p.rule}; expires ${p.deadline})\n`);
    return 0;
  }
  if (sub === 'approve' || sub === 'deny') {
    const { values, positionals } = parseCli(rest, { session: { type: 'boolean' } }, { positionals: 1, usage: USAGE });
    const id = positionals[0];
    if (!id) throw new WardenError('USAGE', `approvals ${sub} needs an ID`, `usage: ${USAGE}`);
    const target = (await listAll(runDir)).find((p) => p.id === id);
    if (!target) throw new WardenError('USAGE', `no pending approval ${id}`, 'run "warden approvals list"');
    const r = await ask(target.socket, { op: 'answer', id, decision: sub === 'approve' ? 'allow' : 'deny', scope: values.session ? 'session' : 'once', binding: target.binding });
    if (!r.ok) throw new WardenError('USAGE', r.error, 'run "warden approvals list"');
    io.stdout(`${sub === 'approve' ? 'approved' : 'denied'} ${id}: ${target.summary}\n`);
    return 0;
  }
  throw new WardenError('USAGE', sub ? `unknown approvals subcommand "${sub}"` : 'approvals needs a subcommand', `usage: ${USAGE}`);
};
