/**
 * `warden audit verify|show|pubkey`.
 *
 * Exit codes: verify → 0 intact, 2 tampered, 3 cannot verify (its public contract); usage errors
 * → 1 with one `warden: …` line on stderr; other failures of show/pubkey → 1. Never a stack trace.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isWardenError } from '../errors.js';
import { wardenDirs } from '../paths.js';
import { formatJsonRow, formatTableHeader, formatTableRow, formatVerifyReport, safeText } from '../audit/format.js';
import { loadAuditKeys, publicKeyPem, rawPublicKey } from '../audit/keys.js';
import { parseTimeArg, selectRecords, type ShowFilter } from '../audit/show.js';
import { verifyAudit } from '../audit/verify.js';
import type { CliIo, Command } from './io.js';

const USAGE = `usage: warden audit verify [--audit-dir DIR] [--key-dir DIR] [--pubkey FILE] [--json]
       warden audit show [--audit-dir DIR] [--session ID] [--decision D] [--kind K] [--since TIME] [--until TIME] [--json]
       warden audit pubkey [--key-dir DIR] [--raw]
`;

class UsageError extends Error {}

function oneLine(text: string): string {
  return `warden: ${safeText(text)}\n`;
}

function path(io: CliIo, p: string | undefined, fallback: string): string {
  if (p === undefined) return fallback;
  if (p === '') throw new UsageError('empty path');
  return isAbsolute(p) ? p : resolve(io.cwd, p);
}

/** Runs parseArgs (strict) and turns its errors into usage errors. */
function parse<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message.split('\n')[0] ?? 'bad arguments' : 'bad arguments');
  }
}

async function verify(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        'audit-dir': { type: 'string' },
        'key-dir': { type: 'string' },
        'anchor-dir': { type: 'string' },
        pubkey: { type: 'string' },
        json: { type: 'boolean' },
      },
    }),
  );
  const dirs = wardenDirs(io.env);
  const report = await verifyAudit({
    dir: path(io, values['audit-dir'], dirs.audit),
    keyDir: path(io, values['key-dir'], dirs.keys),
    ...(values.pubkey !== undefined ? { pubkeyPath: path(io, values.pubkey, '') } : {}),
    ...(values['anchor-dir'] !== undefined ? { anchorDir: path(io, values['anchor-dir'], '') } : {}),
  });
  if (values.json) io.stdout(JSON.stringify(report) + '\n');
  else if (report.status === 'unverifiable') io.stderr(oneLine(`cannot verify audit log: ${report.errors.join('; ')}`));
  else io.stdout(formatVerifyReport(report));
  return report.exitCode;
}

async function show(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(() =>
    parseArgs({
      args,
      strict: true,
      options: {
        'audit-dir': { type: 'string' },
        session: { type: 'string' },
        decision: { type: 'string' },
        kind: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        json: { type: 'boolean' },
      },
    }),
  );
  const filter: ShowFilter = {};
  if (values.session !== undefined) filter.session = values.session;
  if (values.decision !== undefined) filter.decision = values.decision;
  if (values.kind !== undefined) filter.kind = values.kind;
  for (const k of ['since', 'until'] as const) {
    const v = values[k];
    if (v === undefined) continue;
    const ms = parseTimeArg(v);
    if (Number.isNaN(ms)) throw new UsageError(`--${k} expects an RFC 3339 time such as 2025-01-31T12:00:00Z, got ${JSON.stringify(v)}`);
    filter[k === 'since' ? 'sinceMs' : 'untilMs'] = ms;
  }
  const dir = path(io, values['audit-dir'], wardenDirs(io.env).audit);
  const json = values.json === true;
  let header = !json;
  let out = '';
  for await (const row of selectRecords(dir, filter)) {
    if (header) {
      out += formatTableHeader();
      header = false;
    }
    out += json ? formatJsonRow(row) : formatTableRow(row);
    if (out.length > 1 << 16) {
      io.stdout(out);
      out = '';
    }
  }
  if (out) io.stdout(out);
  return 0;
}

async function pubkey(args: string[], io: CliIo): Promise<number> {
  const { values } = parse(() => parseArgs({ args, strict: true, options: { 'key-dir': { type: 'string' }, raw: { type: 'boolean' } } }));
  const keyDir = path(io, values['key-dir'], wardenDirs(io.env).keys);
  const keys = await loadAuditKeys(keyDir);
  if (!keys.publicKey) {
    io.stderr(oneLine(`no audit signing key in ${keyDir} (fix: keys are created by the first \`warden run\`; or pass --key-dir)`));
    return 1;
  }
  io.stdout(values.raw ? rawPublicKey(keys.publicKey).toString('base64') + '\n' : publicKeyPem(keys.publicKey));
  return 0;
}

export const auditCommand: Command = async (args, io) => {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'verify':
        return await verify(rest, io);
      case 'show':
        return await show(rest, io);
      case 'pubkey':
        return await pubkey(rest, io);
      case '-h':
      case '--help':
      case 'help':
        io.stdout(USAGE);
        return 0;
      default:
        throw new UsageError(sub === undefined ? 'audit needs a subcommand: verify, show or pubkey' : `unknown audit subcommand ${JSON.stringify(sub)} (expected verify, show or pubkey)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(oneLine(`audit: ${e.message}`));
      return 1;
    }
    if (isWardenError(e)) {
      io.stderr(safeText(e.oneLine()) + '\n');
      // verify's contract: anything that stops verification is "cannot verify".
      return sub === 'verify' ? 3 : 1;
    }
    io.stderr(oneLine(`audit ${sub ?? ''}: unexpected error: ${e instanceof Error ? e.message : String(e)}`));
    return sub === 'verify' ? 3 : 1;
  }
};
