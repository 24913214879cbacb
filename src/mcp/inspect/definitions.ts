import type { Finding } from './finding.js';
import { SUSPICIOUS_PARAM_RE, TEXT_RULES, TOOL_REFERENCE_RE, WELL_KNOWN_TOOL_NAMES, type Severity } from './rules.js';
import { excerpt, scanInvisible, skeleton, stripInvisible, walkStrings, type StringSite } from './text.js';
import { scanUrls, type HostCheck } from './urls.js';

/**
 * Inspection of tool definitions (and server instructions): everything the model reads about a
 * tool before calling it. Pure and deterministic.
 *
 * Text is matched after NFKC normalisation with invisible characters removed, so
 * `ig\u200bnore previous instructions` cannot dodge a rule by splitting a word; the invisible
 * characters are themselves a finding.
 */

export interface DefinitionContext {
  /** This server's other tool names (references to them are normal). */
  siblings: ReadonlySet<string>;
  /** Tool name → names of *other* servers that expose it. */
  others: ReadonlyMap<string, readonly string[]>;
  hostAllowed: HostCheck;
}

const DISTINCTIVE = /[_\-.]|[a-z][A-Z]/;

function escapeRe(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

function textFindings(site: StringSite, out: Finding[], ctx: DefinitionContext, self: string | undefined): void {
  const inv = scanInvisible(site.text);
  if (inv) {
    out.push({
      rule: 'invisible-text',
      severity: 'high',
      title: `invisible characters (${inv.kinds.join(', ')})${inv.smuggled ? ' spelling hidden ASCII' : ''}`,
      where: site.where,
      excerpt: inv.smuggled ? `hidden: ${excerpt(inv.smuggled)}` : excerpt(site.text),
    });
  }
  const text = stripInvisible(site.text.normalize('NFKC'));
  for (const r of TEXT_RULES) {
    if (!r.targets.includes('definition')) continue;
    // matchAll works on a copy of the regex: no shared lastIndex state.
    for (const m of text.matchAll(r.re)) {
      out.push({ rule: r.id, severity: r.severity, title: r.title, where: site.where, excerpt: excerpt(text.slice(Math.max(0, m.index - 20), m.index + m[0].length + 40)) });
      break;
    }
  }
  for (const h of scanUrls(text, ctx.hostAllowed)) {
    out.push({ rule: h.rule, severity: h.severity, title: `URL to ${h.host} (not allowed by the network policy)`, where: site.where, excerpt: excerpt(h.url) });
  }
  if (site.isKey) return;
  for (const m of text.matchAll(TOOL_REFERENCE_RE)) {
    const name = m[1] as string;
    if (name === self || ctx.siblings.has(name)) continue;
    const owners = ctx.others.get(name);
    out.push({
      rule: 'tool-reference',
      severity: owners ? 'high' : 'medium',
      title: owners ? `steers the use of ${name}, a tool of another server (${owners.join(', ')})` : `steers the use of another tool (${name})`,
      where: site.where,
      excerpt: excerpt(m[0]),
    });
  }
  // Plain mentions of another server's distinctive tool names: cross-server steering.
  for (const [name, owners] of ctx.others) {
    if (name === self || name.length < 5 || !DISTINCTIVE.test(name)) continue;
    if (text.includes(name) && new RegExp(`(?<![\\w-])${escapeRe(name)}(?![\\w-])`, 'u').test(text)) {
      out.push({ rule: 'tool-reference', severity: 'high', title: `mentions ${name}, a tool of another server (${owners.join(', ')})`, where: site.where, excerpt: excerpt(name) });
    }
  }
}

function nameFindings(name: string, ctx: DefinitionContext, out: Finding[]): void {
  const owners = ctx.others.get(name);
  if (owners) out.push({ rule: 'name-collision', severity: 'high', title: `same name as a tool of ${owners.join(', ')} (shadowing)`, where: 'name', excerpt: excerpt(name) });
  const sk = skeleton(name);
  for (const [other, os] of ctx.others) {
    if (other !== name && skeleton(other) === sk) {
      out.push({ rule: 'name-confusable', severity: 'high', title: `looks like ${other}, a tool of ${os.join(', ')}`, where: 'name', excerpt: excerpt(name) });
    }
  }
  if (WELL_KNOWN_TOOL_NAMES.includes(name)) {
    out.push({ rule: 'name-shadows-builtin', severity: 'medium', title: `same name as an agent host's built-in tool`, where: 'name', excerpt: excerpt(name) });
  }
}

function schemaParamFindings(schema: unknown, where: string, out: Finding[]): void {
  if (!schema || typeof schema !== 'object') return;
  const stack: Array<{ s: unknown; w: string; d: number }> = [{ s: schema, w: where, d: 0 }];
  while (stack.length) {
    const { s, w, d } = stack.pop()!;
    if (!s || typeof s !== 'object' || d > 32) continue;
    const props = (s as Record<string, unknown>)['properties'];
    if (props && typeof props === 'object' && !Array.isArray(props)) {
      for (const [k, v] of Object.entries(props as Record<string, unknown>)) {
        if (SUSPICIOUS_PARAM_RE.test(stripInvisible(k))) {
          out.push({ rule: 'suspicious-parameter', severity: 'medium', title: `parameter "${excerpt(k, 40)}" invites the model to volunteer context`, where: `${w}.properties.${k}`, excerpt: excerpt(k) });
        }
        stack.push({ s: v, w: `${w}.properties.${k}`, d: d + 1 });
      }
    }
    for (const key of ['items', 'additionalProperties']) {
      const sub = (s as Record<string, unknown>)[key];
      if (sub && typeof sub === 'object') stack.push({ s: sub, w: `${w}.${key}`, d: d + 1 });
    }
  }
}

/** Findings for one tool definition, most severe first. */
export function inspectTool(tool: Record<string, unknown>, ctx: DefinitionContext): Finding[] {
  const out: Finding[] = [];
  const name = typeof tool['name'] === 'string' ? tool['name'] : undefined;
  if (name !== undefined) nameFindings(name, ctx, out);
  const sites: StringSite[] = [];
  let truncated = false;
  for (const field of ['name', 'title', 'description']) {
    const v = tool[field];
    if (typeof v === 'string') sites.push({ where: field, text: v, isKey: false });
  }
  const ann = tool['annotations'];
  if (ann && typeof ann === 'object') {
    const t = (ann as Record<string, unknown>)['title'];
    if (typeof t === 'string') sites.push({ where: 'annotations.title', text: t, isKey: false });
  }
  for (const field of ['inputSchema', 'outputSchema']) {
    if (tool[field] === undefined) continue;
    const w = walkStrings(tool[field], field, { keys: true });
    sites.push(...w.sites);
    truncated ||= w.truncated;
    schemaParamFindings(tool[field], field, out);
  }
  for (const s of sites) textFindings(s, out, ctx, name);
  if (truncated) out.push({ rule: 'uninspectable', severity: 'medium', title: 'definition too deep or too large to inspect fully', where: 'inputSchema', excerpt: '' });
  return dedupe(out);
}

/** Findings for free text the model reads as guidance (server `instructions`). */
export function inspectInstructions(text: string, ctx: DefinitionContext): Finding[] {
  const out: Finding[] = [];
  textFindings({ where: 'instructions', text, isKey: false }, out, ctx, undefined);
  return dedupe(out);
}

const ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

function dedupe(fs: Finding[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const f of fs) {
    const k = `${f.rule}\0${f.where}\0${f.title}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(f);
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}
