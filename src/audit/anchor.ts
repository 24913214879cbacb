/**
 * Anchors: the latest signed checkpoint of each log, kept outside the audit directory (default
 * `<key dir>/anchors/<log id>.json`).
 *
 * Threat: an attacker who can edit the audit directory can delete trailing records *and* the
 * trailing checkpoint records with them; in-log checkpoints alone cannot reveal that. The anchor
 * survives because it lives where the keys live. Invariant kept by the writer: an anchor is only
 * written after the checkpoint record it copies is durable in the log, so a crash can leave the
 * anchor behind the log but never ahead of it — "log shorter than its anchor" is always tampering.
 *
 * What remains undetectable: dropping records written after the last anchor update of a log that
 * was not closed cleanly (anchors lag by at most ~1 s plus one checkpoint interval); a cleanly
 * closed log's anchor is final and pins its exact length. The `dir` member (where the log lived) is informational and
 * unsigned; it lets verify report logs whose whole directory disappeared.
 */
import canonicalize from 'canonicalize';
import { type KeyObject, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckpointStatement, verifyStatement } from './checkpoint.js';
import { fsyncDir, writeNewDurable } from './keys.js';
import { anchorFile, LOG_ID_RE } from './layout.js';

export interface Anchor {
  stmt: CheckpointStatement;
  sig: string;
  /** Public key id that signed it. */
  key: string;
  /** Real path of the audit directory the log was written to (unsigned). */
  dir: string;
}

export function encodeAnchor(a: Anchor): string {
  return (canonicalize({ v: 1, ...a.stmt, sig: a.sig, key: a.key, dir: a.dir }) as string) + '\n';
}

export function parseAnchor(text: string): Anchor | string {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof o !== 'object' || o === null) return 'not an object';
  const r = o as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const log = str('log'), count = str('count'), root = str('root'), head = str('head'), time = str('time'), sig = str('sig');
  if (r['v'] !== 1 || !log || !count || !root || !head || !time || !sig || typeof r['final'] !== 'boolean') return 'missing members';
  if (!/^(0|[1-9]\d*)$/.test(count)) return 'bad count';
  return { stmt: { log, count, root, head, time, final: r['final'] }, sig, key: str('key') ?? '', dir: str('dir') ?? '' };
}

export function anchorSignatureValid(a: Anchor, publicKey: KeyObject): boolean {
  return verifyStatement(a.stmt, a.sig, publicKey);
}

/** Atomically replaces the anchor: temp file, fsync, rename, fsync directory. */
export async function writeAnchor(anchorDir: string, a: Anchor): Promise<void> {
  const final = anchorFile(anchorDir, a.stmt.log);
  const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
  await writeNewDurable(tmp, encodeAnchor(a));
  renameSync(tmp, final);
  await fsyncDir(anchorDir);
}

export interface AnchorSet {
  anchors: Map<string, Anchor>;
  /** Anchor files that exist but could not be read or parsed. */
  invalid: Map<string, string>;
}

/** Reads every anchor in the directory; a missing directory means "no anchors". */
export async function readAnchors(anchorDir: string): Promise<AnchorSet> {
  const out: AnchorSet = { anchors: new Map(), invalid: new Map() };
  let names: string[];
  try {
    names = readdirSync(anchorDir);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return out;
    throw e;
  }
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const logId = name.slice(0, -5);
    if (!LOG_ID_RE.test(logId)) continue;
    let text: string;
    try {
      text = readFileSync(join(anchorDir, name), 'utf8');
    } catch (e) {
      out.invalid.set(logId, `unreadable: ${(e as { code?: string }).code ?? String(e)}`);
      continue;
    }
    const a = parseAnchor(text);
    if (typeof a === 'string') out.invalid.set(logId, a);
    else if (a.stmt.log !== logId) out.invalid.set(logId, 'names another log');
    else out.anchors.set(logId, a);
  }
  return out;
}
