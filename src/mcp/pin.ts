import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * Tool pinning, pure part: fingerprints of tool definitions and their comparison with a pin.
 *
 * Threat ("rug pull"): a server shows a benign tool, gets it approved, then changes what the tool
 * says (its description — which the model obeys — or its schema, e.g. a new parameter that
 * invites exfiltration). Invariant: every field the model or the user sees is covered by the
 * fingerprint, hashed over RFC 8785 canonical JSON so key order and number spelling cannot make
 * an identical definition look different or a different one look identical. Per-field hashes let
 * the gateway say *what* changed.
 *
 * The server's self-reported name is covered too (field `server`); its version is recorded but not
 * hashed, so an upgrade that leaves every definition identical keeps working, while any definition
 * it changes is blocked like any other change. The command line (or URL) is the lockfile key.
 */

export const PINNED_FIELDS = ['server', 'name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;
export type PinnedField = (typeof PINNED_FIELDS)[number];

export interface ToolFingerprint {
  sha256: string;
  fields: Record<PinnedField, string>;
}

export interface PinnedTool {
  sha256: string;
  fields: Record<string, string>;
  pinnedAt: string;
  /** How the pin came to be: trust on first use, or an explicit `warden mcp pin --accept`. */
  via: 'first-use' | 'accept';
}

export type PinStatus = { status: 'new' } | { status: 'match' } | { status: 'changed'; fields: string[] };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Throws only for values canonicalize cannot represent (cycles, excessive depth): callers withhold. */
export function canonicalSha(v: unknown): string {
  const c = canonicalize(v ?? null);
  if (c === undefined) throw new Error('value has no canonical JSON form');
  return sha256(c);
}

export function fingerprintTool(tool: Record<string, unknown>, serverName: string): ToolFingerprint {
  const fields = {} as Record<PinnedField, string>;
  const src: Record<PinnedField, unknown> = {
    server: serverName,
    name: tool['name'],
    title: tool['title'],
    description: tool['description'],
    inputSchema: tool['inputSchema'],
    outputSchema: tool['outputSchema'],
    annotations: tool['annotations'],
  };
  for (const f of PINNED_FIELDS) fields[f] = canonicalSha(src[f] ?? null);
  return { sha256: canonicalSha(fields), fields };
}

export function comparePin(pinned: PinnedTool | undefined, fp: ToolFingerprint): PinStatus {
  if (!pinned) return { status: 'new' };
  if (pinned.sha256 === fp.sha256) return { status: 'match' };
  const changed = PINNED_FIELDS.filter((f) => pinned.fields[f] !== fp.fields[f]);
  return { status: 'changed', fields: changed.length ? changed : ['(fingerprint)'] };
}

export function pinOf(fp: ToolFingerprint, via: PinnedTool['via'], now: Date): PinnedTool {
  return { sha256: fp.sha256, fields: { ...fp.fields }, pinnedAt: now.toISOString(), via };
}

/** Lockfile key of an upstream: what the user configured, never what the server says about itself. */
export function serverKeyOf(upstream: { command: string[] } | { url: string }): string {
  return 'command' in upstream ? `stdio:${JSON.stringify(upstream.command)}` : `http:${upstream.url}`;
}
